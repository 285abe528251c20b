// Package config is the provider daemon's configuration file
// (<home>/config.toml), written commented by `stratus-provider init`.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// FileName is the config file inside the daemon's home.
const FileName = "config.toml"

// Config is everything the daemon needs to run.
type Config struct {
	Moniker        string `toml:"moniker"`
	Key            string `toml:"key"`
	KeyringBackend string `toml:"keyring-backend"`
	KeyringDir     string `toml:"keyring-dir"`

	Chain struct {
		Node          string  `toml:"node"`
		ChainID       string  `toml:"chain-id"`
		GasPrices     string  `toml:"gas-prices"`
		GasAdjustment float64 `toml:"gas-adjustment"`
	} `toml:"chain"`

	API struct {
		Listen               string `toml:"listen"`
		Endpoint             string `toml:"endpoint"`
		MaxConcurrentUploads int    `toml:"max-concurrent-uploads"`
		// MinUploadRate is the slowest average upload rate, in bytes per
		// second, accepted once UploadGrace has passed.
		MinUploadRate int64  `toml:"min-upload-rate"`
		UploadGrace   string `toml:"upload-grace"`
		// RepairFetchesPerHour bounds the private deals one provider with a
		// committed replica may fetch again from this one in an hour.
		RepairFetchesPerHour int `toml:"repair-fetches-per-hour"`
		// PartialTTL and PartialMaxBytes bound the bytes of stopped uploads
		// kept for a resume.
		PartialTTL      string `toml:"partial-ttl"`
		PartialMaxBytes uint64 `toml:"partial-max-bytes"`
		// TLSCertFile and TLSKeyFile (PEM) make the API serve HTTPS.
		TLSCertFile string `toml:"tls-cert-file"`
		TLSKeyFile  string `toml:"tls-key-file"`
		// CAFile (PEM) is trusted for peers' certificates besides the
		// system's roots.
		CAFile string `toml:"ca-file"`
	} `toml:"api"`

	Store struct {
		Dir string `toml:"dir"`
	} `toml:"store"`

	Loop struct {
		Poll       string `toml:"poll"`
		ClaimEvery int64  `toml:"claim-every"`
		MaxFetches int    `toml:"max-fetches"`
	} `toml:"loop"`

	Executor struct {
		Enabled       bool   `toml:"enabled"`
		Dir           string `toml:"dir"`
		CacheDir      string `toml:"cache-dir"`
		MaxConcurrent int    `toml:"max-concurrent"`
		KeepOutputs   string `toml:"keep-outputs"`
		Isolation     string `toml:"isolation"`
		// InputCacheBytes bounds the cached copies of input and program
		// deals this provider does not store itself (0: no bound).
		InputCacheBytes uint64 `toml:"input-cache-bytes"`
	} `toml:"executor"`

	Log struct {
		Level  string `toml:"level"`
		Format string `toml:"format"`
	} `toml:"log"`
}

// Default is the configuration `init` writes, before its flags apply.
func Default(home string) Config {
	var c Config
	c.Moniker = "provider"
	c.Key = "provider"
	c.KeyringBackend = "os"
	c.KeyringDir = home
	c.Chain.Node = "tcp://127.0.0.1:26657"
	c.Chain.ChainID = "stratus-local"
	c.Chain.GasPrices = "0ustrat"
	c.Chain.GasAdjustment = 1.5
	c.API.Listen = "127.0.0.1:8480"
	c.API.Endpoint = "http://127.0.0.1:8480"
	c.API.MaxConcurrentUploads = 8
	c.API.MinUploadRate = 256 << 10
	c.API.UploadGrace = "30s"
	c.API.RepairFetchesPerHour = 6
	c.API.PartialTTL = "6h"
	c.API.PartialMaxBytes = 16 << 30
	c.Store.Dir = "data"
	c.Loop.Poll = "500ms"
	c.Loop.ClaimEvery = 100
	c.Loop.MaxFetches = 4
	c.Executor.Enabled = true
	c.Executor.Dir = "jobs"
	c.Executor.CacheDir = "wasm-cache"
	c.Executor.MaxConcurrent = 2
	c.Executor.KeepOutputs = "168h"
	c.Executor.Isolation = "process"
	c.Executor.InputCacheBytes = 32 << 30
	c.Log.Level = "info"
	c.Log.Format = "text"
	return c
}

// Validate reports the first setting that cannot work, naming it.
func (c Config) Validate() error {
	var errs []string
	if c.Key == "" {
		errs = append(errs, "key: the name of the signing key is empty")
	}
	switch c.KeyringBackend {
	case "os", "file", "test", "pass", "kwallet", "memory":
	default:
		errs = append(errs, fmt.Sprintf("keyring-backend %q: want os, file, test, pass or kwallet", c.KeyringBackend))
	}
	if c.Chain.ChainID == "" {
		errs = append(errs, "chain.chain-id is empty")
	}
	if u, err := url.Parse(c.Chain.Node); err != nil || u.Host == "" {
		errs = append(errs, fmt.Sprintf("chain.node %q: want a URL such as tcp://127.0.0.1:26657", c.Chain.Node))
	}
	if c.Chain.GasAdjustment < 1 {
		errs = append(errs, "chain.gas-adjustment must be at least 1")
	}
	if c.API.Listen == "" {
		errs = append(errs, "api.listen is empty")
	}
	if u, err := url.Parse(c.API.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Sprintf("api.endpoint %q: want the public https URL of this daemon", c.API.Endpoint))
	}
	if c.API.MaxConcurrentUploads < 1 {
		errs = append(errs, "api.max-concurrent-uploads must be at least 1")
	}
	if (c.API.TLSCertFile == "") != (c.API.TLSKeyFile == "") {
		errs = append(errs, "api.tls-cert-file and api.tls-key-file go together: give both to serve HTTPS, or neither")
	}
	if d, err := time.ParseDuration(c.API.PartialTTL); err != nil || d <= 0 {
		errs = append(errs, fmt.Sprintf("api.partial-ttl %q: want a duration such as 6h", c.API.PartialTTL))
	}
	if c.API.RepairFetchesPerHour < 1 {
		errs = append(errs, "api.repair-fetches-per-hour must be at least 1")
	}
	if c.API.MinUploadRate < 1 {
		errs = append(errs, "api.min-upload-rate must be at least 1 byte a second")
	}
	if d, err := time.ParseDuration(c.API.UploadGrace); err != nil || d <= 0 {
		errs = append(errs, fmt.Sprintf("api.upload-grace %q: want a duration such as 30s", c.API.UploadGrace))
	}
	if c.Store.Dir == "" {
		errs = append(errs, "store.dir is empty")
	}
	if d, err := time.ParseDuration(c.Loop.Poll); err != nil || d <= 0 {
		errs = append(errs, fmt.Sprintf("loop.poll %q: want a duration such as 500ms", c.Loop.Poll))
	}
	if c.Loop.MaxFetches < 1 {
		errs = append(errs, "loop.max-fetches must be at least 1")
	}
	if c.Executor.Enabled && (c.Executor.Dir == "" || c.Executor.MaxConcurrent < 1) {
		errs = append(errs, "executor: dir must be set and max-concurrent at least 1")
	}
	if c.Executor.Isolation != "process" && c.Executor.Isolation != "in-process" {
		errs = append(errs, fmt.Sprintf("executor.isolation %q: want process or in-process", c.Executor.Isolation))
	}
	if d, err := time.ParseDuration(c.Executor.KeepOutputs); err != nil || d < 0 {
		errs = append(errs, fmt.Sprintf("executor.keep-outputs %q: want a duration such as 168h (0 keeps them forever)", c.Executor.KeepOutputs))
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Sprintf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("log.format %q: want text or json", c.Log.Format))
	}
	if len(errs) > 0 {
		return errors.New("invalid provider config:\n  " + strings.Join(errs, "\n  "))
	}
	return nil
}

// TLSFiles are the API's certificate and key, resolved against home ("" when not serving HTTPS).
func (c Config) TLSFiles(home string) (cert, key string) {
	if c.API.TLSCertFile == "" {
		return "", ""
	}
	return resolve(home, c.API.TLSCertFile), resolve(home, c.API.TLSKeyFile)
}

// PeerCAFile is API.CAFile resolved against home ("" when not set).
func (c Config) PeerCAFile(home string) string {
	if c.API.CAFile == "" {
		return ""
	}
	return resolve(home, c.API.CAFile)
}

// PartialTTLDuration is API.PartialTTL parsed.
func (c Config) PartialTTLDuration() time.Duration {
	d, _ := time.ParseDuration(c.API.PartialTTL)
	return d
}

// UploadGraceDuration is API.UploadGrace parsed.
func (c Config) UploadGraceDuration() time.Duration {
	d, _ := time.ParseDuration(c.API.UploadGrace)
	return d
}

// PollInterval is Loop.Poll parsed.
func (c Config) PollInterval() time.Duration {
	d, _ := time.ParseDuration(c.Loop.Poll)
	return d
}

// StoreDir resolves Store.Dir against home.
func (c Config) StoreDir(home string) string {
	if filepath.IsAbs(c.Store.Dir) {
		return c.Store.Dir
	}
	return filepath.Join(home, c.Store.Dir)
}

// KeepOutputs is Executor.KeepOutputs parsed.
func (c Config) KeepOutputs() time.Duration {
	d, _ := time.ParseDuration(c.Executor.KeepOutputs)
	return d
}

// JobsDir resolves Executor.Dir against home.
func (c Config) JobsDir(home string) string { return resolve(home, c.Executor.Dir) }

// WasmCacheDir resolves Executor.CacheDir against home ("" keeps no compiled code on disk).
func (c Config) WasmCacheDir(home string) string {
	if c.Executor.CacheDir == "" {
		return ""
	}
	return resolve(home, c.Executor.CacheDir)
}

func resolve(home, dir string) string {
	if filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(home, dir)
}

// Load reads and validates home's config file.
func Load(home string) (Config, error) {
	path := filepath.Join(home, FileName)
	bz, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading %s (run 'stratus-provider init' first): %w", path, err)
	}
	c := Default(home)
	dec := toml.NewDecoder(bytes.NewReader(bz)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			return Config{}, fmt.Errorf("parsing %s: unknown settings:\n%s", path, strict.String())
		}
		return Config{}, fmt.Errorf("parsing %s: %w", path, err)
	}
	return c, c.Validate()
}

var tmpl = template.Must(template.New("config").Parse(`# Stratus provider daemon configuration.

# A human-readable name, registered on chain with this provider.
moniker = {{ printf "%q" .Moniker }}
# The key that signs this provider's transactions, and where it is kept.
# Create it with: stratusd keys add <name> --keyring-dir <keyring-dir> --keyring-backend <backend>
key = {{ printf "%q" .Key }}
keyring-backend = {{ printf "%q" .KeyringBackend }}
keyring-dir = {{ printf "%q" .KeyringDir }}

[chain]
# CometBFT RPC of a node of the network (your own full node is best).
node = {{ printf "%q" .Chain.Node }}
chain-id = {{ printf "%q" .Chain.ChainID }}
# Gas price offered for this daemon's transactions.
gas-prices = {{ printf "%q" .Chain.GasPrices }}
# Simulated gas is multiplied by this.
gas-adjustment = {{ .Chain.GasAdjustment }}

[api]
# Address the HTTP API listens on.
listen = {{ printf "%q" .API.Listen }}
# The URL clients and other providers use to reach this API; registered on chain.
# Use https in production; plain http is accepted only for loopback hosts.
endpoint = {{ printf "%q" .API.Endpoint }}
# Uploads accepted at once; more get 503 and retry.
max-concurrent-uploads = {{ .API.MaxConcurrentUploads }}
# An upload that averages fewer bytes a second than this, once upload-grace
# has passed, is cut off so that it cannot hold an upload slot (262144 = 256 KiB/s).
min-upload-rate = {{ .API.MinUploadRate }}
upload-grace = {{ printf "%q" .API.UploadGrace }}
# How many private deals one provider holding a committed replica may fetch
# again from this daemon in an hour, to repair a damaged copy. A provider
# that deleted its replicas and fetched sampled deals from peers instead
# would need far more; keep it low.
repair-fetches-per-hour = {{ .API.RepairFetchesPerHour }}
# An upload that stops early keeps the bytes received, so its owner can
# resume it, for at most partial-ttl and within partial-max-bytes for all
# such uploads together (the oldest go first).
partial-ttl = {{ printf "%q" .API.PartialTTL }}
partial-max-bytes = {{ .API.PartialMaxBytes }}
# PEM certificate and key to serve the API over HTTPS (both, or neither when
# a TLS-terminating proxy fronts the daemon). Relative paths are under the home.
tls-cert-file = {{ printf "%q" .API.TLSCertFile }}
tls-key-file = {{ printf "%q" .API.TLSKeyFile }}
# A CA certificate (PEM) trusted for other providers' certificates besides
# the system's roots (a private network's CA). Empty: system roots only.
ca-file = {{ printf "%q" .API.CAFile }}

[store]
# Where deal data lives (relative to the daemon's home unless absolute).
dir = {{ printf "%q" .Store.Dir }}

[loop]
# How often the node is asked for a new block.
poll = {{ printf "%q" .Loop.Poll }}
# Claim earnings every this many blocks (0: never; claim by hand).
claim-every = {{ .Loop.ClaimEvery }}
# Concurrent downloads from other providers for replication and repair.
max-fetches = {{ .Loop.MaxFetches }}

[executor]
# Run the compute jobs the chain assigns to this provider (WebAssembly,
# sandboxed: no network, read-only inputs, fixed clock and seed, limits from the job).
enabled = {{ .Executor.Enabled }}
# Job results, output archives and verified copies of inputs (relative to home unless absolute).
dir = {{ printf "%q" .Executor.Dir }}
# Compiled programs, kept across restarts ("" keeps them in memory only).
cache-dir = {{ printf "%q" .Executor.CacheDir }}
# Jobs run at once; register at most this many compute slots.
max-concurrent = {{ .Executor.MaxConcurrent }}
# How long a finished job's output is kept to serve downloads ("0s": forever).
keep-outputs = {{ printf "%q" .Executor.KeepOutputs }}
# "process" runs each job in a child process killed at its time limit (fast);
# "in-process" runs it inside the daemon with wazero's interruption checks (slower).
isolation = {{ printf "%q" .Executor.Isolation }}
# Bytes of cached input and program deals fetched from other providers (0: no
# bound). The least recently used copies no running job reads are deleted to
# make room; keep it above the chain's max_input_bytes (4 GiB by default) plus
# max_program_bytes, or jobs that big overrun it while they run.
input-cache-bytes = {{ .Executor.InputCacheBytes }}

[log]
# debug, info, warn or error.
level = {{ printf "%q" .Log.Level }}
# text or json.
format = {{ printf "%q" .Log.Format }}
`))

// Write writes c, commented, to home's config file (mode 0600).
func (c Config) Write(home string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, c); err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(home, FileName), buf.Bytes(), 0o600)
}
