package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Limits that keep one message's cost bounded whatever the params say.
const (
	// MinSalt and MaxSalt bound a reveal's salt.
	MinSalt = 16
	MaxSalt = 64
	// CommitmentSize is a sha256 digest.
	CommitmentSize = 32
	// HardMaxExecutors bounds max_executors.
	HardMaxExecutors = 16
)

// DefaultParams suit a small network with ~1 s blocks (the localnet);
// production networks tune the timeouts by governance.
func DefaultParams() Params {
	return Params{
		MaxInlineProgram: 256 << 10,
		MaxExecutors:     5,
		MaxRetries:       3,
		CommitTimeout:    60,
		RevealTimeout:    20,
		MaxInputs:        16,
		MaxArgsBytes:     16 << 10,
		MaxLimits: Limits{
			MemoryBytes:    1 << 30,
			TimeoutMs:      30_000,
			MaxOutputBytes: 256 << 20,
			// Go programs spend about 150 fuel per byte counting words and
			// run about 20 billion a second on one core (docs/benchmarks.md):
			// 10^12 is about a minute.
			Fuel: 1_000_000_000_000,
		},
		SlashMissed:  math.LegacyNewDecWithPrec(1, 3), // 0.1%
		SlashDissent: math.LegacyNewDecWithPrec(5, 2), // 5%
		CancelFee:    sdk.NewCoin(sdk.DefaultBondDenom, math.NewInt(1000)),
		// What an executor fetches within the commit timeout on a modest
		// link: a job naming more cannot be run in time, and would get
		// honest executors slashed for missing their commits.
		MaxProgramBytes: 64 << 20,
		MaxInputBytes:   4 << 30,
		// 4 GiB of inputs add 40,960 ustrat per executor: about 20 runs'
		// price for moving and caching 4 GiB.
		InputPricePerMib: sdk.NewCoin(sdk.DefaultBondDenom, math.NewInt(10)),
	}
}

// MaxFuel bounds any fuel budget: the executor keeps fuel in a signed
// 64-bit counter.
const MaxFuel = 1 << 62

// Validate checks every parameter.
func (p Params) Validate() error {
	switch {
	case p.MaxInlineProgram > 4<<20:
		return errorsmod.Wrapf(ErrInvalidParams, "max_inline_program %d above 4 MiB", p.MaxInlineProgram)
	case p.MaxExecutors == 0 || p.MaxExecutors > HardMaxExecutors:
		return errorsmod.Wrapf(ErrInvalidParams, "max_executors %d: want 1 to %d", p.MaxExecutors, HardMaxExecutors)
	case p.MaxRetries > 64:
		return errorsmod.Wrapf(ErrInvalidParams, "max_retries %d above 64", p.MaxRetries)
	case p.CommitTimeout == 0 || p.RevealTimeout == 0:
		return errorsmod.Wrap(ErrInvalidParams, "commit_timeout and reveal_timeout must be positive")
	case p.CommitTimeout > 1_000_000 || p.RevealTimeout > 1_000_000:
		return errorsmod.Wrap(ErrInvalidParams, "timeouts above 1000000 blocks")
	case p.MaxInputs == 0 || p.MaxInputs > 256:
		return errorsmod.Wrapf(ErrInvalidParams, "max_inputs %d: want 1 to 256", p.MaxInputs)
	case p.MaxArgsBytes > 1<<20:
		return errorsmod.Wrapf(ErrInvalidParams, "max_args_bytes %d above 1 MiB", p.MaxArgsBytes)
	case p.MaxLimits.MemoryBytes < 1<<16 || p.MaxLimits.TimeoutMs == 0 || p.MaxLimits.MaxOutputBytes == 0 || p.MaxLimits.Fuel == 0:
		return errorsmod.Wrap(ErrInvalidParams, "max_limits: memory at least 64 KiB, timeout, output and fuel positive")
	case p.MaxLimits.Fuel > MaxFuel:
		return errorsmod.Wrapf(ErrInvalidParams, "max_limits.fuel above %d", uint64(MaxFuel))
	case p.MaxLimits.MemoryBytes > 4<<30:
		return errorsmod.Wrap(ErrInvalidParams, "max_limits.memory_bytes above 4 GiB (wasm32)")
	}
	for name, f := range map[string]math.LegacyDec{"slash_missed": p.SlashMissed, "slash_dissent": p.SlashDissent} {
		if f.IsNil() || f.IsNegative() || f.GT(math.LegacyOneDec()) {
			return errorsmod.Wrapf(ErrInvalidParams, "%s must be in [0, 1]", name)
		}
	}
	if p.MaxProgramBytes == 0 || p.MaxInputBytes == 0 {
		return errorsmod.Wrap(ErrInvalidParams, "max_program_bytes and max_input_bytes must be positive")
	}
	if p.MaxInlineProgram > p.MaxProgramBytes {
		return errorsmod.Wrapf(ErrInvalidParams, "max_inline_program %d above max_program_bytes %d", p.MaxInlineProgram, p.MaxProgramBytes)
	}
	if err := p.CancelFee.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidParams, "cancel_fee: %v", err)
	}
	if err := p.InputPricePerMib.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidParams, "input_price_per_mib: %v", err)
	}
	if p.InputPricePerMib.Amount.BigInt().BitLen() > 64 {
		return errorsmod.Wrapf(ErrInvalidParams, "input_price_per_mib %s is absurdly large", p.InputPricePerMib)
	}
	return nil
}

// InputFee is what a job pays each agreeing executor for fetching
// inputAndProgramBytes: input_price_per_mib per started MiB.
func (p Params) InputFee(inputAndProgramBytes uint64) math.Int {
	mib := (inputAndProgramBytes + 1<<20 - 1) >> 20
	return p.InputPricePerMib.Amount.Mul(math.NewIntFromUint64(mib))
}

// Check reports whether l is within the maximum limits m; zero fields are invalid.
func (l Limits) Check(m Limits) error {
	switch {
	case l.MemoryBytes < 1<<16 || l.MemoryBytes > m.MemoryBytes:
		return errorsmod.Wrapf(ErrInvalidLimits, "memory_bytes %d: want 64 KiB to %d", l.MemoryBytes, m.MemoryBytes)
	case l.TimeoutMs == 0 || l.TimeoutMs > m.TimeoutMs:
		return errorsmod.Wrapf(ErrInvalidLimits, "timeout_ms %d: want 1 to %d", l.TimeoutMs, m.TimeoutMs)
	case l.MaxOutputBytes == 0 || l.MaxOutputBytes > m.MaxOutputBytes:
		return errorsmod.Wrapf(ErrInvalidLimits, "max_output_bytes %d: want 1 to %d", l.MaxOutputBytes, m.MaxOutputBytes)
	case l.Fuel == 0 || l.Fuel > m.Fuel:
		return errorsmod.Wrapf(ErrInvalidLimits, "fuel %d: want 1 to %d", l.Fuel, m.Fuel)
	}
	return nil
}
