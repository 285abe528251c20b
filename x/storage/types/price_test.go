package types_test

import (
	"math/big"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/stratusnet/stratus/x/storage/types"
)

func TestStorageCostIsExact(t *testing.T) {
	// 2 ustrat per GiB per block, half a GiB, 10 blocks, 3 replicas = 30.
	cost := types.StorageCost(math.LegacyNewDec(2), types.GiB/2, 10, 3)
	require.Equal(t, math.LegacyNewDec(30), cost)
	// A fractional price keeps its fraction: 0.001 × 1 GiB × 1 × 1.
	require.Equal(t, math.LegacyNewDecWithPrec(1, 3), types.StorageCost(math.LegacyNewDecWithPrec(1, 3), types.GiB, 1, 1))
	require.True(t, types.StorageCost(math.LegacyNewDec(5), 0, 10, 1).IsZero())
}

func TestEscrowRoundsUpEarnedRoundsDown(t *testing.T) {
	// 1 ustrat per GiB per block for 1 byte and 1 block is 2^-30 ustrat.
	one := math.LegacyOneDec()
	requireIntEqual(t, math.OneInt(), types.EscrowFor(one, 1, 1, 1), "escrow rounds up")
	requireIntEqual(t, math.ZeroInt(), types.Earned(one, 1, 1), "earnings round down")
	// Exact amounts are not rounded either way.
	requireIntEqual(t, math.NewInt(6), types.EscrowFor(math.LegacyNewDec(2), types.GiB, 3, 1))
	requireIntEqual(t, math.NewInt(6), types.Earned(math.LegacyNewDec(2), types.GiB, 3))
	// Just above an integer.
	requireIntEqual(t, math.NewInt(7), types.EscrowFor(math.LegacyNewDec(2), types.GiB+1, 3, 1))
	requireIntEqual(t, math.NewInt(6), types.Earned(math.LegacyNewDec(2), types.GiB+1, 3))
}

// bigCost is price × size × blocks × replicas / GiB as an exact rational.
func bigCost(price int64, size, blocks uint64, replicas int64) *big.Rat {
	n := new(big.Int).Mul(big.NewInt(price), new(big.Int).SetUint64(size))
	n.Mul(n, new(big.Int).SetUint64(blocks))
	n.Mul(n, big.NewInt(replicas))
	return new(big.Rat).SetFrac(n, big.NewInt(types.GiB))
}

func floorRat(r *big.Rat) math.Int {
	return math.NewIntFromBigInt(new(big.Int).Quo(r.Num(), r.Denom()))
}

func ceilRat(r *big.Rat) math.Int {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return math.NewIntFromBigInt(q)
}

// Against big-rational arithmetic over random inputs: escrow is the exact
// ceiling and earnings the exact floor; settlement, which pays each
// replica Earned(price ≤ max, blocks ≤ duration) in increments, never pays
// more than the escrow.
func TestPriceMathAgainstBigRat(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for range 2000 {
		maxPrice := rng.Int63n(1_000_000_000_000) + 1
		size := uint64(rng.Int63n(1<<40) + 1)
		duration := uint64(rng.Int63n(1_000_000) + 1)
		replicas := uint32(rng.Intn(10) + 1)

		escrow := types.EscrowFor(math.LegacyNewDec(maxPrice), size, duration, replicas)
		requireIntEqual(t, ceilRat(bigCost(maxPrice, size, duration, int64(replicas))), escrow)

		paid := math.ZeroInt()
		for range replicas {
			p := rng.Int63n(maxPrice) + 1
			held := uint64(rng.Int63n(int64(duration)) + 1)
			earned := types.Earned(math.LegacyNewDec(p), size, held)
			requireIntEqual(t, floorRat(bigCost(p, size, held, 1)), earned)
			// Settling in steps pays the same as settling once.
			mid := held / 2
			steps := types.Earned(math.LegacyNewDec(p), size, mid)
			steps = steps.Add(earned.Sub(steps))
			requireIntEqual(t, earned, steps)
			paid = paid.Add(earned)
		}
		require.True(t, paid.LTE(escrow), "paid %s > escrow %s", paid, escrow)
		// Even every replica at max price for the whole duration fits.
		full := types.Earned(math.LegacyNewDec(maxPrice), size, duration).MulRaw(int64(replicas))
		require.True(t, full.LTE(escrow))
	}
}

func requireIntEqual(t *testing.T, want, got math.Int, msg ...any) {
	t.Helper()
	require.True(t, want.Equal(got), append([]any{"want %s, got %s", want, got}, msg...)...)
}
