package types

import errorsmod "cosmossdk.io/errors"

// Registered errors of x/compute. Codes start at 2.
var (
	ErrJobNotFound        = errorsmod.Register(ModuleName, 2, "job not found")
	ErrNotJobOwner        = errorsmod.Register(ModuleName, 3, "signer does not own the job")
	ErrInvalidProgram     = errorsmod.Register(ModuleName, 4, "invalid program")
	ErrInvalidInputs      = errorsmod.Register(ModuleName, 5, "invalid inputs")
	ErrInvalidArgs        = errorsmod.Register(ModuleName, 6, "invalid args or env")
	ErrInvalidLimits      = errorsmod.Register(ModuleName, 7, "invalid limits")
	ErrInvalidExecutors   = errorsmod.Register(ModuleName, 8, "invalid executor count")
	ErrInvalidPrice       = errorsmod.Register(ModuleName, 9, "invalid price")
	ErrNoProviders        = errorsmod.Register(ModuleName, 10, "not enough eligible compute providers")
	ErrInsufficientFunds  = errorsmod.Register(ModuleName, 11, "insufficient funds for the escrow")
	ErrNotExecutor        = errorsmod.Register(ModuleName, 12, "provider is not an executor of the job")
	ErrWrongPhase         = errorsmod.Register(ModuleName, 13, "job is not in the phase this message belongs to")
	ErrAlreadyCommitted   = errorsmod.Register(ModuleName, 14, "executor already committed")
	ErrAlreadyRevealed    = errorsmod.Register(ModuleName, 15, "executor already revealed")
	ErrCommitmentMismatch = errorsmod.Register(ModuleName, 16, "revealed result does not match the commitment")
	ErrInvalidCommitment  = errorsmod.Register(ModuleName, 17, "invalid commitment")
	ErrInvalidResult      = errorsmod.Register(ModuleName, 18, "invalid result")
	ErrCannotCancel       = errorsmod.Register(ModuleName, 19, "job cannot be cancelled once an executor committed")
	ErrJobClosed          = errorsmod.Register(ModuleName, 20, "job is finished")
	ErrInvalidParams      = errorsmod.Register(ModuleName, 21, "invalid params")
	ErrInvalidGenesis     = errorsmod.Register(ModuleName, 22, "invalid compute genesis")
	ErrInvalidStoreOutput = errorsmod.Register(ModuleName, 23, "invalid store_output")
	ErrEscrowInconsistent = errorsmod.Register(ModuleName, 24, "escrow accounting inconsistent")
	ErrDeadlinePassed     = errorsmod.Register(ModuleName, 25, "the phase's deadline passed")
)
