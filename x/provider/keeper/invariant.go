package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// TotalStake sums every provider's stake. It walks all providers: use it in
// genesis, tests and audits, never per block.
func (k *Keeper) TotalStake(ctx context.Context) (math.Int, error) {
	sum := math.ZeroInt()
	err := k.Providers.Walk(ctx, nil, func(_ sdk.AccAddress, p types.Provider) (bool, error) {
		sum = sum.Add(p.Stake)
		return false, nil
	})
	return sum, err
}

// StakeInvariant checks that the module account holds exactly the sum of
// the stakes, and that the pick tree's total weight is the sum of the ACTIVE
// providers' stakes. It returns ErrStakeInvariantBroken otherwise.
func (k *Keeper) StakeInvariant(ctx context.Context) error {
	stakes := math.ZeroInt()
	active := math.ZeroInt()
	activeCount := uint64(0)
	err := k.Providers.Walk(ctx, nil, func(_ sdk.AccAddress, p types.Provider) (bool, error) {
		stakes = stakes.Add(p.Stake)
		if p.TakesNewWork() && p.Stake.IsPositive() {
			active = active.Add(p.Stake)
			activeCount++
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	balance := k.bank.GetBalance(ctx, k.accounts.GetModuleAddress(types.ModuleName), k.bondDenom)
	if !balance.Amount.Equal(stakes) {
		return errorsmod.Wrapf(types.ErrStakeInvariantBroken, "module account holds %s, stakes sum to %s", balance, k.stakeCoin(stakes))
	}
	total, n, err := k.treeTotal(ctx)
	if err != nil {
		return err
	}
	if !total.Equal(active) || n != activeCount {
		return errorsmod.Wrapf(types.ErrStakeInvariantBroken, "pick tree holds %d providers weighing %s; %d active providers stake %s",
			n, total, activeCount, active)
	}
	return nil
}
