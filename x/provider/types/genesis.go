package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultGenesisState has default params and no providers.
func DefaultGenesisState() *GenesisState {
	return &GenesisState{Params: DefaultParams()}
}

// Validate checks params and every provider: addresses, duplicates, status
// and the fields that go with it, capacity, prices and stake.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	denom := gs.Params.MinStake.Denom
	seen := make(map[string]bool, len(gs.Providers))
	for i, p := range gs.Providers {
		if err := p.validate(gs.Params, denom); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "provider %d (%s): %v", i, p.Address, err)
		}
		if seen[p.Address] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "duplicate provider %s", p.Address)
		}
		seen[p.Address] = true
		if !p.CollateralLocked.IsNil() && p.CollateralLocked.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "provider %s: negative collateral_locked %s", p.Address, p.CollateralLocked)
		}
	}
	past := make(map[string]bool, len(gs.PastFaults))
	for _, f := range gs.PastFaults {
		if _, err := sdk.AccAddressFromBech32(f.Address); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "past faults of %q: %v", f.Address, err)
		}
		if past[f.Address] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "duplicate past faults of %s", f.Address)
		}
		past[f.Address] = true
	}
	return nil
}

func (p Provider) validate(params Params, denom string) error {
	if _, err := sdk.AccAddressFromBech32(p.Address); err != nil {
		return err
	}
	if err := ValidateMoniker(p.Moniker, params.MaxMonikerLength); err != nil {
		return err
	}
	if err := ValidateEndpoint(p.Endpoint, params.MaxEndpointLength); err != nil {
		return err
	}
	if err := ValidateCapacity(p.StorageCapacity, p.ComputeSlots); err != nil {
		return err
	}
	if p.StorageUsed > p.StorageCapacity || p.ComputeSlotsUsed > p.ComputeSlots {
		return errorsmod.Wrap(ErrInvalidCapacity, "used exceeds capacity")
	}
	if err := ValidatePrices(p.StoragePrice, p.ComputePrice, denom); err != nil {
		return err
	}
	if p.Stake.IsNil() || p.Stake.IsNegative() {
		return errorsmod.Wrap(ErrInvalidStake, "stake must not be negative")
	}
	if err := p.Status.Validate(); err != nil {
		return err
	}
	switch p.Status {
	case ProviderStatus_PROVIDER_STATUS_ACTIVE:
		if p.Stake.LT(params.MinStake.Amount) {
			return errorsmod.Wrapf(ErrInsufficientStake, "active with stake %s below %s", p.Stake, params.MinStake.Amount)
		}
		if p.UnbondingUntil != 0 || p.JailedUntil != 0 {
			return errorsmod.Wrap(ErrInvalidStatus, "active provider with jailed_until or unbonding_until set")
		}
	case ProviderStatus_PROVIDER_STATUS_JAILED:
		if p.JailedUntil <= 0 || p.UnbondingUntil != 0 {
			return errorsmod.Wrap(ErrInvalidStatus, "jailed provider needs jailed_until > 0 and no unbonding_until")
		}
	case ProviderStatus_PROVIDER_STATUS_UNBONDING:
		if p.UnbondingUntil <= 0 {
			return errorsmod.Wrap(ErrInvalidStatus, "unbonding provider needs unbonding_until > 0")
		}
	}
	return nil
}
