package client

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/stratusnet/stratus/merkle"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// AuditResult is one provider's answer to an audit.
type AuditResult struct {
	Slot     uint32
	Provider string
	// Verified leaves, of Leaves in the deal; Err is why the rest failed.
	Verified uint64
	Leaves   uint64
	Err      error
}

// Audit asks every provider holding a committed replica of deal id for
// samples random distinct leaves with their Merkle paths, and checks each
// against the deal's root on chain. It is the owner's own spot-check, at
// any time; the chain samples every provider every window on its own.
// Proofs of a private deal are served only to its owner.
func (c *Client) Audit(ctx context.Context, id, samples uint64) ([]AuditResult, error) {
	d, replicas, err := c.Deal(ctx, id)
	if err != nil {
		return nil, err
	}
	root, err := merkle.HashFromBytes(d.Root)
	if err != nil {
		return nil, err
	}
	if err := c.checkAccess(fmt.Sprintf("deal %d", id), d.Owner, d.Public); err != nil {
		return nil, err
	}
	leaves := merkle.LeafCount(d.Size_, int(d.ChunkSize))
	samples = min(samples, leaves)
	var out []AuditResult
	for _, r := range replicas {
		if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			continue
		}
		res := AuditResult{Slot: r.Slot, Provider: r.Provider, Leaves: leaves}
		t, err := c.Target(ctx, r.Provider)
		if err != nil {
			res.Err = err
			out = append(out, res)
			continue
		}
		// Random distinct leaves: a provider cannot know which come.
		for _, leaf := range distinctLeaves(leaves, samples) {
			data, path, _, _, err := c.api.Proof(ctx, t, id, leaf)
			if err == nil {
				err = merkle.VerifyFileProof(root, d.Size_, int(d.ChunkSize), leaf, data, path)
			}
			if err != nil {
				res.Err = fmt.Errorf("leaf %d: %w", leaf, err)
				break
			}
			res.Verified++
		}
		out = append(out, res)
	}
	return out, nil
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
