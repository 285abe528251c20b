package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/storage/types"
)

// InitGenesis loads deals, replicas and the open window, and rebuilds every
// index from them.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
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
		if isLive(d) {
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
			err = k.denseAdd(ctx, key)
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
	if gs.Window.Number > 0 {
		if err := k.Window.Set(ctx, gs.Window); err != nil {
			return err
		}
	}
	for _, c := range gs.Challenges {
		p, err := k.addressCodec.StringToBytes(c.Provider)
		if err != nil {
			return fmt.Errorf("challenge provider: %w", err)
		}
		if err := k.Challenges.Set(ctx, collections.Join(sdk.AccAddress(p), c.DealId), c); err != nil {
			return err
		}
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
	w, err := k.Window.Get(ctx)
	if err == nil {
		gs.Window = w
	} else if !errors.Is(err, collections.ErrNotFound) {
		return nil, err
	}
	err = k.Challenges.Walk(ctx, nil, func(_ collections.Pair[sdk.AccAddress, uint64], c types.Challenge) (bool, error) {
		gs.Challenges = append(gs.Challenges, c)
		return false, nil
	})
	return gs, err
}
