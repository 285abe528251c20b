package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/stratusnet/stratus/merkle"
)

var (
	_ sdk.Msg = &MsgCreateDeal{}
	_ sdk.Msg = &MsgCommitReplica{}
	_ sdk.Msg = &MsgSubmitProofs{}
	_ sdk.Msg = &MsgExtendDeal{}
	_ sdk.Msg = &MsgCancelDeal{}
	_ sdk.Msg = &MsgClaimEarnings{}
	_ sdk.Msg = &MsgUpdateParams{}
)

func validAddress(field, addr string) error {
	if _, err := sdk.AccAddressFromBech32(addr); err != nil {
		return errorsmod.Wrapf(sdkerrors.ErrInvalidAddress, "%s %q: %v", field, addr, err)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgCreateDeal) ValidateBasic() error {
	if err := validAddress("owner", m.Owner); err != nil {
		return err
	}
	if len(m.Root) != merkle.HashSize {
		return errorsmod.Wrapf(ErrInvalidRoot, "%d bytes, want %d", len(m.Root), merkle.HashSize)
	}
	if m.Size_ == 0 {
		return errorsmod.Wrap(ErrInvalidSize, "size must be positive")
	}
	if _, err := m.Scheme(); err != nil {
		return err
	}
	if len(m.Label) > MaxLabelBytes {
		return errorsmod.Wrapf(ErrInvalidLabel, "%d bytes, at most %d", len(m.Label), MaxLabelBytes)
	}
	if m.DurationBlocks == 0 {
		return errorsmod.Wrap(ErrInvalidDuration, "duration must be positive")
	}
	// A max_price sent without an amount decodes to a nil Dec, which
	// Validate would dereference.
	if m.MaxPrice.Amount.IsNil() {
		return errorsmod.Wrap(ErrInvalidPrice, "max_price has no amount")
	}
	if err := m.MaxPrice.Validate(); err != nil || !m.MaxPrice.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidPrice, "max_price %s must be a positive amount", m.MaxPrice)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgCommitReplica) ValidateBasic() error {
	return validAddress("provider", m.Provider)
}

// ValidateBasic checks the message without state: sizes of every field,
// and no deal proven twice.
func (m *MsgSubmitProofs) ValidateBasic() error {
	if err := validAddress("provider", m.Provider); err != nil {
		return err
	}
	if len(m.Proofs) == 0 {
		return errorsmod.Wrap(ErrMalformedProof, "no proofs")
	}
	if len(m.Proofs) > MaxProofsPerMsg {
		return errorsmod.Wrapf(ErrTooManyProofs, "%d proofs, at most %d", len(m.Proofs), MaxProofsPerMsg)
	}
	type sample struct{ deal, leaf uint64 }
	seen := make(map[sample]bool, len(m.Proofs))
	for i, p := range m.Proofs {
		key := sample{p.DealId, p.LeafIndex}
		if seen[key] {
			return errorsmod.Wrapf(ErrDuplicateProof, "deal %d leaf %d", p.DealId, p.LeafIndex)
		}
		seen[key] = true
		if len(p.Leaf) == 0 {
			return errorsmod.Wrapf(ErrMalformedProof, "proof %d: empty leaf", i)
		}
		if len(p.AuditPath) > MaxAuditPath {
			return errorsmod.Wrapf(ErrMalformedProof, "proof %d: %d path hashes", i, len(p.AuditPath))
		}
		for j, h := range p.AuditPath {
			if len(h) != merkle.HashSize {
				return errorsmod.Wrapf(ErrMalformedProof, "proof %d: path hash %d has %d bytes", i, j, len(h))
			}
		}
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgExtendDeal) ValidateBasic() error {
	if err := validAddress("owner", m.Owner); err != nil {
		return err
	}
	if m.AdditionalBlocks == 0 || m.AdditionalBlocks > 1<<40 {
		return errorsmod.Wrapf(ErrInvalidDuration, "additional_blocks %d: want 1 to 2^40", m.AdditionalBlocks)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgCancelDeal) ValidateBasic() error {
	return validAddress("owner", m.Owner)
}

// ValidateBasic checks the message without state.
func (m *MsgClaimEarnings) ValidateBasic() error {
	if err := validAddress("provider", m.Provider); err != nil {
		return err
	}
	if len(m.DealIds) > MaxDealIDsPerClaim {
		return errorsmod.Wrapf(ErrInvalidParams, "%d deal ids, at most %d", len(m.DealIds), MaxDealIDsPerClaim)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgUpdateParams) ValidateBasic() error {
	if err := validAddress("authority", m.Authority); err != nil {
		return err
	}
	return m.Params.Validate()
}

// Hashes converts the audit path to merkle hashes (lengths already checked).
func (p StorageProof) Hashes() ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(p.AuditPath))
	for i, b := range p.AuditPath {
		h, err := merkle.HashFromBytes(b)
		if err != nil {
			return nil, errorsmod.Wrapf(ErrMalformedProof, "path hash %d: %v", i, err)
		}
		out[i] = h
	}
	return out, nil
}
