package types

import (
	"context"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// ProviderKeeper is what x/storage and x/compute use from x/provider. They
// declare it (or a subset) as their expected keeper; *keeper.Keeper implements it.
type ProviderKeeper interface {
	// GetProvider returns the provider at addr (ErrProviderNotFound if none).
	GetProvider(ctx context.Context, addr sdk.AccAddress) (Provider, error)
	// ReserveStorage reserves bytes of an active provider's free storage.
	ReserveStorage(ctx context.Context, addr sdk.AccAddress, bytes uint64) error
	// ReleaseStorage returns reserved storage; it works in every status.
	ReleaseStorage(ctx context.Context, addr sdk.AccAddress, bytes uint64) error
	// ReserveComputeSlots reserves slots of an active provider.
	ReserveComputeSlots(ctx context.Context, addr sdk.AccAddress, slots uint64) error
	// ReleaseComputeSlots returns reserved slots; it works in every status.
	ReleaseComputeSlots(ctx context.Context, addr sdk.AccAddress, slots uint64) error
	// Slash burns fraction of the stake and counts a fault; it jails the
	// provider when the stake falls below min_stake or faults exceed max_faults.
	// It returns the amount burned.
	Slash(ctx context.Context, addr sdk.AccAddress, fraction math.LegacyDec, reason string) (math.Int, error)
	// PickProviders picks distinct eligible providers, deterministically from
	// the criteria's seed and weighted by stake.
	PickProviders(ctx context.Context, c PickCriteria) ([]sdk.AccAddress, error)
	// LockCollateral locks amount of the provider's free stake (stake -
	// min_stake - locked); ErrInsufficientStake when there is not enough.
	LockCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int) error
	// UnlockCollateral returns locked collateral to free stake; it works in
	// every status and tolerates a provider already removed.
	UnlockCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int) error
	// BurnCollateral burns amount of locked collateral (at most the stake
	// left) and counts a fault; it returns what was burned.
	BurnCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int, reason string) (math.Int, error)
}

// ProviderHooks lets other modules react to provider changes.
type ProviderHooks interface {
	// AfterProviderDeactivated is called when a provider starts unbonding, by
	// its own request or because its PROVIDER role was revoked: it takes no
	// new work and its replicas and jobs should be reassigned.
	AfterProviderDeactivated(ctx context.Context, addr sdk.AccAddress) error
}

// MultiProviderHooks calls several hooks in order, stopping at the first error.
type MultiProviderHooks []ProviderHooks

// AfterProviderDeactivated implements ProviderHooks.
func (m MultiProviderHooks) AfterProviderDeactivated(ctx context.Context, addr sdk.AccAddress) error {
	for _, h := range m {
		if err := h.AfterProviderDeactivated(ctx, addr); err != nil {
			return err
		}
	}
	return nil
}

// PickCriteria says how many providers to pick and which are eligible. Only
// ACTIVE providers are ever picked.
type PickCriteria struct {
	// Count is how many distinct providers to pick (at least 1).
	Count int
	// Seed makes the pick deterministic (e.g. the block hash and a deal id).
	Seed []byte
	// StorageBytes is the free storage each picked provider must have (0: any).
	StorageBytes uint64
	// ComputeSlots is the free compute slots each must have (0: any).
	ComputeSlots uint64
	// MaxStoragePrice, when not nil, excludes providers whose storage price
	// per GiB per block is higher.
	MaxStoragePrice *math.LegacyDec
	// MaxComputePrice, when not nil, excludes providers whose compute price is higher.
	MaxComputePrice *math.Int
	// Exclude lists providers that must not be picked (e.g. current replicas).
	Exclude []sdk.AccAddress
	// Prefer lists providers to try first (e.g. holders of a job's inputs);
	// they are taken in a stake-weighted order before the rest are drawn.
	Prefer []sdk.AccAddress
	// Collateral, when not nil, is the collateral a provider must be able to
	// lock from its free stake to be eligible, given its own offer.
	Collateral func(p Provider) math.Int
}

// MaxPickCount bounds Count so one pick's cost stays small.
const MaxPickCount = 64

// MaxPreferred bounds Prefer: preferred providers are read one by one.
const MaxPreferred = 256
