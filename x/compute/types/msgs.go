package types

import (
	"strings"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/stratusnet/stratus/merkle"
)

var (
	_ sdk.Msg = &MsgSubmitJob{}
	_ sdk.Msg = &MsgCommitResult{}
	_ sdk.Msg = &MsgRevealResult{}
	_ sdk.Msg = &MsgCancelJob{}
	_ sdk.Msg = &MsgUpdateParams{}
)

// Bounds checked without state, whatever the params say; the params bound further.
const (
	maxInputsHard   = 256
	maxArgsHard     = 1 << 20
	maxInlineHard   = 4 << 20
	maxExecutorHard = HardMaxExecutors
)

func validAddress(field, addr string) error {
	if _, err := sdk.AccAddressFromBech32(addr); err != nil {
		return errorsmod.Wrapf(sdkerrors.ErrInvalidAddress, "%s %q: %v", field, addr, err)
	}
	return nil
}

// ArgsBytes is the size args and env count against max_args_bytes.
func ArgsBytes(args, env []string) uint64 {
	var n uint64
	for _, s := range args {
		n += uint64(len(s)) + 1
	}
	for _, s := range env {
		n += uint64(len(s)) + 1
	}
	return n
}

// ValidateBasic checks the message without state.
func (m *MsgSubmitJob) ValidateBasic() error {
	if err := validAddress("owner", m.Owner); err != nil {
		return err
	}
	switch {
	case len(m.Program) > 0 && (m.ProgramDealId != 0 || len(m.ProgramRoot) != 0):
		return errorsmod.Wrap(ErrInvalidProgram, "send the program inline or by deal, not both")
	case len(m.Program) > maxInlineHard:
		return errorsmod.Wrapf(ErrInvalidProgram, "inline program of %d bytes", len(m.Program))
	case len(m.Program) == 0 && m.ProgramDealId == 0:
		return errorsmod.Wrap(ErrInvalidProgram, "no program: send it inline or name the deal that stores it")
	case len(m.Program) == 0 && len(m.ProgramRoot) != merkle.HashSize:
		return errorsmod.Wrapf(ErrInvalidProgram, "program_root is %d bytes, want %d", len(m.ProgramRoot), merkle.HashSize)
	}
	if len(m.Inputs) > maxInputsHard {
		return errorsmod.Wrapf(ErrInvalidInputs, "%d inputs", len(m.Inputs))
	}
	seen := make(map[uint64]bool, len(m.Inputs))
	for _, id := range m.Inputs {
		if id == 0 {
			return errorsmod.Wrap(ErrInvalidInputs, "deal id 0")
		}
		if seen[id] {
			return errorsmod.Wrapf(ErrInvalidInputs, "deal %d listed twice", id)
		}
		seen[id] = true
	}
	if ArgsBytes(m.Args, m.Env) > maxArgsHard {
		return errorsmod.Wrap(ErrInvalidArgs, "args and env above 1 MiB")
	}
	for _, a := range m.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return errorsmod.Wrap(ErrInvalidArgs, "an argument contains a NUL byte")
		}
	}
	for _, e := range m.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.IndexByte(e, 0) >= 0 {
			return errorsmod.Wrapf(ErrInvalidArgs, "env entry %q is not KEY=VALUE", e)
		}
	}
	if m.Executors == 0 || m.Executors > maxExecutorHard {
		return errorsmod.Wrapf(ErrInvalidExecutors, "%d executors: want 1 to %d", m.Executors, maxExecutorHard)
	}
	if m.Price.Amount.IsNil() || m.Price.Validate() != nil || !m.Price.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidPrice, "price %s must be a positive amount", m.Price)
	}
	if m.Limits.MemoryBytes == 0 || m.Limits.TimeoutMs == 0 || m.Limits.MaxOutputBytes == 0 || m.Limits.Fuel == 0 {
		return errorsmod.Wrap(ErrInvalidLimits, "memory_bytes, timeout_ms, max_output_bytes and fuel must be positive")
	}
	if m.Limits.Fuel > MaxFuel {
		return errorsmod.Wrapf(ErrInvalidLimits, "fuel above %d", uint64(MaxFuel))
	}
	if so := m.StoreOutput; so != nil {
		switch {
		case so.Replicas == 0:
			return errorsmod.Wrap(ErrInvalidStoreOutput, "at least one replica")
		case so.DurationBlocks == 0:
			return errorsmod.Wrap(ErrInvalidStoreOutput, "duration must be positive")
		case so.MaxPrice.Amount.IsNil() || so.MaxPrice.Validate() != nil || !so.MaxPrice.IsPositive():
			return errorsmod.Wrapf(ErrInvalidStoreOutput, "max_price %s must be a positive amount", so.MaxPrice)
		}
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgCommitResult) ValidateBasic() error {
	if err := validAddress("provider", m.Provider); err != nil {
		return err
	}
	if len(m.Commitment) != CommitmentSize {
		return errorsmod.Wrapf(ErrInvalidCommitment, "%d bytes, want %d", len(m.Commitment), CommitmentSize)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgRevealResult) ValidateBasic() error {
	if err := validAddress("provider", m.Provider); err != nil {
		return err
	}
	if len(m.Result.OutputRoot) != merkle.HashSize {
		return errorsmod.Wrapf(ErrInvalidResult, "output_root is %d bytes, want %d", len(m.Result.OutputRoot), merkle.HashSize)
	}
	if err := ValidateVerdict(m.Result.Verdict); err != nil {
		return err
	}
	if len(m.Salt) < MinSalt || len(m.Salt) > MaxSalt {
		return errorsmod.Wrapf(ErrInvalidResult, "salt is %d bytes, want %d to %d", len(m.Salt), MinSalt, MaxSalt)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgCancelJob) ValidateBasic() error {
	return validAddress("owner", m.Owner)
}

// ValidateBasic checks the message without state.
func (m *MsgUpdateParams) ValidateBasic() error {
	if err := validAddress("authority", m.Authority); err != nil {
		return err
	}
	return m.Params.Validate()
}

// MaxVerdict bounds a result's verdict.
const MaxVerdict = 32

// ValidateVerdict accepts a short lower-case word (letters and underscores).
func ValidateVerdict(v string) error {
	if v == "" || len(v) > MaxVerdict {
		return errorsmod.Wrapf(ErrInvalidResult, "verdict %q: want 1 to %d characters", v, MaxVerdict)
	}
	for _, c := range v {
		if (c < 'a' || c > 'z') && c != '_' {
			return errorsmod.Wrapf(ErrInvalidResult, "verdict %q: only a-z and _", v)
		}
	}
	return nil
}
