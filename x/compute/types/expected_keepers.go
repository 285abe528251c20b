package types

import (
	"context"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	providertypes "github.com/stratusnet/stratus/x/provider/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// ProviderKeeper is what compute uses from x/provider.
type ProviderKeeper interface {
	GetProvider(ctx context.Context, addr sdk.AccAddress) (providertypes.Provider, error)
	ReserveComputeSlots(ctx context.Context, addr sdk.AccAddress, slots uint64) error
	ReleaseComputeSlots(ctx context.Context, addr sdk.AccAddress, slots uint64) error
	Slash(ctx context.Context, addr sdk.AccAddress, fraction math.LegacyDec, reason string) (math.Int, error)
	PickProviders(ctx context.Context, c providertypes.PickCriteria) ([]sdk.AccAddress, error)
}

// StorageKeeper is what compute uses from x/storage: input and program
// deals, who holds them, and deals for stored outputs.
type StorageKeeper interface {
	GetDeal(ctx context.Context, id uint64) (storagetypes.Deal, error)
	// DealHolders lists the providers holding a committed replica of the deal.
	DealHolders(ctx context.Context, id uint64) ([]sdk.AccAddress, error)
	// ChunkSize is the chunk size new roots are computed with.
	ChunkSize(ctx context.Context) (uint32, error)
	// CheckDealTerms checks a deal's terms against the storage params and
	// returns its escrow.
	CheckDealTerms(ctx context.Context, size uint64, replicas uint32, duration uint64, maxPrice sdk.DecCoin) (sdk.Coin, error)
	// CreateDealWithHolders creates a deal paid by owner whose first replicas
	// are holders, already holding the data, committed at once.
	// chunkSize is the leaf size the root was computed with.
	CreateDealWithHolders(ctx context.Context, msg *storagetypes.MsgCreateDeal, holders []sdk.AccAddress, chunkSize uint32) (*storagetypes.MsgCreateDealResponse, error)
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
