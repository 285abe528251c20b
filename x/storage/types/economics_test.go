package types_test

// The numbers behind x/storage's spec, "Detection" and "Cheating never
// pays", computed from the real params and pricing functions. Run with -v
// to print the tables the spec quotes:
//
//	go test ./x/storage/types/ -run 'TestDetection|TestCheating' -v

import (
	"fmt"
	"math"
	"testing"

	sdkmath "cosmossdk.io/math"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/x/storage/types"
)

// network is a parameter set and the block time it runs at.
type network struct {
	name      string
	params    types.Params
	blockSecs float64
}

func networks() []network {
	def := types.DefaultParams()
	local := types.DefaultParams()
	local.ProofWindow = 10 // scripts/localnet.sh, at ~1 s blocks
	return []network{{"default (6 s blocks)", def, 6}, {"localnet (1 s blocks)", local, 1}}
}

// A provider that lost 1% of its stored bytes is caught within 24 hours
// with probability at least 99.9%: each window draws samples_per_window
// distinct leaves weighted by bytes, so it passes a window only if every
// sample misses the lost 1%, with probability at most 0.99^samples.
func TestDetectionWithin24h(t *testing.T) {
	for _, n := range networks() {
		windows := math.Floor(24 * 3600 / n.blockSecs / float64(n.params.ProofWindow))
		samples := windows * float64(n.params.SamplesPerWindow)
		escape := math.Pow(0.99, samples)
		t.Logf("%s: %.0f windows a day x %d samples = %.0f samples; P(a 1%% loss goes unseen for 24 h) = 0.99^%.0f = %.2e",
			n.name, windows, n.params.SamplesPerWindow, samples, samples, escape)
		require.Less(t, escape, 0.001, n.name)
		// Residual risk (ADR 009): a validator that is also the provider
		// may grind the seed of the windows whose first block it proposes.
		// With 4 validators it controls at most a quarter of them; the
		// other three quarters still catch it.
		require.Less(t, math.Pow(0.99, samples*3/4), 0.001, n.name+", a quarter of the windows ground")
	}
}

// Dropping a replica never pays. The provider saves at most what the
// replica earns (its cost of storage is below its price, or it would not
// offer it). Each window the dropped bytes are sampled with probability
// P = 1-(1-f)^S, where f is the replica's share of the provider's bytes;
// then the provider fails the window, losing that window's income on ALL
// its holdings, and burns max(missed_collateral_fraction x collateral, the
// replica's window income) of collateral. The max_missed-th miss in a row
// burns the rest and drops the replica. So per window:
//
//	saved  <= price x B x W
//	E[loss] = P x (price x H x W + burn)  >=  S x f x price x H x W x (1-(S-1)f/2)
//
// and since f = B / H, E[loss] / saved >= S(1-(S-1)f/2) > 1 for every f.
// The table is for a provider holding 10 TiB (or just the replica, when
// it is larger) with 30 days of the deal left.
func TestCheatingNeverPays(t *testing.T) {
	const holdingsGiB = 10 * 1024
	const priceUstrat = 100 // ustrat per GiB per block: the CLI default and the localnet's
	price := sdkmath.LegacyNewDec(priceUstrat)
	for _, n := range networks() {
		p := n.params
		remaining := uint64(30 * 24 * 3600 / n.blockSecs)
		t.Logf("%s, price %d ustrat/GiB/block, window %d blocks, %d samples, collateral %s x value, 30 days left:",
			n.name, priceUstrat, p.ProofWindow, p.SamplesPerWindow, p.CollateralRatio)
		t.Logf("| replica | share of holdings | P(sampled) per window | saved per window | expected loss per window | collateral at risk | loss / saved |")
		for _, size := range []struct {
			name  string
			bytes uint64
		}{{"1 MiB", 1 << 20}, {"1 GiB", 1 << 30}, {"1 TiB", 1 << 40}} {
			billable := max(size.bytes, p.MinBillableBytes)
			holdings := max(float64(holdingsGiB)*types.GiB, float64(size.bytes))
			f := float64(size.bytes) / holdings
			pSampled := 1 - math.Pow(1-f, float64(p.SamplesPerWindow))

			saved := types.Earned(price, billable, p.ProofWindow)
			windowIncomeAll := types.Earned(price, uint64(holdings), p.ProofWindow)
			collateral := types.EscrowFor(price.Mul(p.CollateralRatio), billable, remaining, 1)
			burn := sdkmath.MaxInt(p.MissedCollateralFraction.MulInt(collateral).TruncateInt(), saved)
			loss := pSampled * (float64(windowIncomeAll.Int64()) + float64(burn.Int64()))

			// Unrounded, so a tiny replica's fraction of a unit still counts.
			savedExact := priceUstrat * float64(billable) / types.GiB * float64(p.ProofWindow)
			ratio := loss / savedExact
			t.Logf("| %s | %.2e | %.2e | %.2f | %.0f | %s | %.1f |", size.name, f, pSampled, savedExact, loss, collateral, ratio)
			require.Greater(t, ratio, 1.0, fmt.Sprintf("%s, %s: dropping must cost more than it saves", n.name, size.name))
			// Collateral alone covers what the rest of the deal would pay.
			require.True(t, collateral.GTE(types.Earned(price, billable, remaining)), "collateral >= remaining value")
		}
	}
}

// Silence is never cheaper than lying: a wrong proof burns all the
// replica's collateral at once and fails the window; staying silent fails
// the window too, burns at least the window's income each time, and the
// max_missed-th miss in a row burns all the collateral that is left.
func TestSilenceCostsAtLeastLying(t *testing.T) {
	p := types.DefaultParams()
	price := sdkmath.LegacyNewDec(100)
	collateral := types.EscrowFor(price.Mul(p.CollateralRatio), 1<<30, 432_000, 1)
	income := types.Earned(price, 1<<30, p.ProofWindow)
	lying := collateral // plus slash_invalid of the stake
	silence := sdkmath.ZeroInt()
	left := collateral
	for miss := uint32(1); miss <= p.MaxMissed; miss++ {
		burn := left
		if miss < p.MaxMissed {
			burn = sdkmath.MinInt(left, sdkmath.MaxInt(p.MissedCollateralFraction.MulInt(left).TruncateInt(), income))
		}
		silence = silence.Add(burn)
		left = left.Sub(burn)
	}
	require.Equal(t, lying, silence, "silence burns the whole collateral too")
	// In stake, lying costs slash_invalid once; silence costs slash_missed
	// for each miss before the last and slash_invalid for the last, which
	// drops the replica. And silence fails max_missed windows of income,
	// lying one.
	stake := sdkmath.LegacyNewDec(1_000_000)
	lyingStake := stake.Mul(p.SlashInvalid)
	silenceStake := sdkmath.LegacyZeroDec()
	stakeLeft := stake
	for miss := uint32(1); miss <= p.MaxMissed; miss++ {
		f := p.SlashMissed
		if miss == p.MaxMissed {
			f = p.SlashInvalid
		}
		silenceStake = silenceStake.Add(stakeLeft.Mul(f))
		stakeLeft = stakeLeft.Sub(stakeLeft.Mul(f))
	}
	require.True(t, silenceStake.GTE(lyingStake), "silence %s, lying %s of the stake", silenceStake, lyingStake)
}
