package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
)

// MaxTextLength bounds the free text stored with a grant or a revocation.
const MaxTextLength = 256

var (
	_ sdk.Msg = &MsgGrantRole{}
	_ sdk.Msg = &MsgRevokeRole{}
	_ sdk.Msg = &MsgUpdateParams{}
)

func validateAddresses(authority, address string) error {
	if _, err := sdk.AccAddressFromBech32(authority); err != nil {
		return errorsmod.Wrapf(sdkerrors.ErrInvalidAddress, "authority %q: %v", authority, err)
	}
	if _, err := sdk.AccAddressFromBech32(address); err != nil {
		return errorsmod.Wrapf(sdkerrors.ErrInvalidAddress, "address %q: %v", address, err)
	}
	return nil
}

func validateText(note string) error {
	if len(note) > MaxTextLength {
		return errorsmod.Wrapf(ErrTextTooLong, "%d bytes, at most %d", len(note), MaxTextLength)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgGrantRole) ValidateBasic() error {
	if err := validateAddresses(m.Authority, m.Address); err != nil {
		return err
	}
	if err := m.Role.Validate(); err != nil {
		return err
	}
	return validateText(m.Description)
}

// ValidateBasic checks the message without state.
func (m *MsgRevokeRole) ValidateBasic() error {
	if err := validateAddresses(m.Authority, m.Address); err != nil {
		return err
	}
	if err := m.Role.Validate(); err != nil {
		return err
	}
	return validateText(m.Reason)
}

// ValidateBasic checks the message without state.
func (m *MsgUpdateParams) ValidateBasic() error {
	if _, err := sdk.AccAddressFromBech32(m.Authority); err != nil {
		return errorsmod.Wrapf(sdkerrors.ErrInvalidAddress, "authority %q: %v", m.Authority, err)
	}
	return m.Params.Validate()
}
