package types

import errorsmod "cosmossdk.io/errors"

// Registered errors of x/provider. Codes start at 2 (1 is the SDK's internal error).
var (
	ErrNotMember            = errorsmod.Register(ModuleName, 2, "signer does not hold the provider role")
	ErrAlreadyRegistered    = errorsmod.Register(ModuleName, 3, "provider already registered")
	ErrProviderNotFound     = errorsmod.Register(ModuleName, 4, "provider not found")
	ErrInsufficientStake    = errorsmod.Register(ModuleName, 5, "stake below the minimum")
	ErrInvalidStake         = errorsmod.Register(ModuleName, 6, "invalid stake amount or denom")
	ErrInvalidEndpoint      = errorsmod.Register(ModuleName, 7, "invalid endpoint URL")
	ErrInvalidCapacity      = errorsmod.Register(ModuleName, 8, "invalid capacity")
	ErrInvalidPrice         = errorsmod.Register(ModuleName, 9, "invalid price")
	ErrInvalidMoniker       = errorsmod.Register(ModuleName, 10, "invalid moniker")
	ErrCapacityInUse        = errorsmod.Register(ModuleName, 11, "capacity below what is already used")
	ErrInsufficientCapacity = errorsmod.Register(ModuleName, 12, "not enough free capacity")
	ErrReleaseExceedsUsed   = errorsmod.Register(ModuleName, 13, "release exceeds what is reserved")
	ErrProviderNotActive    = errorsmod.Register(ModuleName, 14, "provider is not active")
	ErrProviderUnbonding    = errorsmod.Register(ModuleName, 15, "provider is unbonding")
	ErrNotJailed            = errorsmod.Register(ModuleName, 16, "provider is not jailed")
	ErrJailPeriodNotOver    = errorsmod.Register(ModuleName, 17, "jail period not over")
	ErrInvalidFraction      = errorsmod.Register(ModuleName, 18, "slash fraction must be in (0, 1]")
	ErrNotEnoughProviders   = errorsmod.Register(ModuleName, 19, "not enough eligible providers")
	ErrInvalidPickCriteria  = errorsmod.Register(ModuleName, 20, "invalid pick criteria")
	ErrInvalidParams        = errorsmod.Register(ModuleName, 21, "invalid params")
	ErrInvalidGenesis       = errorsmod.Register(ModuleName, 22, "invalid provider genesis")
	ErrStakeInvariantBroken = errorsmod.Register(ModuleName, 23, "module balance differs from the sum of stakes")
	ErrInvalidStatus        = errorsmod.Register(ModuleName, 24, "invalid provider status")
)
