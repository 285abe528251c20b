package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

func TestLockCollateralComesFromFreeStakeOnly(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, 3*minStake) // free stake: 2 x min_stake

	require.NoError(t, f.k.LockCollateral(f.ctx, addr, sdkmath.NewInt(minStake)))
	require.NoError(t, f.k.LockCollateral(f.ctx, addr, sdkmath.NewInt(minStake)))
	err := f.k.LockCollateral(f.ctx, addr, sdkmath.OneInt())
	require.ErrorIs(t, err, types.ErrInsufficientStake, "min_stake is never lockable")
	p := f.provider(t, addr)
	require.Equal(t, sdkmath.NewInt(2*minStake), p.Locked())
	require.True(t, p.FreeStake(sdkmath.NewInt(minStake)).IsZero())

	require.NoError(t, f.k.UnlockCollateral(f.ctx, addr, sdkmath.NewInt(minStake)))
	require.Equal(t, sdkmath.NewInt(minStake), f.provider(t, addr).Locked())
	require.Equal(t, sdkmath.NewInt(3*minStake), f.provider(t, addr).Stake, "locking moves no tokens")
	require.ErrorIs(t, f.k.LockCollateral(f.ctx, addr, sdkmath.NewInt(-1)), types.ErrInsufficientStake)
	f.checkInvariant(t)
}

func TestBurnCollateralBurnsStakeAndUnlocks(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, 3*minStake)
	require.NoError(t, f.k.LockCollateral(f.ctx, addr, sdkmath.NewInt(minStake)))

	burned, err := f.k.BurnCollateral(f.ctx, addr, sdkmath.NewInt(minStake/4), "missed window")
	require.NoError(t, err)
	require.Equal(t, sdkmath.NewInt(minStake/4), burned)
	p := f.provider(t, addr)
	require.Equal(t, sdkmath.NewInt(3*minStake-minStake/4), p.Stake)
	require.Equal(t, sdkmath.NewInt(minStake-minStake/4), p.Locked())
	require.Equal(t, sdk.NewCoins(sdk.NewCoin(denom, burned)), f.bank.burned)
	f.checkInvariant(t)

	// A burn never takes more than the stake, and a provider that is gone
	// has nothing left to burn or unlock.
	burned, err = f.k.BurnCollateral(f.ctx, addr, sdkmath.NewInt(10*minStake), "invalid proof")
	require.NoError(t, err)
	require.Equal(t, sdkmath.NewInt(3*minStake-minStake/4), burned)
	require.True(t, f.provider(t, addr).Stake.IsZero())
	require.True(t, f.provider(t, addr).Locked().IsZero())
	stranger := sdk.AccAddress("not-a-provider-00000")
	burned, err = f.k.BurnCollateral(f.ctx, stranger, sdkmath.NewInt(5), "x")
	require.NoError(t, err)
	require.True(t, burned.IsZero())
	require.NoError(t, f.k.UnlockCollateral(f.ctx, stranger, sdkmath.NewInt(5)))
	f.checkInvariant(t)
}

func TestPickSkipsProvidersWithoutFreeStake(t *testing.T) {
	f := newFixture(t)
	rich := f.registered(t, 5*minStake)
	poor := f.registered(t, minStake)
	need := func(types.Provider) sdkmath.Int { return sdkmath.NewInt(minStake) }
	for i := range 20 {
		got, err := f.k.PickProviders(f.ctx, types.PickCriteria{Count: 1, Seed: []byte{byte(i)}, Collateral: need})
		require.NoError(t, err)
		require.Equal(t, []sdk.AccAddress{rich}, got)
	}
	_, err := f.k.PickProviders(f.ctx, types.PickCriteria{Count: 2, Seed: []byte{1}, Collateral: need})
	require.ErrorIs(t, err, types.ErrNotEnoughProviders)
	_ = poor
}
