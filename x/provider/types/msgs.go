package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
)

var (
	_ sdk.Msg = &MsgRegisterProvider{}
	_ sdk.Msg = &MsgUpdateProvider{}
	_ sdk.Msg = &MsgAddStake{}
	_ sdk.Msg = &MsgUnbondProvider{}
	_ sdk.Msg = &MsgUnjail{}
	_ sdk.Msg = &MsgUpdateParams{}
)

func validateAddress(field, addr string) error {
	if _, err := sdk.AccAddressFromBech32(addr); err != nil {
		return errorsmod.Wrapf(sdkerrors.ErrInvalidAddress, "%s %q: %v", field, addr, err)
	}
	return nil
}

// validateOffer checks what a provider publishes, without state: lengths
// against params and the price denom are checked by the message server.
func validateOffer(endpoint string, storage, slots uint64, storagePrice sdk.DecCoin, computePrice sdk.Coin) error {
	if err := ValidateEndpoint(endpoint, 0); err != nil {
		return err
	}
	if err := ValidateCapacity(storage, slots); err != nil {
		return err
	}
	return ValidatePrices(storagePrice, computePrice, storagePrice.Denom)
}

// ValidateBasic checks the message without state.
func (m *MsgRegisterProvider) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	if err := validateOffer(m.Endpoint, m.StorageCapacity, m.ComputeSlots, m.StoragePrice, m.ComputePrice); err != nil {
		return err
	}
	if m.Stake.Amount.IsNil() || !m.Stake.IsValid() || !m.Stake.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidStake, "stake %s must be a positive coin", m.Stake)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgUpdateProvider) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	return validateOffer(m.Endpoint, m.StorageCapacity, m.ComputeSlots, m.StoragePrice, m.ComputePrice)
}

// ValidateBasic checks the message without state.
func (m *MsgAddStake) ValidateBasic() error {
	if err := validateAddress("provider", m.Provider); err != nil {
		return err
	}
	if m.Amount.Amount.IsNil() || !m.Amount.IsValid() || !m.Amount.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidStake, "amount %s must be a positive coin", m.Amount)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgUnbondProvider) ValidateBasic() error { return validateAddress("provider", m.Provider) }

// ValidateBasic checks the message without state.
func (m *MsgUnjail) ValidateBasic() error { return validateAddress("provider", m.Provider) }

// ValidateBasic checks the message without state.
func (m *MsgUpdateParams) ValidateBasic() error {
	if err := validateAddress("authority", m.Authority); err != nil {
		return err
	}
	return m.Params.Validate()
}
