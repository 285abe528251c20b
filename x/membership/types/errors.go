package types

import errorsmod "cosmossdk.io/errors"

// Registered errors of x/membership. Codes start at 2 (1 is the SDK's internal error).
var (
	ErrInvalidRole    = errorsmod.Register(ModuleName, 2, "invalid role")
	ErrAlreadyMember  = errorsmod.Register(ModuleName, 3, "address already holds this role")
	ErrNotMember      = errorsmod.Register(ModuleName, 4, "address does not hold this role")
	ErrRoleCapReached = errorsmod.Register(ModuleName, 5, "role cap reached")
	ErrNotPermitted   = errorsmod.Register(ModuleName, 6, "signer lacks the role this message needs")
	ErrLastValidator  = errorsmod.Register(ModuleName, 7, "cannot revoke the last bonded validator")
	ErrInvalidGenesis = errorsmod.Register(ModuleName, 8, "invalid membership genesis")
	ErrNestingTooDeep = errorsmod.Register(ModuleName, 9, "authz exec nested too deep")
	ErrTextTooLong    = errorsmod.Register(ModuleName, 10, "description or reason too long")
)
