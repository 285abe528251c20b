package cmd

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
)

func auditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit [deal-id]",
		Short: "Spot-check that every provider of a deal still holds it: random leaves, each checked against the root",
		Long: `Asks every provider holding a committed replica of the deal for --samples
random leaves with their Merkle paths, and checks each against the deal's root
on chain. A provider that cannot answer, or answers with anything that does
not verify, is reported and the command fails. The chain samples every
provider every proof window on its own; this is the owner's own check, at
any time. Proofs of a private deal are served only to its owner: sign with
--from.`,
		Example: "stratusd storage audit 12 --from alice --samples 16",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("deal id %q is not a number: give the id 'stratusd storage ls' shows", args[0])
			}
			samples, _ := cmd.Flags().GetUint64("samples")
			if samples == 0 {
				return errors.New("--samples must be at least 1")
			}
			return audit(cmd, cctx, id, samples)
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	cmd.Flags().Uint64("samples", 8, "leaves to check at each provider")
	addSignerFlags(cmd, "proofs of a private deal are served only to its owner")
	return cmd
}

func audit(cmd *cobra.Command, cctx sdkclient.Context, id, samples uint64) error {
	cctx, err := signingContext(cmd, cctx)
	if err != nil {
		return err
	}
	sdkc, err := newSDK(cmd, cctx, tx.Factory{})
	if err != nil {
		return err
	}
	results, err := sdkc.Audit(cmd.Context(), id, samples)
	if err != nil {
		return err
	}
	if len(results) == 0 {
		return fmt.Errorf("deal %d has no committed replica to audit yet; check 'stratusd storage status %d'", id, id)
	}
	failed := 0
	cmd.Printf("%-5s %-46s %s\n", "SLOT", "PROVIDER", "RESULT")
	for _, r := range results {
		result := fmt.Sprintf("ok, %d of %d leaves verified", r.Verified, r.Leaves)
		if r.Err != nil {
			failed++
			result = "FAILED: " + r.Err.Error()
		}
		cmd.Printf("%-5d %-46s %s\n", r.Slot, r.Provider, result)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d providers of deal %d failed the audit; the chain's own samples will catch them within a few proof windows", failed, len(results), id)
	}
	return nil
}
