package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Limits that keep one message's cost bounded whatever the params say.
const (
	// MaxProofsPerMsg bounds MsgSubmitProofs.
	MaxProofsPerMsg = 512
	// MaxSamplesPerWindow bounds samples_per_window, so a provider's samples
	// and the fresh replicas it may add fit in one message.
	MaxSamplesPerWindow = 256
	// MaxAuditPath bounds an audit path (2^64 leaves).
	MaxAuditPath = 64
	// MaxDealIDsPerClaim bounds MsgClaimEarnings.deal_ids.
	MaxDealIDsPerClaim = 256
	// MaxLabelBytes bounds max_label_bytes, and so every deal's label.
	MaxLabelBytes = 4096
	// GiB is the unit prices are quoted per.
	GiB = 1 << 30
)

// DefaultParams suit a network with 6-second blocks: a window every 10
// minutes with 8 byte-weighted samples per provider catches a provider that
// lost 1% of its bytes within 24 hours with probability above 99.9% (the
// arithmetic is in the x/storage spec). The localnet shortens the windows,
// which only makes detection faster.
func DefaultParams() Params {
	return Params{
		ChunkSize:                1024,
		MaxReplicas:              16,
		MaxDataShards:            12,
		MaxParityShards:          6,
		MinDurationBlocks:        10,
		MaxDurationBlocks:        100_000_000,
		MaxDealSize:              1 << 40,
		CommitTimeout:            100,
		MaxReassignments:         3,
		ProofWindow:              100,
		SamplesPerWindow:         8,
		MaxMissed:                3,
		SlashMissed:              math.LegacyNewDecWithPrec(1, 3), // 0.1%
		SlashInvalid:             math.LegacyNewDecWithPrec(5, 2), // 5%
		MaxRepairsPerBlock:       20,
		CollateralRatio:          math.LegacyNewDec(2),
		MissedCollateralFraction: math.LegacyNewDecWithPrec(1, 1), // 10%
		DealFee:                  sdk.NewCoin(sdk.DefaultBondDenom, math.NewInt(10_000)),
		MinBillableBytes:         1 << 20,
		MaxExpiriesPerBlock:      200,
		MaxLabelBytes:            2048,
	}
}

// Validate checks every parameter.
func (p Params) Validate() error {
	switch {
	case p.ChunkSize < 32 || p.ChunkSize > 1<<20:
		return errorsmod.Wrapf(ErrInvalidParams, "chunk_size %d: want 32 B to 1 MiB", p.ChunkSize)
	case p.MaxReplicas == 0 || p.MaxReplicas > 64:
		return errorsmod.Wrapf(ErrInvalidParams, "max_replicas %d: want 1 to 64", p.MaxReplicas)
	case p.MaxDataShards == 0 || p.MaxDataShards > MaxShards-1:
		return errorsmod.Wrapf(ErrInvalidParams, "max_data_shards %d: want 1 to %d", p.MaxDataShards, MaxShards-1)
	case p.MaxParityShards > MaxShards-1:
		return errorsmod.Wrapf(ErrInvalidParams, "max_parity_shards %d: at most %d", p.MaxParityShards, MaxShards-1)
	case p.MinDurationBlocks == 0 || p.MinDurationBlocks > p.MaxDurationBlocks:
		return errorsmod.Wrapf(ErrInvalidParams, "duration bounds %d..%d", p.MinDurationBlocks, p.MaxDurationBlocks)
	case p.MaxDurationBlocks > 1<<40:
		return errorsmod.Wrapf(ErrInvalidParams, "max_duration_blocks %d too large", p.MaxDurationBlocks)
	case p.MaxDealSize == 0 || p.MaxDealSize > 1<<50:
		return errorsmod.Wrapf(ErrInvalidParams, "max_deal_size %d: want 1 B to 1 PiB", p.MaxDealSize)
	case p.CommitTimeout == 0:
		return errorsmod.Wrap(ErrInvalidParams, "commit_timeout must be positive")
	case p.ProofWindow < 2:
		return errorsmod.Wrap(ErrInvalidParams, "proof_window must be at least 2 blocks")
	case p.SamplesPerWindow == 0 || p.SamplesPerWindow > MaxSamplesPerWindow:
		return errorsmod.Wrapf(ErrInvalidParams, "samples_per_window %d: want 1 to %d", p.SamplesPerWindow, MaxSamplesPerWindow)
	case p.MaxExpiriesPerBlock == 0:
		return errorsmod.Wrap(ErrInvalidParams, "max_expiries_per_block must be positive")
	case p.MinBillableBytes > p.MaxDealSize:
		return errorsmod.Wrapf(ErrInvalidParams, "min_billable_bytes %d above max_deal_size", p.MinBillableBytes)
	case p.MaxMissed == 0:
		return errorsmod.Wrap(ErrInvalidParams, "max_missed must be positive")
	case p.MaxRepairsPerBlock == 0:
		return errorsmod.Wrap(ErrInvalidParams, "max_repairs_per_block must be positive")
	case p.MaxLabelBytes > MaxLabelBytes:
		return errorsmod.Wrapf(ErrInvalidParams, "max_label_bytes %d: at most %d", p.MaxLabelBytes, MaxLabelBytes)
	}
	for name, f := range map[string]math.LegacyDec{
		"slash_missed": p.SlashMissed, "slash_invalid": p.SlashInvalid, "missed_collateral_fraction": p.MissedCollateralFraction,
	} {
		if f.IsNil() || f.IsNegative() || f.GT(math.LegacyOneDec()) {
			return errorsmod.Wrapf(ErrInvalidParams, "%s must be in [0, 1]", name)
		}
	}
	// Below 1, dropping a replica early could cost less collateral than the
	// fees the rest of the deal would pay (x/storage spec, "Cheating never pays").
	if p.CollateralRatio.IsNil() || p.CollateralRatio.LT(math.LegacyOneDec()) || p.CollateralRatio.GT(math.LegacyNewDec(100)) {
		return errorsmod.Wrap(ErrInvalidParams, "collateral_ratio must be in [1, 100]")
	}
	if err := p.DealFee.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidParams, "deal_fee: %v", err)
	}
	return nil
}
