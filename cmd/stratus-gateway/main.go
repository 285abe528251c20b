// Command stratus-gateway serves the S3 API on a local port and stores
// every object as a Stratus deal, as the account whose key it holds
// (ADR 012, docs/s3.md).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/versity/versitygw/embedgw"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkversion "github.com/cosmos/cosmos-sdk/version"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/chainctx"
	"github.com/stratusnet/stratus/client"
	"github.com/stratusnet/stratus/gateway"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// sdkStorage stores objects through the client SDK, one deal each, on
// the gateway's terms unless the bucket's tags set others.
type sdkStorage struct {
	c    *client.Client
	opts client.PutOptions
}

// options are the gateway's put options with t's terms over them.
func (s sdkStorage) options(t gateway.PutTerms) (client.PutOptions, error) {
	o := s.opts
	o.Label = t.Label
	switch {
	case t.Replicas != 0:
		o.Replicas, o.DataShards, o.ParityShards = t.Replicas, 0, 0
	case t.DataShards != 0:
		o.Replicas, o.DataShards, o.ParityShards = 0, t.DataShards, t.ParityShards
	}
	if t.Duration != 0 {
		o.Duration = t.Duration
	}
	if t.MaxPrice != "" {
		p, err := sdk.ParseDecCoin(t.MaxPrice)
		if err != nil {
			return o, err
		}
		o.MaxPrice = p
	}
	return o, nil
}

func (s sdkStorage) Put(ctx context.Context, r io.Reader, size int64, t gateway.PutTerms) (uint64, error) {
	o, err := s.options(t)
	if err != nil {
		return 0, err
	}
	res, err := s.c.PutReader(ctx, r, size, "object", o)
	return res.DealID, err
}

func (s sdkStorage) Staging(size int64, t gateway.PutTerms) int64 {
	o, _ := s.options(t) // a bad price fails the Put; the code is what counts here
	return client.StagingBytes(size, o)
}

func (s sdkStorage) Get(ctx context.Context, id uint64, path string, partial func(string, int64)) error {
	return s.c.GetWith(ctx, id, path, client.GetOptions{Partial: partial})
}

func (s sdkStorage) Delete(ctx context.Context, id uint64) error { return s.c.Cancel(ctx, id) }

func (s sdkStorage) Deals(ctx context.Context) ([]gateway.Deal, error) {
	deals, err := s.c.Deals(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]gateway.Deal, len(deals))
	for i, d := range deals {
		out[i] = gateway.Deal{ID: d.Id, Live: d.Live(), Label: d.Label}
	}
	return out, nil
}

func rootCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stratus-gateway",
		Short: "Serve the S3 API on a local port, storing every object as a Stratus deal",
		Long: `Serves the S3 REST API (SigV4 in headers and presigned URLs) on --listen and
stores every object as a private Stratus deal paid by --from's account:
encrypted with the storage key in --home, erasure-coded --scheme (or kept
as --replicas copies) for --duration blocks. Buckets and keys live in an
index under --dir. S3 clients sign with --access-key and the secret in the
STRATUS_GATEWAY_SECRET environment variable (or --secret-key).

A PUT returns once the object's deal is committed; a GET fetches and
verifies the deal once and serves ranges from the verified copy.

Bucket tags stratus:scheme, stratus:replicas, stratus:duration and
stratus:max-price set the terms of the objects stored in that bucket.

Every object deal carries a label, sealed with a key derived from the
storage key, naming its bucket and key; the index itself is stored as a
deal every --backup-interval while it changes. A gateway started with an
empty --dir rebuilds the index from the newest backup and the labels.`,
		Example: `STRATUS_GATEWAY_SECRET=... stratus-gateway --home ~/.stratus --from alice --listen 127.0.0.1:9000
aws --endpoint-url http://127.0.0.1:9000 s3 mb s3://photos`,
		Version:      sdkversion.Version,
		SilenceUsage: true,
		RunE:         run,
	}
	f := cmd.Flags()
	home, _ := os.UserHomeDir()
	f.String("home", filepath.Join(home, ".stratus"), "client home: keyring, storage key, provider CA")
	f.String("from", "", "the key that signs and pays for the deals (required)")
	f.String("keyring-backend", "test", "keyring backend (os|file|test)")
	f.String("node", "tcp://127.0.0.1:26657", "CometBFT RPC of a node")
	f.String("chain-id", "stratus-local", "chain id")
	f.String("gas-prices", "0"+app.BondDenom, "gas prices")
	f.String("listen", "127.0.0.1:9000", "address the S3 API listens on")
	f.String("tls-cert", "", "serve HTTPS with this certificate (PEM; with --tls-key); needed to listen beyond this machine, since S3 requests carry their bodies and the secret's signatures in the clear otherwise")
	f.String("tls-key", "", "the private key (PEM) of --tls-cert")
	f.String("access-key", "stratus", "S3 access key id clients sign with")
	f.String("secret-key", "", "S3 secret key (default: $STRATUS_GATEWAY_SECRET)")
	f.String("dir", "", "index and work files (default: HOME/gateway)")
	f.String("scheme", "6+3", "erasure code K+M of new objects' deals")
	f.Uint32("replicas", 0, "keep this many full copies instead of erasure-coding")
	f.Bool("direct", true, "upload an erasure-coded object's parity shards from the gateway too (M/K more upload), instead of leaving them to the deal's encoder, which fetches the data shards once they are committed and serves each parity provider its shard; the PUT returns once every slot is committed, a block or more sooner this way (ADR 015)")
	f.Uint64("duration", 100_000, "blocks each object is kept")
	f.String("max-price", "1000"+app.BondDenom, "most paid per slot per GiB per block")
	f.String("spool-bytes", "32GiB", "most disk taken by uploads being received, multipart parts and the SDK's staging of deals being made (about 1 + N/K times an object; 0: no bound); past it requests get 503 SlowDown, and an object that could never fit gets 400 EntityTooLarge")
	f.String("cache-bytes", "8GiB", "most disk taken by the cache of fetched objects, least recently read trimmed first (0: no bound)")
	f.Bool("cache-writes", true, "keep the body of each object stored by a single PUT in the cache of fetched objects, so reading it back soon needs no fetch (multipart objects are fetched on their first read)")
	f.String("memory-limit", "96MiB", "soft limit of the Go heap (0: Go's default; GOMEMLIMIT, when set, wins); the gateway streams objects through small buffers, and without it garbage and freed pages kept by the runtime made its memory grow with the traffic")
	f.Duration("backup-interval", 5*time.Minute, "back the index up as a deal at most this often while it changes (0: never)")
	f.String("provider-ca", "", "CA certificate trusted for providers' HTTPS (default: HOME/provider-ca.pem when present)")
	return cmd
}

func run(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	str := func(name string) string { v, _ := f.GetString(name); return v }
	home, from := str("home"), str("from")
	if from == "" {
		return errors.New("--from: name the key whose account pays for the objects")
	}
	secret := str("secret-key")
	if secret == "" {
		secret = os.Getenv("STRATUS_GATEWAY_SECRET")
	}
	if len(secret) < 8 {
		return errors.New("set the S3 secret key (at least 8 characters) in STRATUS_GATEWAY_SECRET or --secret-key")
	}
	opts := client.PutOptions{Timeout: 10 * time.Minute}
	opts.Direct, _ = f.GetBool("direct")
	var err error
	if opts.MaxPrice, err = sdk.ParseDecCoin(str("max-price")); err != nil {
		return fmt.Errorf("--max-price: %w", err)
	}
	opts.Duration, _ = f.GetUint64("duration")
	if opts.Replicas, _ = f.GetUint32("replicas"); opts.Replicas == 0 {
		if opts.DataShards, opts.ParityShards, err = client.ParseScheme(str("scheme")); err != nil {
			return fmt.Errorf("--%w (or use --replicas)", err)
		}
	}

	cctx, txf, err := chainctx.New(chainctx.Options{
		Home: home, KeyringBackend: str("keyring-backend"), KeyringDir: home, Key: from,
		Node: str("node"), ChainID: str("chain-id"), GasPrices: str("gas-prices"), GasAdjustment: 1.5,
	})
	if err != nil {
		return err
	}
	sdkc := client.New(cctx, txf)
	ca := str("provider-ca")
	if def := filepath.Join(home, "provider-ca.pem"); ca == "" {
		if _, err := os.Stat(def); err == nil {
			ca = def
		}
	}
	if ca != "" {
		if err := sdkc.TrustCA(ca); err != nil {
			return fmt.Errorf("--provider-ca: %w", err)
		}
	}
	dir := str("dir")
	if dir == "" {
		dir = filepath.Join(home, "gateway")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	index, err := gateway.OpenIndex(filepath.Join(dir, "index.db"))
	if err != nil {
		return err
	}
	defer index.Close()
	id, _, err := client.LoadOrCreateIdentity(home)
	if err != nil {
		return err
	}
	labelKey, err := gateway.LabelKey([]byte(id.String()))
	if err != nil {
		return err
	}
	params, err := storagetypes.NewQueryClient(cctx).Params(cmd.Context(), &storagetypes.QueryParamsRequest{})
	if err != nil {
		return fmt.Errorf("reading the storage params from %s: %w", str("node"), err)
	}
	scheme, err := checkTLS(str("tls-cert"), str("tls-key"))
	if err != nil {
		return err
	}
	limit, err := client.ParseBytes(str("memory-limit"))
	if err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	if limit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(min(limit, math.MaxInt64)))
	}
	spool, err := client.ParseBytes(str("spool-bytes"))
	if err != nil {
		return fmt.Errorf("--spool-bytes: %w", err)
	}
	cache, err := client.ParseBytes(str("cache-bytes"))
	if err != nil {
		return fmt.Errorf("--cache-bytes: %w", err)
	}
	cacheWrites, _ := f.GetBool("cache-writes")
	logf := func(format string, args ...any) {
		cmd.PrintErrf(time.Now().Format("2006-01-02 15:04:05.000")+" "+format+"\n", args...)
	}
	be, err := gateway.New(index, sdkStorage{c: sdkc, opts: opts}, gateway.Options{
		Dir: dir, LabelKey: labelKey, MaxLabel: int(params.Params.MaxLabelBytes),
		SpoolBytes: int64(spool), CacheBytes: int64(cache), CacheWrites: cacheWrites, Logf: logf,
	})
	if err != nil {
		return err
	}
	if index.Empty() {
		rep, err := be.Rebuild(cmd.Context())
		if err != nil {
			return fmt.Errorf("rebuilding the index from the chain: %w", err)
		}
		if rep.Backup != 0 || rep.FromLabels != 0 {
			cmd.PrintErrf("rebuilt the index: %d objects from the backup in deal %d (%d since deleted), %d from newer deals' labels, %d buckets added, %d old backups cancelled\n",
				rep.FromBackup, rep.Backup, rep.Dropped, rep.FromLabels, rep.BucketsAdded, rep.OldBackups)
		}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	every, _ := f.GetDuration("backup-interval")
	if every > 0 {
		go be.BackupEvery(ctx, every, logf)
	}
	cmd.PrintErrf("S3 gateway on %s://%s for %s; access key %s; index %s\n", scheme, str("listen"), cctx.FromAddress, str("access-key"), dir)
	err = embedgw.RunVersityGW(ctx, be, &embedgw.Config{
		RootUserAccess: str("access-key"), RootUserSecret: secret, Ports: []string{str("listen")},
		MaxConnections: 250, MaxRequests: 100, MultipartMaxParts: 10000, Quiet: true,
		CertFile: str("tls-cert"), KeyFile: str("tls-key"),
	})
	if every > 0 {
		// A last backup, so a restart elsewhere finds every change.
		bctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if id, berr := be.Backup(bctx); berr != nil {
			logf("the last index backup failed: %v", berr)
		} else if id != 0 {
			logf("index backed up to deal %d", id)
		}
	}
	return err
}

// checkTLS says which scheme the gateway serves: "https" when both a
// certificate and its key are given and load as a pair, "http" when
// neither is; anything else is an error that names the flag to fix.
func checkTLS(cert, key string) (string, error) {
	switch {
	case cert == "" && key == "":
		return "http", nil
	case cert == "" || key == "":
		return "", errors.New("--tls-cert and --tls-key go together: give both to serve HTTPS, or neither")
	}
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		return "", fmt.Errorf("--tls-cert %s and --tls-key %s: %w", cert, key, err)
	}
	return "https", nil
}
