package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// Slash burns fraction (in (0, 1]) of the provider's stake, rounded down, and
// counts a fault. An ACTIVE or JAILED provider whose stake falls below
// min_stake or whose faults exceed max_faults is jailed for jail_blocks from
// now. An UNBONDING provider's stake stays at risk until it is returned, but
// it is not jailed: it already takes no new work.
func (k *Keeper) Slash(ctx context.Context, addr sdk.AccAddress, fraction math.LegacyDec, reason string) (math.Int, error) {
	if fraction.IsNil() || !fraction.IsPositive() || fraction.GT(math.LegacyOneDec()) {
		return math.Int{}, errorsmod.Wrapf(types.ErrInvalidFraction, "%s", fraction)
	}
	p, err := k.GetProvider(ctx, addr)
	if err != nil {
		return math.Int{}, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return math.Int{}, err
	}
	burn := fraction.MulInt(p.Stake).TruncateInt()
	if burn.IsPositive() {
		if err := k.bank.BurnCoins(ctx, types.ModuleName, sdk.NewCoins(k.stakeCoin(burn))); err != nil {
			return math.Int{}, err
		}
	}
	p.Stake = p.Stake.Sub(burn)
	p.Faults++

	jailed := false
	if p.Status != types.ProviderStatus_PROVIDER_STATUS_UNBONDING &&
		(p.Stake.LT(params.MinStake.Amount) || p.Faults > params.MaxFaults) {
		p.Status = types.ProviderStatus_PROVIDER_STATUS_JAILED
		p.JailedUntil = sdk.UnwrapSDKContext(ctx).BlockHeight() + int64(params.JailBlocks)
		jailed = true
	}
	if err := k.setProvider(ctx, addr, p); err != nil {
		return math.Int{}, err
	}
	if err := k.emit(ctx, &types.EventProviderSlashed{
		Address: p.Address, Fraction: fraction, Burned: k.stakeCoin(burn), Stake: k.stakeCoin(p.Stake),
		Faults: p.Faults, Reason: reason,
	}); err != nil {
		return math.Int{}, err
	}
	if jailed {
		if err := k.emit(ctx, &types.EventProviderJailed{Address: p.Address, JailedUntil: p.JailedUntil, Reason: reason}); err != nil {
			return math.Int{}, err
		}
	}
	k.Logger(ctx).Info("provider slashed", "address", p.Address, "burned", burn, "faults", p.Faults, "jailed", jailed, "reason", reason)
	return burn, nil
}

// startUnbonding takes the provider out of new work and schedules the return
// of its stake, then tells the hooks.
func (k *Keeper) startUnbonding(ctx context.Context, addr sdk.AccAddress, p types.Provider, reason string) (types.Provider, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return p, err
	}
	p.Status = types.ProviderStatus_PROVIDER_STATUS_UNBONDING
	p.JailedUntil = 0
	p.UnbondingUntil = sdk.UnwrapSDKContext(ctx).BlockHeight() + int64(params.UnbondingBlocks)
	if err := k.setProvider(ctx, addr, p); err != nil {
		return p, err
	}
	if err := k.emit(ctx, &types.EventProviderUnbonding{Address: p.Address, UnbondingUntil: p.UnbondingUntil, Reason: reason}); err != nil {
		return p, err
	}
	if k.hooks != nil {
		if err := k.hooks.AfterProviderDeactivated(ctx, addr); err != nil {
			return p, err
		}
	}
	k.Logger(ctx).Info("provider unbonding", "address", p.Address, "until", p.UnbondingUntil, "reason", reason)
	return p, nil
}
