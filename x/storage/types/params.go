package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// Limits that keep one message's cost bounded whatever the params say.
const (
	// MaxProofsPerMsg bounds MsgSubmitProofs.
	MaxProofsPerMsg = 512
	// MaxAuditPath bounds an audit path (2^64 leaves).
	MaxAuditPath = 64
	// MaxDealIDsPerClaim bounds MsgClaimEarnings.deal_ids.
	MaxDealIDsPerClaim = 256
	// GiB is the unit prices are quoted per.
	GiB = 1 << 30
)

// DefaultParams suit a small network with short windows (the localnet);
// production networks raise the windows and timeouts by governance.
func DefaultParams() Params {
	return Params{
		ChunkSize:           1024,
		MaxReplicas:         10,
		MinDurationBlocks:   10,
		MaxDurationBlocks:   100_000_000,
		MaxDealSize:         1 << 40,
		CommitTimeout:       100,
		MaxReassignments:    3,
		ProofWindow:         20,
		ChallengesPerWindow: 100,
		MaxMissed:           3,
		SlashMissed:         math.LegacyNewDecWithPrec(1, 3), // 0.1%
		SlashInvalid:        math.LegacyNewDecWithPrec(5, 2), // 5%
		MaxRepairsPerBlock:  20,
	}
}

// Validate checks every parameter.
func (p Params) Validate() error {
	switch {
	case p.ChunkSize < 32 || p.ChunkSize > 1<<20:
		return errorsmod.Wrapf(ErrInvalidParams, "chunk_size %d: want 32 B to 1 MiB", p.ChunkSize)
	case p.MaxReplicas == 0 || p.MaxReplicas > 64:
		return errorsmod.Wrapf(ErrInvalidParams, "max_replicas %d: want 1 to 64", p.MaxReplicas)
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
	case p.ChallengesPerWindow > 10_000:
		return errorsmod.Wrapf(ErrInvalidParams, "challenges_per_window %d above 10000", p.ChallengesPerWindow)
	case p.MaxMissed == 0:
		return errorsmod.Wrap(ErrInvalidParams, "max_missed must be positive")
	case p.MaxRepairsPerBlock == 0:
		return errorsmod.Wrap(ErrInvalidParams, "max_repairs_per_block must be positive")
	}
	for name, f := range map[string]math.LegacyDec{"slash_missed": p.SlashMissed, "slash_invalid": p.SlashInvalid} {
		if f.IsNil() || f.IsNegative() || f.GT(math.LegacyOneDec()) {
			return errorsmod.Wrapf(ErrInvalidParams, "%s must be in [0, 1]", name)
		}
	}
	return nil
}
