// Package localnet drives scripts/localnet.sh and the stratusd binary as
// real processes, for end-to-end tests on loopback.
package localnet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RepoRoot is the repository root, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binaries are the built stratusd, stratus-provider and stratus-gateway.
type Binaries struct {
	Stratusd string
	Provider string
	Gateway  string
}

// Build builds stratusd, stratus-provider and stratus-gateway into dir.
func Build(dir string) (Binaries, error) {
	b := Binaries{Stratusd: filepath.Join(dir, "stratusd"), Provider: filepath.Join(dir, "stratus-provider"), Gateway: filepath.Join(dir, "stratus-gateway")}
	for bin, pkg := range map[string]string{b.Stratusd: "./cmd/stratusd", b.Provider: "./cmd/stratus-provider", b.Gateway: "./cmd/stratus-gateway"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
	}
	return b, nil
}

// Net is one localnet in its own directory with its own ports.
type Net struct {
	t           *testing.T
	Bin         string
	ProviderBin string
	GatewayBin  string
	// GatewayScheme, when set before start, runs the S3 gateway with that
	// erasure code (StartWithGateway); empty: no gateway.
	GatewayScheme string
	// GatewayTLS, when set before the gateway starts, has it serve HTTPS
	// with a certificate of the localnet's CA (GatewayCA).
	GatewayTLS bool
	Dir        string
	Offset     int
	Validators int
	Providers  int
}

// Start creates and starts a localnet of n validators and the given number
// of provider daemons in a temp directory on free ports, and stops it when
// the test ends.
func Start(t *testing.T, bins Binaries, n, providers int) *Net {
	t.Helper()
	return start(t, bins, n, providers, "")
}

// StartWithGateway is Start with the S3 gateway running as alice, storing
// objects with the erasure code scheme (e.g. "2+1").
func StartWithGateway(t *testing.T, bins Binaries, n, providers int, scheme string) *Net {
	t.Helper()
	return start(t, bins, n, providers, scheme)
}

func start(t *testing.T, bins Binaries, n, providers int, scheme string) *Net {
	t.Helper()
	ln := &Net{t: t, Bin: bins.Stratusd, ProviderBin: bins.Provider, GatewayBin: bins.Gateway, GatewayScheme: scheme,
		Dir: t.TempDir(), Offset: freeOffset(t, n), Validators: n, Providers: providers}
	t.Cleanup(func() {
		if out, err := ln.script("stop"); err != nil {
			t.Logf("stopping localnet: %v\n%s", err, out)
		}
	})
	out, err := ln.script("start")
	require.NoError(t, err, "localnet start:\n%s\n%s", out, ln.Logs())
	require.Contains(t, out, "is producing blocks")
	return ln
}

func (ln *Net) script(action string) (string, error) {
	cmd := exec.Command("bash", filepath.Join(RepoRoot(), "scripts", "localnet.sh"), action)
	cmd.Env = append(os.Environ(),
		"STRATUSD="+ln.Bin,
		"STRATUS_PROVIDER="+ln.ProviderBin,
		"PROVIDERS="+strconv.Itoa(ln.Providers),
		"LOCALNET_DIR="+ln.Dir,
		"VALIDATORS="+strconv.Itoa(ln.Validators),
		"PORT_OFFSET="+strconv.Itoa(ln.Offset),
		"STRATUS_GATEWAY="+ln.GatewayBin,
		"GATEWAY="+map[bool]string{true: "1", false: "0"}[ln.GatewayScheme != ""],
		"GATEWAY_SCHEME="+ln.GatewayScheme,
		"GATEWAY_TLS="+map[bool]string{true: "1", false: "0"}[ln.GatewayTLS],
	)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// GatewayURL is the S3 gateway's endpoint.
func (ln *Net) GatewayURL() string {
	scheme := "http"
	if ln.GatewayTLS {
		scheme = "https"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, 9000+ln.Offset)
}

// GatewayCA is the CA certificate (PEM) the gateway's HTTPS certificate
// is signed by, when GatewayTLS is set.
func (ln *Net) GatewayCA() string { return filepath.Join(ln.Dir, "tls", "ca.pem") }

// GatewaySecret is the S3 gateway's secret key (its access key is
// "stratus").
func (ln *Net) GatewaySecret() string {
	bz, err := os.ReadFile(filepath.Join(ln.Dir, "gateway", "secret"))
	require.NoError(ln.t, err)
	return strings.TrimSpace(string(bz))
}

// StopGateway stops the S3 gateway (it backs its index up as it stops).
func (ln *Net) StopGateway() {
	out, err := ln.script("gateway-stop")
	require.NoError(ln.t, err, out)
}

// StartGateway starts the S3 gateway again, on what is left of its
// directory (ln.Dir/gateway).
func (ln *Net) StartGateway() {
	out, err := ln.script("gateway-start")
	require.NoError(ln.t, err, out)
}

// Stop stops the nodes, keeping their data.
func (ln *Net) Stop() {
	out, err := ln.script("stop")
	require.NoError(ln.t, err, out)
}

// Restart starts the stopped nodes on their existing data.
func (ln *Net) Restart() string {
	out, err := ln.script("start")
	require.NoError(ln.t, err, "localnet restart:\n%s\n%s", out, ln.Logs())
	return out
}

// ClientHome is the client home with the test keyring.
func (ln *Net) ClientHome() string { return filepath.Join(ln.Dir, "client") }

// NodeHome is node i's home.
func (ln *Net) NodeHome(i int) string { return filepath.Join(ln.Dir, fmt.Sprintf("node%d", i)) }

// RPCPort is node i's CometBFT RPC port.
func (ln *Net) RPCPort(i int) int { return 26657 + ln.Offset + 100*i }

// ProviderPort is provider i's (1-based) HTTP API port.
func (ln *Net) ProviderPort(i int) int { return 8480 + ln.Offset + i }

// ProviderURL is provider i's (1-based) API endpoint: HTTPS with a
// certificate of the localnet's CA (ProviderCA).
func (ln *Net) ProviderURL(i int) string {
	return fmt.Sprintf("https://127.0.0.1:%d", ln.ProviderPort(i))
}

// ProviderCA is the localnet's CA certificate (PEM), which signed every
// provider's certificate.
func (ln *Net) ProviderCA() string { return filepath.Join(ln.Dir, "tls", "ca.pem") }

// ProviderHome is provider i's (1-based) daemon home.
func (ln *Net) ProviderHome(i int) string { return filepath.Join(ln.Dir, fmt.Sprintf("provider%d", i)) }

// Logs returns the tail of every node and provider log, for failure messages.
func (ln *Net) Logs() string {
	var b strings.Builder
	names := []string{}
	for i := range ln.Validators {
		names = append(names, fmt.Sprintf("node%d", i))
	}
	for i := 1; i <= ln.Providers; i++ {
		names = append(names, fmt.Sprintf("provider%d", i))
	}
	for _, name := range names {
		bz, _ := os.ReadFile(filepath.Join(ln.Dir, name+".log"))
		lines := strings.Split(string(bz), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s.log\n%s\n", name, strings.Join(lines, "\n"))
	}
	return b.String()
}

// Run runs stratusd with the client home and returns stdout, stderr and the error.
func (ln *Net) Run(args ...string) (string, string, error) {
	return Exec(ln.Bin, append([]string{"--home", ln.ClientHome()}, args...)...)
}

// MustRun is Run that fails the test on error and returns stdout.
func (ln *Net) MustRun(args ...string) string {
	ln.t.Helper()
	out, errOut, err := ln.Run(args...)
	require.NoError(ln.t, err, "stratusd %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

// Address returns the address of a key in the client keyring.
func (ln *Net) Address(key string) string {
	return strings.TrimSpace(ln.MustRun("keys", "show", key, "-a"))
}

// Tx broadcasts a tx, waits for it to be committed and returns the committed
// result as JSON fields (code, raw_log, ...). A CheckTx rejection is returned
// as is, without waiting.
func (ln *Net) Tx(args ...string) map[string]any {
	ln.t.Helper()
	out := ln.MustRun(append(append([]string{"tx"}, args...), "-y", "-o", "json")...)
	var res map[string]any
	require.NoError(ln.t, json.Unmarshal([]byte(out), &res), out)
	if code, _ := res["code"].(float64); code != 0 {
		return res
	}
	hash, _ := res["txhash"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, _, err := ln.Run("q", "tx", hash, "-o", "json")
		if err == nil {
			var committed map[string]any
			require.NoError(ln.t, json.Unmarshal([]byte(out), &committed), out)
			return committed
		}
		time.Sleep(500 * time.Millisecond)
	}
	ln.t.Fatalf("tx %s not committed within 30 s\n%s", hash, ln.Logs())
	return nil
}

// Height returns node i's latest block height.
func (ln *Net) Height(i int) int64 {
	out, _, err := Exec(ln.Bin, "status", "--node", fmt.Sprintf("tcp://127.0.0.1:%d", ln.RPCPort(i)))
	if err != nil {
		return 0
	}
	var st struct {
		SyncInfo struct {
			LatestBlockHeight string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if json.Unmarshal([]byte(out), &st) != nil {
		return 0
	}
	h, _ := strconv.ParseInt(st.SyncInfo.LatestBlockHeight, 10, 64)
	return h
}

// WaitHeight waits until node i reaches height h.
func (ln *Net) WaitHeight(i int, h int64, timeout time.Duration) {
	ln.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ln.Height(i) >= h {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	ln.t.Fatalf("node%d did not reach height %d within %s (at %d)\n%s", i, h, timeout, ln.Height(i), ln.Logs())
}

// Exec runs bin with args and returns stdout, stderr and the error.
func Exec(bin string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// freeOffset picks a port offset at which every port of n nodes is free.
func freeOffset(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		offset := 1000 * (1 + rand.IntN(30))
		if portsFree(offset, n) {
			return offset
		}
	}
	t.Fatal("no free port range for the localnet")
	return 0
}

func portsFree(offset, n int) bool {
	for i := range n {
		for _, base := range []int{26656, 26657, 9090, 1317, 26660, 8481, 8482, 8483, 8484, 8485} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+offset+100*i))
			if err != nil {
				return false
			}
			l.Close()
		}
	}
	return true
}
