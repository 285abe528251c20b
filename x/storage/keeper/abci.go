package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/storage/types"
)

// EndBlocker does only what is due at this height: commit timeouts, at
// most max_expiries_per_block deal ends, the window turnover, and a bounded
// number of repair retries. It also folds the block into the seed.
func (k *Keeper) EndBlocker(ctx context.Context) error {
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := k.accumulateSeed(ctx); err != nil {
		return err
	}
	if err := k.processCommitTimeouts(ctx, h, params); err != nil {
		return err
	}
	if err := k.processExpiries(ctx, h, params); err != nil {
		return err
	}
	w, err := k.CurrentWindow(ctx)
	if err != nil {
		return err
	}
	if w.Number == 0 || h >= w.CloseHeight {
		if w.Number > 0 {
			if err := k.closeWindow(ctx, w, params); err != nil {
				return err
			}
		}
		if err := k.openWindow(ctx, w.Number+1, params); err != nil {
			return err
		}
	}
	return k.retryOpenSlots(ctx, params)
}

func (k *Keeper) processCommitTimeouts(ctx context.Context, h int64, params types.Params) error {
	// At most max_expiries_per_block timeouts too; the rest wait. A commit
	// after its deadline is refused anyway, so a late timeout only delays
	// the repair.
	due, err := collectKeys(ctx, k.CommitDeadlines, new(collections.Range[collections.Triple[int64, uint64, uint32]]).
		EndExclusive(collections.Join3(h+1, uint64(0), uint32(0))), int(params.MaxExpiriesPerBlock))
	if err != nil {
		return err
	}
	for _, key := range due {
		d, err := k.GetDeal(ctx, key.K2())
		if err != nil {
			return err
		}
		if !d.Live() {
			continue // failed by an earlier timeout of this block, which removed its slots
		}
		r, err := k.Replicas.Get(ctx, collections.Join(key.K2(), key.K3()))
		if err != nil {
			return err
		}
		if r.Status != types.ReplicaStatus_REPLICA_STATUS_ASSIGNED {
			continue
		}
		d.Reassignments++
		if d.Status == types.DealStatus_DEAL_STATUS_PENDING && d.Reassignments > params.MaxReassignments {
			// endDeal vacates every slot, this one included.
			if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventReplicaDropped{
				DealId: r.DealId, Slot: r.Slot, Provider: r.Provider, Reason: ReasonCommitTimeout,
			}); err != nil {
				return err
			}
			if _, err := k.endDeal(ctx, d, types.DealStatus_DEAL_STATUS_FAILED); err != nil {
				return err
			}
			continue
		}
		if err := k.dropReplica(ctx, &d, r, ReasonCommitTimeout); err != nil {
			return err
		}
	}
	return nil
}

// processExpiries ends the deals due by h, oldest first, at most
// max_expiries_per_block of them; the index itself is the cursor, so the
// rest end in the next blocks. Settlement caps at each deal's end height:
// a deal ended late pays for no block past its end, only for blocks proven.
func (k *Keeper) processExpiries(ctx context.Context, h int64, params types.Params) error {
	due, err := collectKeys(ctx, k.DealsByEnd,
		new(collections.Range[collections.Pair[int64, uint64]]).EndExclusive(collections.Join(h+1, uint64(0))),
		int(params.MaxExpiriesPerBlock))
	if err != nil {
		return err
	}
	for _, key := range due {
		d, err := k.GetDeal(ctx, key.K2())
		if err != nil {
			return err
		}
		if _, err := k.endDeal(ctx, d, types.DealStatus_DEAL_STATUS_ENDED); err != nil {
			return err
		}
	}
	return nil
}

func (k *Keeper) retryOpenSlots(ctx context.Context, params types.Params) error {
	open, err := collectKeys(ctx, k.OpenSlots, nil, int(params.MaxRepairsPerBlock))
	if err != nil {
		return err
	}
	for _, key := range open {
		d, err := k.GetDeal(ctx, key.K1())
		if err != nil {
			return err
		}
		if err := k.OpenSlots.Remove(ctx, key); err != nil {
			return err
		}
		if err := k.repairSlot(ctx, &d, key.K2(), nil, params); err != nil {
			return err
		}
	}
	return nil
}

// collectKeys reads the keys of set in rng (at most limit; 0: all) before
// the caller changes the set, which a live iterator must not see.
func collectKeys[K any](ctx context.Context, set collections.KeySet[K], rng collections.Ranger[K], limit int) ([]K, error) {
	var out []K
	err := set.Walk(ctx, rng, func(key K) (bool, error) {
		out = append(out, key)
		return limit > 0 && len(out) >= limit, nil
	})
	return out, err
}
