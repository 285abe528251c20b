package types

import errorsmod "cosmossdk.io/errors"

// Registered errors of x/storage. Codes start at 2.
var (
	ErrDealNotFound           = errorsmod.Register(ModuleName, 2, "deal not found")
	ErrNotDealOwner           = errorsmod.Register(ModuleName, 3, "signer does not own the deal")
	ErrInvalidSize            = errorsmod.Register(ModuleName, 4, "invalid file size")
	ErrInvalidRoot            = errorsmod.Register(ModuleName, 5, "invalid merkle root")
	ErrInvalidReplicas        = errorsmod.Register(ModuleName, 6, "invalid replica count")
	ErrInvalidDuration        = errorsmod.Register(ModuleName, 7, "invalid duration")
	ErrInvalidPrice           = errorsmod.Register(ModuleName, 8, "invalid price")
	ErrNoProviders            = errorsmod.Register(ModuleName, 9, "not enough eligible providers")
	ErrNotAssigned            = errorsmod.Register(ModuleName, 10, "provider is not assigned to the deal")
	ErrAlreadyCommitted       = errorsmod.Register(ModuleName, 11, "replica already committed")
	ErrCommitTooLate          = errorsmod.Register(ModuleName, 12, "commit deadline passed")
	ErrDealNotLive            = errorsmod.Register(ModuleName, 13, "deal is not pending or active")
	ErrNotChallenged          = errorsmod.Register(ModuleName, 14, "no open sample of this deal and leaf for the provider in the current window")
	ErrAlreadyProven          = errorsmod.Register(ModuleName, 15, "challenge already answered")
	ErrWrongLeafIndex         = errorsmod.Register(ModuleName, 16, "proof is for a leaf that was not challenged")
	ErrMalformedProof         = errorsmod.Register(ModuleName, 17, "malformed proof")
	ErrTooManyProofs          = errorsmod.Register(ModuleName, 18, "too many proofs in one message")
	ErrDuplicateProof         = errorsmod.Register(ModuleName, 19, "duplicate proof for a sample in one message")
	ErrInsufficientFunds      = errorsmod.Register(ModuleName, 20, "insufficient funds for the escrow")
	ErrInvalidParams          = errorsmod.Register(ModuleName, 21, "invalid params")
	ErrInvalidGenesis         = errorsmod.Register(ModuleName, 22, "invalid storage genesis")
	ErrNothingToClaim         = errorsmod.Register(ModuleName, 23, "no replicas to claim for")
	ErrEscrowInconsistent     = errorsmod.Register(ModuleName, 24, "escrow accounting inconsistent")
	ErrWindowClosed           = errorsmod.Register(ModuleName, 25, "proof window closed")
	ErrHoldingsBroken         = errorsmod.Register(ModuleName, 26, "provider holdings index inconsistent")
	ErrInsufficientCollateral = errorsmod.Register(ModuleName, 27, "not enough free stake for the replica's collateral")
	ErrInvalidScheme          = errorsmod.Register(ModuleName, 28, "invalid erasure-coding scheme")
)
