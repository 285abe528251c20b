package keeper

import (
	"context"
	"errors"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// MinStake is the least stake a provider keeps outside its collateral.
func (k *Keeper) MinStake(ctx context.Context) (math.Int, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return math.Int{}, err
	}
	return params.MinStake.Amount, nil
}

// LockCollateral locks amount of the provider's free stake as collateral
// for storage it takes on. The stake stays in the module account; locking
// only stops it being promised twice or withdrawn.
func (k *Keeper) LockCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int) error {
	if amount.IsNil() || amount.IsNegative() {
		return errorsmod.Wrapf(types.ErrInsufficientStake, "collateral %s", amount)
	}
	if amount.IsZero() {
		return nil
	}
	p, err := k.GetProvider(ctx, addr)
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if free := p.FreeStake(params.MinStake.Amount); free.LT(amount) {
		return errorsmod.Wrapf(types.ErrInsufficientStake, "%s has %s free stake, %s collateral asked", addr, free, amount)
	}
	p.CollateralLocked = p.Locked().Add(amount)
	return k.setProvider(ctx, addr, p)
}

// UnlockCollateral returns collateral to free stake. A provider already
// removed, or one whose lock a slash shrank, is not an error: there is
// nothing (or less) left to unlock.
func (k *Keeper) UnlockCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int) error {
	if amount.IsNil() || !amount.IsPositive() {
		return nil
	}
	p, err := k.GetProvider(ctx, addr)
	if errors.Is(err, types.ErrProviderNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	p.CollateralLocked = math.MaxInt(p.Locked().Sub(amount), math.ZeroInt())
	return k.setProvider(ctx, addr, p)
}

// BurnCollateral burns amount of the provider's locked collateral (never
// more than its stake) and unlocks it. It counts no fault: the stake slash
// of the same fault (x/storage's slash_missed, slash_invalid) does.
func (k *Keeper) BurnCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int, reason string) (math.Int, error) {
	if amount.IsNil() || !amount.IsPositive() {
		return math.ZeroInt(), nil
	}
	p, err := k.GetProvider(ctx, addr)
	if errors.Is(err, types.ErrProviderNotFound) {
		return math.ZeroInt(), nil
	} else if err != nil {
		return math.Int{}, err
	}
	burn := math.MinInt(amount, p.Stake)
	if burn.IsPositive() {
		if err := k.bank.BurnCoins(ctx, types.ModuleName, sdk.NewCoins(k.stakeCoin(burn))); err != nil {
			return math.Int{}, err
		}
	}
	p.Stake = p.Stake.Sub(burn)
	p.CollateralLocked = math.MaxInt(p.Locked().Sub(amount), math.ZeroInt())
	if err := k.setProvider(ctx, addr, p); err != nil {
		return math.Int{}, err
	}
	if err := k.emit(ctx, &types.EventProviderSlashed{
		Address: p.Address, Fraction: math.LegacyZeroDec(), Burned: k.stakeCoin(burn), Stake: k.stakeCoin(p.Stake),
		Faults: p.Faults, Reason: reason,
	}); err != nil {
		return math.Int{}, err
	}
	k.Logger(ctx).Info("provider collateral burned", "address", p.Address, "burned", burn, "reason", reason)
	return burn, nil
}
