package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"

	"github.com/stratusnet/stratus/providerapi"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
)

// dataClient is a command's client of the providers' API. It signs every
// request with the --from key when one is given: a private deal or job is
// served only to its owner. Without one it is anonymous and reads public
// deals and jobs only; signer is then "".
func dataClient(cmd *cobra.Command, cctx sdkclient.Context) (c *providerapi.Client, signer string, err error) {
	from := cctx.FromName
	if f := cmd.Flags().Lookup(flags.FlagFrom); f != nil && f.Changed {
		from = f.Value.String()
	}
	if from == "" {
		return providerapi.NewClient(nil, nil), "", nil
	}
	if cctx.Keyring == nil {
		return nil, "", fmt.Errorf("--from %s: no keyring is open; give --keyring-backend", from)
	}
	addr, name, _, err := sdkclient.GetFromFields(cctx, cctx.Keyring, from)
	if err != nil {
		return nil, "", fmt.Errorf("--from %s: %w", from, err)
	}
	return providerapi.NewClient(nil, providerapi.KeyringSigner{Keyring: cctx.Keyring, Name: name}), addr.String(), nil
}

// addSignerFlags adds the flags of the key that signs data-plane requests
// to a command that sends no transaction.
func addSignerFlags(cmd *cobra.Command, why string) {
	cmd.Flags().String(flags.FlagFrom, "", "key that signs the requests to providers ("+why+")")
	cmd.Flags().String(flags.FlagKeyringBackend, flags.DefaultKeyringBackend, "keyring backend (os|file|kwallet|pass|test)")
	cmd.Flags().String(flags.FlagKeyringDir, "", "keyring directory (default: the client home)")
}

// providerTarget looks a provider up on chain: its address, which requests
// are signed for, and its endpoint.
func providerTarget(ctx context.Context, cctx sdkclient.Context, addr string) (providerapi.Target, error) {
	p, err := providertypes.NewQueryClient(cctx).Provider(ctx, &providertypes.QueryProviderRequest{Address: addr})
	if err != nil {
		return providerapi.Target{}, fmt.Errorf("looking up provider %s: %w", addr, err)
	}
	return providerapi.Target{Provider: addr, URL: p.Provider.Endpoint}, nil
}

// privateAccess checks, before any download, that a private resource of
// owner can be read with the signer: the owner's own key.
func privateAccess(what, owner, signer string) error {
	switch {
	case signer == "":
		return fmt.Errorf("%s is private: providers serve it only to its owner %s; give --from with that account's key", what, owner)
	case signer != owner:
		return fmt.Errorf("%s belongs to %s, and --from is %s: providers serve it only to its owner; give --from with the owner's key", what, owner, signer)
	}
	return nil
}
