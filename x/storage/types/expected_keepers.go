package types

import (
	"context"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	providertypes "github.com/stratusnet/stratus/x/provider/types"
)

// ProviderKeeper is what storage uses from x/provider.
type ProviderKeeper interface {
	GetProvider(ctx context.Context, addr sdk.AccAddress) (providertypes.Provider, error)
	ReserveStorage(ctx context.Context, addr sdk.AccAddress, bytes uint64) error
	ReleaseStorage(ctx context.Context, addr sdk.AccAddress, bytes uint64) error
	Slash(ctx context.Context, addr sdk.AccAddress, fraction math.LegacyDec, reason string) (math.Int, error)
	PickProviders(ctx context.Context, c providertypes.PickCriteria) ([]sdk.AccAddress, error)
	MinStake(ctx context.Context) (math.Int, error)
	LockCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int) error
	UnlockCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int) error
	BurnCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int, reason string) (math.Int, error)
}

// BankKeeper moves escrow in and out of the module account.
type BankKeeper interface {
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
	SendCoinsFromAccountToModule(ctx context.Context, sender sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipient sdk.AccAddress, amt sdk.Coins) error
}

// AccountKeeper gives the escrow module account.
type AccountKeeper interface {
	GetModuleAddress(name string) sdk.AccAddress
}
