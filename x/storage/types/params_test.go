package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/stratusnet/stratus/x/storage/types"
)

func TestParamsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(p *types.Params)
		valid bool
	}{
		{"defaults", func(*types.Params) {}, true},
		{"smallest chunk", func(p *types.Params) { p.ChunkSize = 32 }, true},
		{"largest chunk", func(p *types.Params) { p.ChunkSize = 1 << 20 }, true},
		{"no slashing", func(p *types.Params) { p.SlashMissed, p.SlashInvalid = math.LegacyZeroDec(), math.LegacyZeroDec() }, true},
		{"slash everything", func(p *types.Params) { p.SlashInvalid = math.LegacyOneDec() }, true},
		{"one sample per window", func(p *types.Params) { p.SamplesPerWindow = 1 }, true},
		{"collateral ratio one", func(p *types.Params) { p.CollateralRatio = math.LegacyOneDec() }, true},
		{"no deal fee", func(p *types.Params) { p.DealFee.Amount = math.ZeroInt() }, true},
		{"one-day duration only", func(p *types.Params) { p.MinDurationBlocks, p.MaxDurationBlocks = 10, 10 }, true},
		{"chunk too small", func(p *types.Params) { p.ChunkSize = 31 }, false},
		{"chunk too large", func(p *types.Params) { p.ChunkSize = 1<<20 + 1 }, false},
		{"zero max replicas", func(p *types.Params) { p.MaxReplicas = 0 }, false},
		{"too many replicas", func(p *types.Params) { p.MaxReplicas = 65 }, false},
		{"zero min duration", func(p *types.Params) { p.MinDurationBlocks = 0 }, false},
		{"min above max duration", func(p *types.Params) { p.MinDurationBlocks, p.MaxDurationBlocks = 11, 10 }, false},
		{"max duration too large", func(p *types.Params) { p.MaxDurationBlocks = 1<<40 + 1 }, false},
		{"zero max deal size", func(p *types.Params) { p.MaxDealSize = 0 }, false},
		{"max deal size too large", func(p *types.Params) { p.MaxDealSize = 1<<50 + 1 }, false},
		{"zero commit timeout", func(p *types.Params) { p.CommitTimeout = 0 }, false},
		{"one-block window", func(p *types.Params) { p.ProofWindow = 1 }, false},
		{"no samples", func(p *types.Params) { p.SamplesPerWindow = 0 }, false},
		{"too many samples", func(p *types.Params) { p.SamplesPerWindow = types.MaxSamplesPerWindow + 1 }, false},
		{"collateral below the value", func(p *types.Params) { p.CollateralRatio = math.LegacyNewDecWithPrec(99, 2) }, false},
		{"nil collateral ratio", func(p *types.Params) { p.CollateralRatio = math.LegacyDec{} }, false},
		{"missed fraction above one", func(p *types.Params) { p.MissedCollateralFraction = math.LegacyNewDec(2) }, false},
		{"negative deal fee", func(p *types.Params) { p.DealFee.Amount = math.NewInt(-1) }, false},
		{"zero expiries per block", func(p *types.Params) { p.MaxExpiriesPerBlock = 0 }, false},
		{"min billable above max size", func(p *types.Params) { p.MinBillableBytes = p.MaxDealSize + 1 }, false},
		{"zero max missed", func(p *types.Params) { p.MaxMissed = 0 }, false},
		{"zero repairs per block", func(p *types.Params) { p.MaxRepairsPerBlock = 0 }, false},
		{"nil slash missed", func(p *types.Params) { p.SlashMissed = math.LegacyDec{} }, false},
		{"negative slash missed", func(p *types.Params) { p.SlashMissed = math.LegacyNewDec(-1) }, false},
		{"slash invalid above one", func(p *types.Params) { p.SlashInvalid = math.LegacyNewDecWithPrec(101, 2) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := types.DefaultParams()
			tc.edit(&p)
			err := p.Validate()
			if tc.valid {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, types.ErrInvalidParams)
			}
		})
	}
}
