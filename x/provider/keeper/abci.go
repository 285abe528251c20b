package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// EndBlocker returns the stakes whose unbonding ends at or before this block
// and removes those providers. It reads only the due entries of the
// unbonding index: its work is proportional to what is due.
func (k *Keeper) EndBlocker(ctx context.Context) error {
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	rng := new(collections.Range[collections.Pair[int64, sdk.AccAddress]]).
		StartInclusive(collections.PairPrefix[int64, sdk.AccAddress](1)).
		EndExclusive(collections.PairPrefix[int64, sdk.AccAddress](height + 1))
	it, err := k.Providers.Indexes.Unbonding.Iterate(ctx, rng)
	if err != nil {
		return err
	}
	due, err := it.PrimaryKeys()
	if err != nil {
		return err
	}
	for _, addr := range due {
		if err := k.completeUnbonding(ctx, addr); err != nil {
			return err
		}
	}
	return nil
}

// unbondingRecheck is how many blocks a provider's unbonding waits when it
// still holds compute slots of open jobs.
const unbondingRecheck = 10

func (k *Keeper) completeUnbonding(ctx context.Context, addr sdk.AccAddress) error {
	p, err := k.GetProvider(ctx, addr)
	if err != nil {
		return err
	}
	if p.ComputeSlotsUsed > 0 || p.StorageUsed > 0 {
		// A job it committed to has yet to be judged, or a replica it holds
		// has no committed successor yet: keep the stake at risk until then,
		// and look again a little later.
		p.UnbondingUntil = sdk.UnwrapSDKContext(ctx).BlockHeight() + unbondingRecheck
		k.Logger(ctx).Info("provider unbonding waits for its obligations", "address", p.Address,
			"compute_slots_used", p.ComputeSlotsUsed, "storage_used", p.StorageUsed, "until", p.UnbondingUntil)
		return k.setProvider(ctx, addr, p)
	}
	if p.Stake.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, addr, sdk.NewCoins(k.stakeCoin(p.Stake))); err != nil {
			return err
		}
	}
	if err := k.removeProvider(ctx, addr); err != nil {
		return err
	}
	// A provider that registers again starts with the faults it left with.
	if err := k.PastFaults.Set(ctx, addr, p.Faults); err != nil {
		return err
	}
	k.Logger(ctx).Info("provider unbonded", "address", p.Address, "returned", p.Stake)
	return k.emit(ctx, &types.EventProviderUnbonded{Address: p.Address, Returned: k.stakeCoin(p.Stake)})
}
