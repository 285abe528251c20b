package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// ReserveStorage reserves bytes of an ACTIVE provider's free storage.
func (k *Keeper) ReserveStorage(ctx context.Context, addr sdk.AccAddress, bytes uint64) error {
	p, err := k.GetProvider(ctx, addr)
	if err != nil {
		return err
	}
	if !p.TakesNewWork() {
		return errorsmod.Wrapf(types.ErrProviderNotActive, "%s is %s", addr, p.Status)
	}
	if bytes > p.FreeStorage() {
		return errorsmod.Wrapf(types.ErrInsufficientCapacity, "%s has %d bytes free, %d asked", addr, p.FreeStorage(), bytes)
	}
	p.StorageUsed += bytes
	return k.setProvider(ctx, addr, p)
}

// ReleaseStorage returns reserved storage. It works in every status so that
// deals can end while their provider is jailed or unbonding.
func (k *Keeper) ReleaseStorage(ctx context.Context, addr sdk.AccAddress, bytes uint64) error {
	p, err := k.GetProvider(ctx, addr)
	if err != nil {
		return err
	}
	if bytes > p.StorageUsed {
		return errorsmod.Wrapf(types.ErrReleaseExceedsUsed, "%s has %d bytes reserved, %d released", addr, p.StorageUsed, bytes)
	}
	p.StorageUsed -= bytes
	return k.setProvider(ctx, addr, p)
}

// ReserveComputeSlots reserves slots of an ACTIVE provider.
func (k *Keeper) ReserveComputeSlots(ctx context.Context, addr sdk.AccAddress, slots uint64) error {
	p, err := k.GetProvider(ctx, addr)
	if err != nil {
		return err
	}
	if !p.TakesNewWork() {
		return errorsmod.Wrapf(types.ErrProviderNotActive, "%s is %s", addr, p.Status)
	}
	if slots > p.FreeComputeSlots() {
		return errorsmod.Wrapf(types.ErrInsufficientCapacity, "%s has %d compute slots free, %d asked", addr, p.FreeComputeSlots(), slots)
	}
	p.ComputeSlotsUsed += slots
	return k.setProvider(ctx, addr, p)
}

// ReleaseComputeSlots returns reserved slots; it works in every status.
func (k *Keeper) ReleaseComputeSlots(ctx context.Context, addr sdk.AccAddress, slots uint64) error {
	p, err := k.GetProvider(ctx, addr)
	if err != nil {
		return err
	}
	if slots > p.ComputeSlotsUsed {
		return errorsmod.Wrapf(types.ErrReleaseExceedsUsed, "%s has %d compute slots reserved, %d released", addr, p.ComputeSlotsUsed, slots)
	}
	p.ComputeSlotsUsed -= slots
	return k.setProvider(ctx, addr, p)
}
