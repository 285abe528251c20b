package keeper_test

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

func seed(i int) []byte { return binary.BigEndian.AppendUint64([]byte("seed"), uint64(i)) }

func TestPickIsDeterministic(t *testing.T) {
	f := newFixture(t)
	for i := range 40 {
		f.registered(t, minStake*int64(1+i%5))
	}
	c := types.PickCriteria{Count: 3, Seed: []byte("block 7 deal 12")}

	first, err := f.k.PickProviders(f.ctx, c)
	require.NoError(t, err)
	second, err := f.k.PickProviders(f.ctx, c)
	require.NoError(t, err)

	require.Equal(t, first, second)
	distinct := map[string]bool{}
	for i := range 20 {
		c.Seed = seed(i)
		got, err := f.k.PickProviders(f.ctx, c)
		require.NoError(t, err)
		distinct[fmt.Sprint(got)] = true
	}
	require.Greater(t, len(distinct), 15, "different seeds give different picks")
	f.checkInvariant(t)
}

func TestPickFollowsStakeWeights(t *testing.T) {
	f := newFixture(t)
	weights := []int64{1, 2, 3, 4}
	addrs := make([]sdk.AccAddress, len(weights))
	for i, w := range weights {
		addrs[i] = f.registered(t, w*minStake)
	}
	const draws = 20_000
	counts := map[string]int{}

	for i := range draws {
		got, err := f.k.PickProviders(f.ctx, types.PickCriteria{Count: 1, Seed: seed(i)})
		require.NoError(t, err)
		counts[string(got[0])]++
	}

	// Pearson's chi-squared with 3 degrees of freedom: 16.27 is the 0.999
	// quantile. The seeds are fixed, so the outcome is too.
	chi2 := 0.0
	for i, w := range weights {
		expected := float64(draws) * float64(w) / 10
		d := float64(counts[string(addrs[i])]) - expected
		chi2 += d * d / expected
	}
	require.Less(t, chi2, 16.27, "counts %v", counts)
	f.checkInvariant(t)
}

func TestPickTakesEveryEligibleProviderWithSkewedStakes(t *testing.T) {
	f := newFixture(t)
	small := f.registered(t, minStake)
	big := f.registered(t, 10_000*minStake)

	got, err := f.k.PickProviders(f.ctx, types.PickCriteria{Count: 2, Seed: []byte("s")})

	require.NoError(t, err)
	require.ElementsMatch(t, []sdk.AccAddress{small, big}, got)
	f.checkInvariant(t)
}

func TestPickAppliesFilters(t *testing.T) {
	f := newFixture(t)
	var eligible []sdk.AccAddress
	for range 5 {
		eligible = append(eligible, f.registered(t, minStake))
	}
	full := f.registered(t, 50*minStake)
	p := f.provider(t, full)
	require.NoError(t, f.k.ReserveStorage(f.ctx, full, p.StorageCapacity-10))
	noSlots := f.registered(t, 50*minStake)
	require.NoError(t, f.k.ReserveComputeSlots(f.ctx, noSlots, f.provider(t, noSlots).ComputeSlots))
	pricey := f.registered(t, 50*minStake)
	m := updateMsg(f.provider(t, pricey))
	m.StoragePrice = sdk.NewDecCoinFromDec(denom, sdkmath.LegacyNewDec(5))
	m.ComputePrice = sdk.NewInt64Coin(denom, 1_000_000)
	_, err := f.msgs.UpdateProvider(f.ctx, m)
	require.NoError(t, err)
	excluded := f.registered(t, 50*minStake)
	f.jailed(t)
	unbonding := f.registered(t, 50*minStake)
	_, err = f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: unbonding.String()})
	require.NoError(t, err)
	maxStorage, maxCompute := sdkmath.LegacyNewDec(1), sdkmath.NewInt(5000)

	for i := range 30 {
		got, err := f.k.PickProviders(f.ctx, types.PickCriteria{
			Count: 5, Seed: seed(i), StorageBytes: 1 << 20, ComputeSlots: 1,
			MaxStoragePrice: &maxStorage, MaxComputePrice: &maxCompute, Exclude: []sdk.AccAddress{excluded},
		})

		require.NoError(t, err)
		require.ElementsMatch(t, eligible, got, "only the five eligible providers, each once")
	}
	_, err = f.k.PickProviders(f.ctx, types.PickCriteria{
		Count: 6, Seed: seed(1), StorageBytes: 1 << 20, ComputeSlots: 1,
		MaxStoragePrice: &maxStorage, MaxComputePrice: &maxCompute, Exclude: []sdk.AccAddress{excluded},
	})
	require.ErrorIs(t, err, types.ErrNotEnoughProviders)
	f.checkInvariant(t)
}

func TestPickTriesPreferredFirst(t *testing.T) {
	f := newFixture(t)
	for range 20 {
		f.registered(t, 100*minStake)
	}
	holderA, holderB := f.registered(t, minStake), f.registered(t, minStake)
	fullHolder := f.registered(t, minStake)
	require.NoError(t, f.k.ReserveComputeSlots(f.ctx, fullHolder, f.provider(t, fullHolder).ComputeSlots))
	prefer := []sdk.AccAddress{fullHolder, holderA, holderB}

	for i := range 10 {
		got, err := f.k.PickProviders(f.ctx, types.PickCriteria{Count: 3, Seed: seed(i), ComputeSlots: 1, Prefer: prefer})

		require.NoError(t, err)
		require.Len(t, got, 3)
		require.ElementsMatch(t, []sdk.AccAddress{holderA, holderB}, got[:2], "eligible preferred providers come first")
		require.NotContains(t, got[2:], fullHolder)
		require.NotContains(t, got[2:], holderA)
		require.NotContains(t, got[2:], holderB)
	}
	f.checkInvariant(t)
}

func TestPickRejectsBadCriteria(t *testing.T) {
	f := newFixture(t)
	f.registered(t, minStake)
	neg := sdkmath.NewInt(-1)

	for _, c := range []types.PickCriteria{
		{Count: 0},
		{Count: types.MaxPickCount + 1},
		{Count: 1, MaxComputePrice: &neg},
		{Count: 1, Prefer: make([]sdk.AccAddress, types.MaxPreferred+1)},
	} {
		_, err := f.k.PickProviders(f.ctx, c)
		require.ErrorIs(t, err, types.ErrInvalidPickCriteria)
	}
	_, err := f.k.PickProviders(f.ctx, types.PickCriteria{Count: 2})
	require.ErrorIs(t, err, types.ErrNotEnoughProviders)
	f.checkInvariant(t)
}

// TestPickTreeMatchesNaiveWalk changes stakes and statuses at random and
// checks after each step that the Fenwick descent finds the same slot as a
// linear walk over the slot weights, for random weight points.
func TestPickTreeMatchesNaiveWalk(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewSource(7))
	var addrs []sdk.AccAddress
	for step := range 300 {
		switch op := rng.Intn(6); {
		case op <= 1 || len(addrs) < 3:
			addrs = append(addrs, f.registered(t, minStake*int64(1+rng.Intn(9))))
		case op == 2:
			a := addrs[rng.Intn(len(addrs))]
			_, _ = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Provider: a.String(), Amount: sdk.NewInt64Coin(denom, int64(rng.Intn(1_000_000)+1))})
		case op == 3:
			a := addrs[rng.Intn(len(addrs))]
			_, _ = f.k.Slash(f.ctx, a, sdkmath.LegacyNewDecWithPrec(int64(1+rng.Intn(50)), 2), "random")
		case op == 4:
			a := addrs[rng.Intn(len(addrs))]
			_, _ = f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: a.String()})
		default:
			a := addrs[rng.Intn(len(addrs))]
			_, _ = f.msgs.AddStake(f.ctx, &types.MsgAddStake{Provider: a.String(), Amount: sdk.NewInt64Coin(denom, minStake)})
			f.atHeight(f.ctx.BlockHeight() + int64(types.DefaultJailBlocks))
			_, _ = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Provider: a.String()})
		}
		f.checkInvariant(t)

		n, err := f.k.SlotCount.Get(f.ctx)
		if err != nil || n == 0 {
			continue
		}
		cumulative := make([]sdkmath.Int, n+1)
		cumulative[0] = sdkmath.ZeroInt()
		for s := uint64(1); s <= n; s++ {
			w, err := f.k.SlotWeight.Get(f.ctx, s)
			require.NoError(t, err)
			cumulative[s] = cumulative[s-1].Add(w)
		}
		// Random points, and both sides of every slot boundary, where an
		// off-by-one in the descent would show.
		points := []sdkmath.Int{sdkmath.ZeroInt(), cumulative[n].SubRaw(1)}
		for s := uint64(1); s < n; s++ {
			points = append(points, cumulative[s].SubRaw(1), cumulative[s])
		}
		for range 5 {
			points = append(points, sdkmath.NewInt(rng.Int63n(cumulative[n].Int64())))
		}
		for _, r := range points {
			want := uint64(1)
			for cumulative[want].LTE(r) {
				want++
			}
			got, err := f.k.TreeFind(f.ctx, r)
			require.NoError(t, err)
			require.Equal(t, want, got, "step %d, point %s", step, r)
		}
	}
}

// BenchmarkPickProviders measures one pick of 3 storage providers among n
// active ones. gas/op is the store gas the pick consumes (reads cost gas per
// access and per byte), a proxy for store work: it grows with log n only.
func BenchmarkPickProviders(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000} {
		b.Run(fmt.Sprintf("providers=%d", n), func(b *testing.B) {
			f := newFixture(b)
			for i := range n {
				f.registered(b, minStake*int64(1+i%10))
			}
			maxPrice := sdkmath.LegacyNewDec(1)
			c := types.PickCriteria{Count: 3, StorageBytes: 1 << 30, MaxStoragePrice: &maxPrice}
			reads := uint64(0)
			b.ResetTimer()
			for i := range b.N {
				c.Seed = seed(i)
				meter := storetypes.NewInfiniteGasMeter()
				ctx := f.ctx.WithGasMeter(meter)
				if _, err := f.k.PickProviders(ctx, c); err != nil {
					b.Fatal(err)
				}
				reads += meter.GasConsumed()
			}
			b.ReportMetric(float64(reads)/float64(b.N), "gas/op")
		})
	}
}
