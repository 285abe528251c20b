package cmd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/spf13/cobra"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"

	"github.com/stratusnet/stratus/merkle"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
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
	ctx := cmd.Context()
	d, err := storagetypes.NewQueryClient(cctx).Deal(ctx, &storagetypes.QueryDealRequest{DealId: id})
	if err != nil {
		return err
	}
	root, err := merkle.HashFromBytes(d.Deal.Root)
	if err != nil {
		return err
	}
	api, signer, err := dataClient(cmd, cctx)
	if err != nil {
		return err
	}
	if !d.Deal.Public {
		if err := privateAccess(fmt.Sprintf("deal %d", id), d.Deal.Owner, signer); err != nil {
			return err
		}
	}
	leaves := merkle.LeafCount(d.Deal.Size_, int(d.Deal.ChunkSize))
	samples = min(samples, leaves)
	failed, checked := 0, 0
	cmd.Printf("%-5s %-46s %s\n", "SLOT", "PROVIDER", "RESULT")
	for _, r := range d.Replicas {
		if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			continue
		}
		checked++
		result := fmt.Sprintf("ok, %d of %d leaves verified", samples, leaves)
		t, err := providerTarget(ctx, cctx, r.Provider)
		if err == nil {
			// Random distinct leaves: a provider cannot know which come.
			for _, leaf := range distinctLeaves(leaves, samples) {
				data, path, _, _, perr := api.Proof(ctx, t, id, leaf)
				if perr == nil {
					perr = merkle.VerifyFileProof(root, d.Deal.Size_, int(d.Deal.ChunkSize), leaf, data, path)
				}
				if perr != nil {
					err = fmt.Errorf("leaf %d: %w", leaf, perr)
					break
				}
			}
		}
		if err != nil {
			failed++
			result = "FAILED: " + err.Error()
		}
		cmd.Printf("%-5d %-46s %s\n", r.Slot, r.Provider, result)
	}
	switch {
	case checked == 0:
		return fmt.Errorf("deal %d has no committed replica to audit yet; check 'stratusd storage status %d'", id, id)
	case failed > 0:
		return fmt.Errorf("%d of %d providers of deal %d failed the audit; the chain's own samples will catch them within a few proof windows", failed, checked, id)
	}
	return nil
}

// distinctLeaves draws n distinct leaf indexes below leaves (n ≤ leaves).
func distinctLeaves(leaves, n uint64) []uint64 {
	seen := make(map[uint64]bool, n)
	out := make([]uint64, 0, n)
	for uint64(len(out)) < n {
		i := rand.Uint64N(leaves)
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}
