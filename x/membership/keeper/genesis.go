package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/membership/types"
)

// InitGenesis stores params and members. Members are stored without jailing
// or hooks: genesis describes a consistent starting state.
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, m := range gs.Members {
		if err := k.grant(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis returns the params and every member, ordered by (role, address).
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	err = k.Members.Walk(ctx, nil, func(_ collections.Pair[int32, sdk.AccAddress], m types.Member) (bool, error) {
		gs.Members = append(gs.Members, m)
		return false, nil
	})
	return gs, err
}
