package types

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// StakingKeeper is what membership needs from x/staking to jail a validator
// whose role is revoked.
type StakingKeeper interface {
	GetValidator(ctx context.Context, addr sdk.ValAddress) (stakingtypes.Validator, error)
	GetLastValidators(ctx context.Context) ([]stakingtypes.Validator, error)
	Jail(ctx context.Context, consAddr sdk.ConsAddress) error
}

// MembershipHooks lets other modules react to role changes (x/provider
// deactivates a provider whose role is revoked).
type MembershipHooks interface {
	AfterRoleRevoked(ctx context.Context, addr sdk.AccAddress, role Role) error
}
