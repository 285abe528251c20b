package types

import (
	"cosmossdk.io/math"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Bounds on published capacity. They keep every sum of reservations within
// uint64 and reject values no real machine offers.
const (
	// MaxStorageCapacity is 2^60 bytes (1 EiB).
	MaxStorageCapacity uint64 = 1 << 60
	// MaxComputeSlots bounds concurrent jobs per provider.
	MaxComputeSlots uint64 = 1 << 20
)

// ValidateCapacity checks the published storage and compute capacity.
func ValidateCapacity(storage, slots uint64) error {
	if storage > MaxStorageCapacity {
		return errorsmod.Wrapf(ErrInvalidCapacity, "storage_capacity %d exceeds %d bytes", storage, MaxStorageCapacity)
	}
	if slots > MaxComputeSlots {
		return errorsmod.Wrapf(ErrInvalidCapacity, "compute_slots %d exceeds %d", slots, MaxComputeSlots)
	}
	return nil
}

// ValidatePrices checks that both prices are valid, non-negative and quoted in denom.
func ValidatePrices(storage sdk.DecCoin, compute sdk.Coin, denom string) error {
	if storage.Denom != denom {
		return errorsmod.Wrapf(ErrInvalidPrice, "storage_price denom %q, want %q", storage.Denom, denom)
	}
	if storage.Amount.IsNil() || storage.Amount.IsNegative() {
		return errorsmod.Wrapf(ErrInvalidPrice, "storage_price %s must not be negative", storage)
	}
	if compute.Denom != denom {
		return errorsmod.Wrapf(ErrInvalidPrice, "compute_price denom %q, want %q", compute.Denom, denom)
	}
	if compute.Amount.IsNil() || compute.Amount.IsNegative() {
		return errorsmod.Wrapf(ErrInvalidPrice, "compute_price %s must not be negative", compute)
	}
	return nil
}

// ValidateMoniker checks the moniker's length.
func ValidateMoniker(moniker string, maxLen uint32) error {
	if moniker == "" {
		return errorsmod.Wrap(ErrInvalidMoniker, "empty moniker")
	}
	if len(moniker) > int(maxLen) {
		return errorsmod.Wrapf(ErrInvalidMoniker, "%d bytes, at most %d", len(moniker), maxLen)
	}
	return nil
}

// TakesNewWork reports whether the provider may be given new deals and jobs.
func (p Provider) TakesNewWork() bool { return p.Status == ProviderStatus_PROVIDER_STATUS_ACTIVE }

// FreeStorage is the unreserved storage in bytes.
func (p Provider) FreeStorage() uint64 {
	if p.StorageUsed >= p.StorageCapacity {
		return 0
	}
	return p.StorageCapacity - p.StorageUsed
}

// Locked is the stake locked as storage collateral (zero when unset).
func (p Provider) Locked() math.Int {
	if p.CollateralLocked.IsNil() {
		return math.ZeroInt()
	}
	return p.CollateralLocked
}

// FreeStake is the stake that may still be locked as collateral:
// stake - min_stake - collateral already locked, never negative.
func (p Provider) FreeStake(minStake math.Int) math.Int {
	free := p.Stake.Sub(minStake).Sub(p.Locked())
	if free.IsNegative() {
		return math.ZeroInt()
	}
	return free
}

// FreeComputeSlots is the number of unreserved compute slots.
func (p Provider) FreeComputeSlots() uint64 {
	if p.ComputeSlotsUsed >= p.ComputeSlots {
		return 0
	}
	return p.ComputeSlots - p.ComputeSlotsUsed
}

// Validate checks a provider status is one that can be stored.
func (s ProviderStatus) Validate() error {
	switch s {
	case ProviderStatus_PROVIDER_STATUS_ACTIVE, ProviderStatus_PROVIDER_STATUS_JAILED, ProviderStatus_PROVIDER_STATUS_UNBONDING:
		return nil
	default:
		return errorsmod.Wrapf(ErrInvalidStatus, "%d is not ACTIVE, JAILED or UNBONDING", int32(s))
	}
}
