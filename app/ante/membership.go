// Package ante holds Stratus's ante decorators.
package ante

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
)

// MaxExecDepth bounds how deeply authz.MsgExec may nest inside one tx. The
// gate walks every level; a bound keeps that walk cheap and rejects
// pathological transactions outright.
const MaxExecDepth = 6

// MembershipChecker is what the gate needs from x/membership.
type MembershipChecker interface {
	HasRole(ctx context.Context, role membershiptypes.Role, addr sdk.AccAddress) (bool, error)
}

// MembershipGateDecorator rejects staking messages that would let an account
// without the VALIDATOR role into the validator set: creating a validator,
// unjailing one, and delegating (or redelegating, or cancelling an unbonding
// back) to one. Messages inside authz.MsgExec are checked at any depth, so
// authz grants cannot bypass the gate.
type MembershipGateDecorator struct {
	members MembershipChecker
}

// NewMembershipGateDecorator creates the decorator.
func NewMembershipGateDecorator(m MembershipChecker) MembershipGateDecorator {
	return MembershipGateDecorator{members: m}
}

// AnteHandle implements sdk.AnteDecorator.
func (d MembershipGateDecorator) AnteHandle(ctx sdk.Context, tx sdk.Tx, simulate bool, next sdk.AnteHandler) (sdk.Context, error) {
	if err := d.checkMsgs(ctx, tx.GetMsgs(), 0); err != nil {
		return ctx, err
	}
	return next(ctx, tx, simulate)
}

func (d MembershipGateDecorator) checkMsgs(ctx sdk.Context, msgs []sdk.Msg, depth int) error {
	for _, msg := range msgs {
		if err := d.checkMsg(ctx, msg, depth); err != nil {
			return err
		}
	}
	return nil
}

func (d MembershipGateDecorator) checkMsg(ctx sdk.Context, msg sdk.Msg, depth int) error {
	switch m := msg.(type) {
	case *authz.MsgExec:
		if depth >= MaxExecDepth {
			return errorsmod.Wrapf(membershiptypes.ErrNestingTooDeep, "more than %d levels of authz exec", MaxExecDepth)
		}
		inner, err := m.GetMessages()
		if err != nil {
			return err
		}
		return d.checkMsgs(ctx, inner, depth+1)
	case *stakingtypes.MsgCreateValidator:
		return d.requireValidator(ctx, m.ValidatorAddress, "create a validator")
	case *slashingtypes.MsgUnjail:
		return d.requireValidator(ctx, m.ValidatorAddr, "unjail")
	case *stakingtypes.MsgDelegate:
		return d.requireValidator(ctx, m.ValidatorAddress, "receive delegations")
	case *stakingtypes.MsgBeginRedelegate:
		return d.requireValidator(ctx, m.ValidatorDstAddress, "receive delegations")
	case *stakingtypes.MsgCancelUnbondingDelegation:
		return d.requireValidator(ctx, m.ValidatorAddress, "receive delegations")
	}
	return nil
}

// requireValidator checks that the operator behind valoper holds ROLE_VALIDATOR.
func (d MembershipGateDecorator) requireValidator(ctx sdk.Context, valoper, action string) error {
	valAddr, err := sdk.ValAddressFromBech32(valoper)
	if err != nil {
		return errorsmod.Wrapf(membershiptypes.ErrNotPermitted, "validator address %q: %v", valoper, err)
	}
	ok, err := d.members.HasRole(ctx, membershiptypes.Role_ROLE_VALIDATOR, sdk.AccAddress(valAddr))
	if err != nil {
		return err
	}
	if !ok {
		return errorsmod.Wrapf(membershiptypes.ErrNotPermitted,
			"%s (account %s) may not %s: it does not hold the validator role; ask the network authority to grant it (tx membership grant-role)",
			valoper, sdk.AccAddress(valAddr), action)
	}
	return nil
}
