// Package cli holds the x/storage commands AutoCLI cannot build: create-deal
// takes a DecCoin price, which AutoCLI would encode unscaled.
package cli

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/storage/types"
)

// NewTxCmd is the storage tx command; AutoCLI adds the other messages to it.
func NewTxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        types.ModuleName,
		Short:                      "Storage deal transactions (stratusd storage put does a whole upload)",
		DisableFlagParsing:         true,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(createDealCmd())
	return cmd
}

func createDealCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create-deal [root-hex] [size] [replicas] [duration-blocks] [max-price]",
		Short: "Create a deal for a file already hashed (stratusd storage put encrypts, hashes, pays and uploads in one step)",
		Example: "stratusd tx storage create-deal " +
			"28be778437f254002267601e3b20f6423a40eb2031e371660e37e5d20f6e6107 2000680 3 10000 1000ustrat --from alice",
		Args: cobra.ExactArgs(5),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			root, err := hex.DecodeString(args[0])
			if err != nil {
				return fmt.Errorf("root %q: want 64 hex digits: %w", args[0], err)
			}
			size, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("size %q: %w", args[1], err)
			}
			replicas, err := strconv.ParseUint(args[2], 10, 32)
			if err != nil {
				return fmt.Errorf("replicas %q: %w", args[2], err)
			}
			duration, err := strconv.ParseUint(args[3], 10, 64)
			if err != nil {
				return fmt.Errorf("duration %q: %w", args[3], err)
			}
			price, err := sdk.ParseDecCoin(args[4])
			if err != nil {
				return fmt.Errorf("max price %q: %w", args[4], err)
			}
			msg := &types.MsgCreateDeal{
				Owner: cctx.GetFromAddress().String(), Root: root, Size_: size, Replicas: uint32(replicas),
				DurationBlocks: duration, MaxPrice: price,
			}
			msg.Public, _ = cmd.Flags().GetBool("public")
			if err := msg.ValidateBasic(); err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(cctx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	cmd.Flags().Bool("public", false, "anyone may read the deal's bytes from its providers (otherwise only you and the providers entitled to fetch them)")
	return cmd
}
