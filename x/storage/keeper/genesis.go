package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/x/storage/types"
)

// InitGenesis loads deals, replicas and the open window, and rebuilds every
// index from them.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.checkFeeDenom(gs.Params); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	if err := k.NextDealID.Set(ctx, max(gs.NextDealId, 1)); err != nil {
		return err
	}
	for _, d := range gs.Deals {
		if err := k.setDeal(ctx, d); err != nil {
			return err
		}
		owner, err := k.addressCodec.StringToBytes(d.Owner)
		if err != nil {
			return err
		}
		if err := k.DealsByOwner.Set(ctx, collections.Join(sdk.AccAddress(owner), d.Id)); err != nil {
			return err
		}
		if d.Live() {
			if err := k.DealsByEnd.Set(ctx, collections.Join(d.EndHeight, d.Id)); err != nil {
				return err
			}
		}
	}
	for _, r := range gs.Replicas {
		key := collections.Join(r.DealId, r.Slot)
		if err := k.Replicas.Set(ctx, key, r); err != nil {
			return err
		}
		if r.Provider != "" {
			p, err := k.addressCodec.StringToBytes(r.Provider)
			if err != nil {
				return err
			}
			if err := k.ReplicasByProvider.Set(ctx, collections.Join(sdk.AccAddress(p), r.DealId), r.Slot); err != nil {
				return err
			}
		}
		var err error
		switch r.Status {
		case types.ReplicaStatus_REPLICA_STATUS_ASSIGNED:
			err = k.CommitDeadlines.Set(ctx, collections.Join3(r.CommitDeadline, r.DealId, r.Slot))
		case types.ReplicaStatus_REPLICA_STATUS_OPEN:
			err = k.OpenSlots.Set(ctx, key)
		case types.ReplicaStatus_REPLICA_STATUS_COMMITTED:
			err = k.indexCommitted(ctx, r)
		}
		if err != nil {
			return err
		}
	}
	for _, ref := range gs.NewReplicas {
		if err := k.NewReplicas.Set(ctx, collections.Join(ref.DealId, ref.Slot)); err != nil {
			return err
		}
	}
	for _, ref := range gs.Releases {
		if err := k.Releases.Set(ctx, collections.Join(ref.DealId, ref.Slot)); err != nil {
			return err
		}
	}
	if gs.Window.Number > 0 {
		if err := k.Window.Set(ctx, gs.Window); err != nil {
			return err
		}
	}
	for _, d := range gs.Duties {
		p, err := k.addressCodec.StringToBytes(d.Provider)
		if err != nil {
			return fmt.Errorf("duty provider: %w", err)
		}
		if err := k.Duties.Set(ctx, p, d); err != nil {
			return err
		}
	}
	for _, f := range gs.FailedWindows {
		p, err := k.addressCodec.StringToBytes(f.Provider)
		if err != nil {
			return fmt.Errorf("failed window provider: %w", err)
		}
		if err := k.FailedWindows.Set(ctx, collections.Join(sdk.AccAddress(p), f.CloseHeight), f); err != nil {
			return err
		}
	}
	if len(gs.SeedAccumulator) > 0 {
		return k.SeedAcc.Set(ctx, gs.SeedAccumulator)
	}
	return nil
}

// indexCommitted puts a committed replica in its provider's holdings, and
// among the suspects if it has missed.
func (k *Keeper) indexCommitted(ctx context.Context, r types.Replica) error {
	d, err := k.GetDeal(ctx, r.DealId)
	if err != nil {
		return err
	}
	p, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return err
	}
	if err := k.holdingAdd(ctx, p, types.ReplicaRef{
		DealId: r.DealId, Slot: r.Slot, Weight: merkle.LeafCount(d.SlotSize(), int(d.ChunkSize)),
	}); err != nil {
		return err
	}
	if r.Missed > 0 {
		return k.Suspects.Set(ctx, collections.Join(r.DealId, r.Slot))
	}
	return nil
}

// ExportGenesis writes the whole module state.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	next, err := k.NextDealID.Peek(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params, NextDealId: next}
	if err := k.Deals.Walk(ctx, nil, func(_ uint64, d types.Deal) (bool, error) {
		gs.Deals = append(gs.Deals, d)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Replicas.Walk(ctx, nil, func(_ ReplicaKey, r types.Replica) (bool, error) {
		gs.Replicas = append(gs.Replicas, r)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.NewReplicas.Walk(ctx, nil, func(key ReplicaKey) (bool, error) {
		gs.NewReplicas = append(gs.NewReplicas, types.ReplicaRef{DealId: key.K1(), Slot: key.K2()})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Releases.Walk(ctx, nil, func(key ReplicaKey) (bool, error) {
		gs.Releases = append(gs.Releases, types.ReplicaRef{DealId: key.K1(), Slot: key.K2()})
		return false, nil
	}); err != nil {
		return nil, err
	}
	w, err := k.Window.Get(ctx)
	if err == nil {
		gs.Window = w
	} else if !errors.Is(err, collections.ErrNotFound) {
		return nil, err
	}
	if err := k.Duties.Walk(ctx, nil, func(_ sdk.AccAddress, d types.Duty) (bool, error) {
		gs.Duties = append(gs.Duties, d)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.FailedWindows.Walk(ctx, nil, func(_ collections.Pair[sdk.AccAddress, int64], f types.FailedWindow) (bool, error) {
		gs.FailedWindows = append(gs.FailedWindows, f)
		return false, nil
	}); err != nil {
		return nil, err
	}
	acc, err := k.SeedAcc.Get(ctx)
	if err == nil {
		gs.SeedAccumulator = acc
	} else if !errors.Is(err, collections.ErrNotFound) {
		return nil, err
	}
	return gs, nil
}
