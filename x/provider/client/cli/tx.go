// Package cli holds the x/provider commands AutoCLI cannot build: those
// with a DecCoin price argument, which AutoCLI would encode unscaled.
package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// NewTxCmd is the provider tx command; AutoCLI adds the other messages to it.
func NewTxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        types.ModuleName,
		Short:                      "Provider transactions",
		DisableFlagParsing:         true,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(registerCmd(), updateCmd())
	return cmd
}

type offer struct {
	moniker, endpoint string
	capacity, slots   uint64
	storagePrice      sdk.DecCoin
	computePrice      sdk.Coin
}

func parseOffer(args []string) (offer, error) {
	var o offer
	var err error
	o.moniker, o.endpoint = args[0], args[1]
	if o.capacity, err = strconv.ParseUint(args[2], 10, 64); err != nil {
		return o, fmt.Errorf("storage capacity %q: want bytes as a whole number", args[2])
	}
	if o.slots, err = strconv.ParseUint(args[3], 10, 64); err != nil {
		return o, fmt.Errorf("compute slots %q: want a whole number", args[3])
	}
	if o.storagePrice, err = sdk.ParseDecCoin(args[4]); err != nil {
		return o, fmt.Errorf("storage price %q: %w", args[4], err)
	}
	if o.computePrice, err = sdk.ParseCoinNormalized(args[5]); err != nil {
		return o, fmt.Errorf("compute price %q: %w", args[5], err)
	}
	return o, nil
}

func registerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "register [moniker] [endpoint] [storage-capacity-bytes] [compute-slots] [storage-price] [compute-price] [stake]",
		Short:   "Register as a provider (needs the provider role); storage price per GiB per block, compute price per job",
		Example: "stratusd tx provider register acme https://sp1.acme.example 1099511627776 4 100ustrat 1000ustrat 2000000000ustrat --from acme",
		Args:    cobra.ExactArgs(7),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			o, err := parseOffer(args)
			if err != nil {
				return err
			}
			stake, err := sdk.ParseCoinNormalized(args[6])
			if err != nil {
				return fmt.Errorf("stake %q: %w", args[6], err)
			}
			msg := &types.MsgRegisterProvider{
				Provider: cctx.GetFromAddress().String(), Moniker: o.moniker, Endpoint: o.endpoint,
				StorageCapacity: o.capacity, ComputeSlots: o.slots, StoragePrice: o.storagePrice,
				ComputePrice: o.computePrice, Stake: stake,
			}
			return tx.GenerateOrBroadcastTxCLI(cctx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

func updateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "update [moniker] [endpoint] [storage-capacity-bytes] [compute-slots] [storage-price] [compute-price]",
		Short:   "Replace your moniker, endpoint, capacity and prices; capacity may not drop below what is in use",
		Example: "stratusd tx provider update acme https://sp1.acme.example 2199023255552 8 100ustrat 1000ustrat --from acme",
		Args:    cobra.ExactArgs(6),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			o, err := parseOffer(args)
			if err != nil {
				return err
			}
			msg := &types.MsgUpdateProvider{
				Provider: cctx.GetFromAddress().String(), Moniker: o.moniker, Endpoint: o.endpoint,
				StorageCapacity: o.capacity, ComputeSlots: o.slots, StoragePrice: o.storagePrice, ComputePrice: o.computePrice,
			}
			return tx.GenerateOrBroadcastTxCLI(cctx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}
