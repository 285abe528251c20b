package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultGenesisState has default params and no members.
func DefaultGenesisState() *GenesisState {
	return &GenesisState{Params: DefaultParams()}
}

// Validate checks addresses, roles, duplicates and the caps.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	seen := make(map[string]bool, len(gs.Members))
	counts := map[Role]uint32{}
	for i, m := range gs.Members {
		if _, err := sdk.AccAddressFromBech32(m.Address); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "member %d: address %q: %v", i, m.Address, err)
		}
		if err := m.Role.Validate(); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "member %d (%s): %v", i, m.Address, err)
		}
		if err := validateText(m.Description); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "member %d (%s): %v", i, m.Address, err)
		}
		key := m.Role.String() + "/" + m.Address
		if seen[key] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "duplicate member %s with role %s", m.Address, m.Role.ShortName())
		}
		seen[key] = true
		counts[m.Role]++
		if c := gs.Params.Cap(m.Role); c > 0 && counts[m.Role] > c {
			return errorsmod.Wrapf(ErrInvalidGenesis, "%d %s members exceed the cap of %d", counts[m.Role], m.Role.ShortName(), c)
		}
	}
	return nil
}
