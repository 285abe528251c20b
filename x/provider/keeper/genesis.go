package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// InitGenesis stores params and providers and rebuilds the pick tree (ACTIVE
// providers in genesis order). It creates the module account and refuses a
// genesis whose module account balance differs from the sum of the stakes,
// so bank genesis must fund the account (export does).
func (k *Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if gs.Params.MinStake.Denom != k.bondDenom {
		return errorsmod.Wrapf(types.ErrInvalidGenesis, "min_stake denom %q, want %q", gs.Params.MinStake.Denom, k.bondDenom)
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	k.accounts.GetModuleAccount(ctx, types.ModuleName)
	sum := math.ZeroInt()
	for _, p := range gs.Providers {
		addr, err := k.addressCodec.StringToBytes(p.Address)
		if err != nil {
			return err
		}
		if err := k.setProvider(ctx, addr, p); err != nil {
			return err
		}
		sum = sum.Add(p.Stake)
	}
	for _, f := range gs.PastFaults {
		addr, err := k.addressCodec.StringToBytes(f.Address)
		if err != nil {
			return err
		}
		if err := k.PastFaults.Set(ctx, addr, f.Faults); err != nil {
			return err
		}
	}
	balance := k.bank.GetBalance(ctx, k.accounts.GetModuleAddress(types.ModuleName), k.bondDenom)
	if !balance.Amount.Equal(sum) {
		return errorsmod.Wrapf(types.ErrInvalidGenesis, "module account holds %s but the stakes sum to %s", balance, sdk.NewCoin(k.bondDenom, sum))
	}
	return nil
}

// ExportGenesis returns the params and every provider in address order. The
// pick tree is not exported: import rebuilds it.
func (k *Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	if err := k.Providers.Walk(ctx, nil, func(_ sdk.AccAddress, p types.Provider) (bool, error) {
		gs.Providers = append(gs.Providers, p)
		return false, nil
	}); err != nil {
		return nil, err
	}
	err = k.PastFaults.Walk(ctx, nil, func(addr sdk.AccAddress, faults uint64) (bool, error) {
		gs.PastFaults = append(gs.PastFaults, types.PastFaults{Address: addr.String(), Faults: faults})
		return false, nil
	})
	return gs, err
}
