package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"

	"github.com/stratusnet/stratus/client"
)

// newSDK is the SDK client of a command, showing its progress on stderr
// and trusting the providers' CA of --provider-ca.
func newSDK(cmd *cobra.Command, cctx sdkclient.Context, txf tx.Factory) (*client.Client, error) {
	boundMemory()
	c := client.New(cctx, txf)
	c.OnEvent = newProgress(cmd.ErrOrStderr()).Event
	ca := ""
	if f := cmd.Flag(flagProviderCA); f != nil {
		ca = f.Value.String()
	}
	if ca == "" {
		if def := filepath.Join(cctx.HomeDir, defaultProviderCA); fileExists(def) {
			ca = def
		}
	}
	if ca != "" {
		if err := c.TrustCA(ca); err != nil {
			return nil, fmt.Errorf("--%s: %w", flagProviderCA, err)
		}
	}
	return c, nil
}

// dataMemoryLimit is the Go heap's soft limit for the commands that move
// a file's bytes: they stream gigabytes through small buffers, and left to
// the default the heap's garbage and the pages the runtime keeps after
// freeing them took a 1 GiB get to 164 MiB of anonymous memory for a live
// heap under 70 MiB. With this limit the runtime collects and returns
// memory sooner (96 MiB of anonymous memory on the same get, about the same
// time; docs/benchmarks.md). GOMEMLIMIT, when set, wins.
const dataMemoryLimit = 96 << 20

// boundMemory sets dataMemoryLimit unless GOMEMLIMIT is set. It is called
// only by the data commands: a node started by this binary keeps Go's
// defaults.
func boundMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(dataMemoryLimit)
	}
}

// flagProviderCA names a CA certificate trusted for providers' HTTPS
// besides the system's roots; defaultProviderCA, in the client home, is
// used when present (the localnet puts its CA there).
const (
	flagProviderCA    = "provider-ca"
	defaultProviderCA = "provider-ca.pem"
)

// addProviderCAFlag adds --provider-ca to a command group.
func addProviderCAFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().String(flagProviderCA, "", "PEM CA certificate trusted for providers' HTTPS besides the system's roots (default: "+defaultProviderCA+" in the client home, if present)")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// signingContext resolves the --from key of a command that sends no
// transaction but signs its requests to providers: a private deal or job
// is served only to its owner. Without --from, requests are anonymous and
// reach public deals and jobs only.
func signingContext(cmd *cobra.Command, cctx sdkclient.Context) (sdkclient.Context, error) {
	from := cctx.FromName
	if f := cmd.Flags().Lookup(flags.FlagFrom); f != nil && f.Changed {
		from = f.Value.String()
	}
	if from == "" {
		return cctx, nil
	}
	if cctx.Keyring == nil {
		return cctx, fmt.Errorf("--from %s: no keyring is open; give --keyring-backend", from)
	}
	addr, name, _, err := sdkclient.GetFromFields(cctx, cctx.Keyring, from)
	if err != nil {
		return cctx, fmt.Errorf("--from %s: %w", from, err)
	}
	return cctx.WithFromName(name).WithFromAddress(addr), nil
}

// addSignerFlags adds the flags of the key that signs data-plane requests
// to a command that sends no transaction.
func addSignerFlags(cmd *cobra.Command, why string) {
	cmd.Flags().String(flags.FlagFrom, "", "key that signs the requests to providers ("+why+")")
	cmd.Flags().String(flags.FlagKeyringBackend, flags.DefaultKeyringBackend, "keyring backend (os|file|kwallet|pass|test)")
	cmd.Flags().String(flags.FlagKeyringDir, "", "keyring directory (default: the client home)")
}
