package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/chainctx"
	"github.com/stratusnet/stratus/client"
	"github.com/stratusnet/stratus/provider/chain"
	"github.com/stratusnet/stratus/provider/config"
	"github.com/stratusnet/stratus/provider/executor"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
)

const flagHome = "home"

func defaultHome() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ".stratus-provider"
	}
	return filepath.Join(h, ".stratus-provider")
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "stratus-provider",
		Short:         "Stratus provider daemon: store, serve and prove deal data, and get paid for it",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(os.Stdout)
	root.PersistentFlags().String(flagHome, defaultHome(), "daemon home: config.toml and the data store")
	root.AddCommand(initCmd(), registerCmd(), startCmd(), statusCmd(), versionCmd(), execJobCmd())
	return root
}

func home(cmd *cobra.Command) string {
	h, _ := cmd.Flags().GetString(flagHome)
	return h
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			cmd.Println(version())
		},
	}
}

func initCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented config.toml into the daemon's home",
		Example: `stratus-provider init --moniker acme --key acme --keyring-backend file \
  --node tcp://127.0.0.1:26657 --chain-id stratus-1 --listen 0.0.0.0:8480 --endpoint https://sp.acme.example`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := home(cmd)
			path := filepath.Join(h, config.FileName)
			if _, err := os.Stat(path); err == nil {
				if force, _ := cmd.Flags().GetBool("overwrite"); !force {
					return fmt.Errorf("%s exists; pass --overwrite to replace it", path)
				}
			}
			c := config.Default(h)
			f := cmd.Flags()
			set := func(name string, dst *string) {
				if f.Changed(name) {
					*dst, _ = f.GetString(name)
				}
			}
			set("moniker", &c.Moniker)
			set("key", &c.Key)
			set("keyring-backend", &c.KeyringBackend)
			set("keyring-dir", &c.KeyringDir)
			set("node", &c.Chain.Node)
			set("chain-id", &c.Chain.ChainID)
			set("listen", &c.API.Listen)
			set("endpoint", &c.API.Endpoint)
			set("gas-prices", &c.Chain.GasPrices)
			if f.Changed("claim-every") {
				c.Loop.ClaimEvery, _ = f.GetInt64("claim-every")
			}
			if f.Changed("poll") {
				c.Loop.Poll, _ = f.GetString("poll")
			}
			set("upload-grace", &c.API.UploadGrace)
			set("tls-cert", &c.API.TLSCertFile)
			set("tls-key", &c.API.TLSKeyFile)
			set("ca-file", &c.API.CAFile)
			if err := c.Write(h); err != nil {
				return err
			}
			cmd.Printf("wrote %s\n", path)
			return nil
		},
	}
	f := cmd.Flags()
	f.String("moniker", "", "provider name registered on chain")
	f.String("key", "", "name of the signing key in the keyring")
	f.String("keyring-backend", "", "keyring backend (os|file|test)")
	f.String("keyring-dir", "", "directory of the keyring (default: the daemon home)")
	f.String("node", "", "CometBFT RPC of a node")
	f.String("chain-id", "", "chain id")
	f.String("listen", "", "address the HTTP API listens on")
	f.String("endpoint", "", "public URL of the HTTP API (registered on chain)")
	f.String("gas-prices", "", "gas price for the daemon's transactions")
	f.String("poll", "", "how often to ask the node for a new block")
	f.Int64("claim-every", 0, "claim earnings every N blocks")
	f.String("upload-grace", "", "how long an upload may lag before the minimum upload rate applies (e.g. 30s)")
	f.String("tls-cert", "", "PEM certificate to serve the API over HTTPS")
	f.String("tls-key", "", "PEM key of --tls-cert")
	f.String("ca-file", "", "PEM CA certificate trusted for other providers besides the system's roots")
	f.Bool("overwrite", false, "replace an existing config.toml")
	return cmd
}

// daemonContext builds the SDK client context the daemon signs and queries with.
func daemonContext(h string, c config.Config) (sdkclient.Context, tx.Factory, error) {
	return chainctx.New(chainctx.Options{
		Home: h, KeyringBackend: c.KeyringBackend, KeyringDir: c.KeyringDir, Key: c.Key,
		Node: c.Chain.Node, ChainID: c.Chain.ChainID, GasPrices: c.Chain.GasPrices, GasAdjustment: c.Chain.GasAdjustment,
	})
}

func registerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register this provider on chain (needs the PROVIDER role granted by the network authority)",
		Example: `stratus-provider register --stake 2000000000ustrat --capacity 1TiB \
  --storage-price 100ustrat --compute-slots 4 --compute-price 1000ustrat`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := home(cmd)
			c, err := config.Load(h)
			if err != nil {
				return err
			}
			cctx, txf, err := daemonContext(h, c)
			if err != nil {
				return err
			}
			f := cmd.Flags()
			stakeS, _ := f.GetString("stake")
			stake, err := sdk.ParseCoinNormalized(stakeS)
			if err != nil {
				return fmt.Errorf("--stake %q: %w", stakeS, err)
			}
			capS, _ := f.GetString("capacity")
			capacity, err := client.ParseBytes(capS)
			if err != nil {
				return fmt.Errorf("--capacity: %w", err)
			}
			spS, _ := f.GetString("storage-price")
			sp, err := sdk.ParseDecCoin(spS)
			if err != nil {
				return fmt.Errorf("--storage-price %q: %w", spS, err)
			}
			cpS, _ := f.GetString("compute-price")
			cp, err := sdk.ParseCoinNormalized(cpS)
			if err != nil {
				return fmt.Errorf("--compute-price %q: %w", cpS, err)
			}
			slots, _ := f.GetUint64("compute-slots")
			msg := &providertypes.MsgRegisterProvider{
				Provider: cctx.FromAddress.String(), Moniker: c.Moniker, Endpoint: c.API.Endpoint,
				StorageCapacity: capacity, ComputeSlots: slots, StoragePrice: sp, ComputePrice: cp, Stake: stake,
			}
			res, err := client.NewTxSender(cctx, txf).Send(cmd.Context(), msg)
			if err != nil {
				return err
			}
			cmd.Printf("registered %s (%s) with stake %s at height %d, tx %s\n", c.Moniker, cctx.FromAddress, stake, res.Height, res.TxHash)
			return nil
		},
	}
	f := cmd.Flags()
	f.String("stake", "2000000000ustrat", "bond to put at stake (at least the chain's min_stake)")
	f.String("capacity", "100GiB", "storage offered (bytes, or with KiB/MiB/GiB/TiB)")
	f.String("storage-price", "100ustrat", "price per GiB per block")
	f.Uint64("compute-slots", 2, "jobs run at once")
	f.String("compute-price", "1000ustrat", "price per job")
	return cmd
}

func newLogger(c config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// execJobCmdName is the hidden command a job's child process runs.
const execJobCmdName = "exec-job"

// execJobCmd is the child side of executor.Isolated: it runs one job in the
// given work directory and exits.
func execJobCmd() *cobra.Command {
	return &cobra.Command{
		Use:    execJobCmdName + " [work-dir]",
		Short:  "Run one compute job in this process (started by the daemon)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		Run: func(_ *cobra.Command, args []string) {
			os.Exit(executor.ChildMain(args[0]))
		},
	}
}

// testFaultEnv names the test-only fault injection setting (see chain.Fault).
const testFaultEnv = "STRATUS_PROVIDER_TEST_FAULT"

func startCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "start",
		Short: "Run the daemon: the HTTP API and the chain loop",
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := home(cmd)
			c, err := config.Load(h)
			if err != nil {
				return err
			}
			log := newLogger(c)
			st, err := store.Open(c.StoreDir(h))
			if err != nil {
				return fmt.Errorf("opening the store: %w", err)
			}
			cctx, txf, err := daemonContext(h, c)
			if err != nil {
				return err
			}
			me := cctx.FromAddress.String()
			m := metrics.New()
			node := chain.NewNode(cctx, me)
			sender := client.NewTxSender(cctx, txf)
			// Fetches from peers are signed by this provider's key: a peer
			// serves a private deal only to the deal's providers and to the
			// executors of a job that reads it.
			peerHTTP, err := providerapi.HTTPClient(c.PeerCAFile(h))
			if err != nil {
				return err
			}
			peers := providerapi.NewClient(peerHTTP, providerapi.KeyringSigner{Keyring: cctx.Keyring, Name: c.Key})
			fetch := func(ctx context.Context, from providerapi.Target, id, job uint64, w io.Writer) error {
				if job != 0 {
					return peers.DownloadJobInput(ctx, from, id, job, w)
				}
				return peers.Download(ctx, from, id, w)
			}
			follower := chain.NewFollower(node, st, sender, fetch, me, chain.Config{
				Poll: c.PollInterval(), ClaimEvery: c.Loop.ClaimEvery, MaxFetches: c.Loop.MaxFetches,
			}, log, m)
			follower.SetParityFetch(peers.DownloadParity)
			opts := server.Options{
				Provider: me, Moniker: c.Moniker, Version: version(), Logger: log, Metrics: m,
				OnStored: func(uint64) { follower.Wake() }, MaxConcurrentUploads: c.API.MaxConcurrentUploads,
				MinUploadRate: c.API.MinUploadRate, UploadGrace: c.UploadGraceDuration(),
				RepairFetchesPerHour: c.API.RepairFetchesPerHour,
				PartialTTL:           c.PartialTTLDuration(), PartialMaxBytes: c.API.PartialMaxBytes,
			}
			if c.Executor.Enabled {
				fault, err := chain.ParseFault(os.Getenv(testFaultEnv))
				if err != nil {
					return fmt.Errorf("%s: %w", testFaultEnv, err)
				}
				if fault != chain.FaultNone {
					log.Warn("TEST FAULT INJECTION IS ON: this provider will misbehave and be slashed", "fault", fault)
				}
				var exec chain.Runner
				if c.Executor.Isolation == "process" {
					self, err := os.Executable()
					if err != nil {
						return fmt.Errorf("finding this program for the job processes: %w", err)
					}
					if exec, err = executor.NewIsolated([]string{self, execJobCmdName}, c.WasmCacheDir(h)); err != nil {
						return fmt.Errorf("starting the executor: %w", err)
					}
				} else {
					inProcess, err := executor.New(executor.Options{CacheDir: c.WasmCacheDir(h)})
					if err != nil {
						return fmt.Errorf("starting the executor: %w", err)
					}
					defer inProcess.Close(context.Background())
					exec = inProcess
				}
				jobs, err := chain.NewJobs(node, st, sender, fetch, exec, me, chain.JobsConfig{
					Dir: c.JobsDir(h), MaxConcurrent: c.Executor.MaxConcurrent, KeepOutputs: c.KeepOutputs(), InputCacheBytes: c.Executor.InputCacheBytes, Fault: fault,
				}, log, follower.Wake)
				if err != nil {
					return fmt.Errorf("opening the jobs directory: %w", err)
				}
				jobs.Metrics = m
				follower.SetJobs(jobs)
				opts.JobOutput = jobs.OutputPath
			}
			srv := server.New(st, node, opts)

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ln, err := net.Listen("tcp", c.API.Listen)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", c.API.Listen, err)
			}
			// No WriteTimeout: a download may rightly take long. Idle
			// keep-alive connections are closed after two minutes.
			httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
			certFile, keyFile := c.TLSFiles(h)
			if certFile != "" {
				// Load now so a bad pair stops the start with a clear error.
				if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
					return fmt.Errorf("api.tls-cert-file %s and api.tls-key-file %s: %w", certFile, keyFile, err)
				}
				httpSrv.TLSConfig = providerapi.ServerTLSConfig()
			} else if strings.HasPrefix(c.API.Endpoint, "https://") {
				log.Warn("api.endpoint is https but no api.tls-cert-file is set: the API serves plain HTTP, so a TLS proxy must front it", "endpoint", c.API.Endpoint)
			}
			errc := make(chan error, 2)
			go func() {
				if certFile != "" {
					errc <- httpSrv.ServeTLS(ln, certFile, keyFile)
					return
				}
				errc <- httpSrv.Serve(ln)
			}()
			go func() { errc <- follower.Run(ctx) }()
			log.Info("provider started", "provider", me, "moniker", c.Moniker, "listen", ln.Addr().String(), "tls", certFile != "",
				"endpoint", c.API.Endpoint, "node", c.Chain.Node, "store", c.StoreDir(h))

			select {
			case <-ctx.Done():
			case err := <-errc:
				if err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("stopping", "err", err)
				}
			}
			stop()
			shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = httpSrv.Shutdown(shutdown)
			log.Info("provider stopped")
			return nil
		},
	}
}

func statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show this provider's record on chain and its local store",
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := home(cmd)
			c, err := config.Load(h)
			if err != nil {
				return err
			}
			cctx, _, err := daemonContext(h, c)
			if err != nil {
				return err
			}
			node := chain.NewNode(cctx, cctx.FromAddress.String())
			height, err := node.Height(cmd.Context())
			if err != nil {
				return fmt.Errorf("node %s: %w", c.Chain.Node, err)
			}
			cmd.Printf("provider   %s (%s)\nnode       %s at height %d\n", c.Moniker, cctx.FromAddress, c.Chain.Node, height)
			p, pErr := node.Provider(cmd.Context(), cctx.FromAddress.String())
			if pErr != nil {
				cmd.Printf("on chain   not registered (%v)\n", pErr)
			} else {
				cmd.Printf("on chain   %s, stake %s%s, storage %d/%d bytes, faults %d, endpoint %s\n",
					p.Status, p.Stake, app.BondDenom, p.StorageUsed, p.StorageCapacity, p.Faults, p.Endpoint)
				if minStake, err := node.MinStake(cmd.Context()); err == nil {
					free := p.FreeStake(minStake.Amount)
					cmd.Printf("collateral %s%s locked for replicas, %s%s free", p.Locked(), app.BondDenom, free, app.BondDenom)
					if !free.IsPositive() {
						cmd.Printf(" (no new deals can pick you: add stake with 'stratusd tx provider add-stake')")
					}
					cmd.Printf("\n")
				}
			}
			st, err := store.Inspect(c.StoreDir(h))
			if err != nil {
				return err
			}
			deals, used, err := st.Usage()
			if err != nil {
				return err
			}
			replicas, err := node.MyReplicas(cmd.Context())
			if err != nil {
				return err
			}
			cmd.Printf("store      %s: %d deals, %d bytes\nreplicas   %d assigned to this provider on chain\n", c.StoreDir(h), deals, used, len(replicas))
			if pErr == nil {
				cmd.Printf("compute    %d/%d slots in use, price %s per job\n", p.ComputeSlotsUsed, p.ComputeSlots, p.ComputePrice)
			}
			jobs, err := node.MyOpenJobs(cmd.Context())
			if err != nil {
				return err
			}
			executor := "disabled (executor.enabled = false)"
			if c.Executor.Enabled {
				executor = fmt.Sprintf("%s, isolation %s", c.JobsDir(h), c.Executor.Isolation)
			}
			cmd.Printf("jobs       %d to commit or reveal on chain; executor %s\n", len(jobs), executor)
			return nil
		},
	}
}
