package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/compute/types"
)

// InitGenesis loads jobs and rebuilds every index from them.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.checkDenoms(gs.Params); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	if err := k.NextJobID.Set(ctx, gs.NextJobId); err != nil {
		return err
	}
	for _, j := range gs.Jobs {
		if err := k.Jobs.Set(ctx, j.Id, j); err != nil {
			return err
		}
		owner, err := k.addressCodec.StringToBytes(j.Owner)
		if err != nil {
			return err
		}
		if err := k.JobsByOwner.Set(ctx, collections.Join(sdk.AccAddress(owner), j.Id)); err != nil {
			return err
		}
		if j.Open() {
			if err := k.Deadlines.Set(ctx, collections.Join(j.Deadline, j.Id)); err != nil {
				return err
			}
		}
		for _, e := range j.Executors {
			addr, err := k.addressCodec.StringToBytes(e.Provider)
			if err != nil {
				return err
			}
			if err := k.JobsByProvider.Set(ctx, collections.Join(sdk.AccAddress(addr), j.Id)); err != nil {
				return err
			}
			if j.Open() && (e.Status == types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED || e.Status == types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED) {
				if err := k.OpenByProvider.Set(ctx, collections.Join(sdk.AccAddress(addr), j.Id)); err != nil {
					return err
				}
			}
		}
	}
	for _, p := range gs.Programs {
		if err := k.Programs.Set(ctx, p.JobId, p.Wasm); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis writes jobs and inline programs; indexes are rebuilt on import.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	next, err := k.NextJobID.Peek(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params, NextJobId: next}
	if err := k.Jobs.Walk(ctx, nil, func(_ uint64, j types.Job) (bool, error) {
		gs.Jobs = append(gs.Jobs, j)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Programs.Walk(ctx, nil, func(id uint64, wasm []byte) (bool, error) {
		gs.Programs = append(gs.Programs, types.InlineProgram{JobId: id, Wasm: wasm})
		return false, nil
	}); err != nil {
		return nil, err
	}
	return gs, nil
}
