package types

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"

	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
)

// MembershipKeeper tells whether an account holds the PROVIDER role.
type MembershipKeeper interface {
	HasRole(ctx context.Context, role membershiptypes.Role, addr sdk.AccAddress) (bool, error)
}

// AccountKeeper gives the module account that escrows stakes.
type AccountKeeper interface {
	GetModuleAddress(name string) sdk.AccAddress
	GetModuleAccount(ctx context.Context, name string) sdk.ModuleAccountI
}

// BankKeeper moves stakes in and out of escrow and burns slashed stake.
type BankKeeper interface {
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
	BurnCoins(ctx context.Context, moduleName string, amt sdk.Coins) error
}
