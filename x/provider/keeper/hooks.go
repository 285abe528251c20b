package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	"github.com/stratusnet/stratus/x/provider/types"
)

// ReasonRoleRevoked is the unbonding reason when the PROVIDER role is revoked.
const ReasonRoleRevoked = "role revoked"

// ReasonRequested is the unbonding reason of MsgUnbondProvider.
const ReasonRequested = "requested"

// MembershipHooks deactivate a provider whose PROVIDER role is revoked.
type MembershipHooks struct {
	k *Keeper
}

var _ membershiptypes.MembershipHooks = MembershipHooks{}

// MembershipHooks returns the hooks to install in x/membership.
func (k *Keeper) MembershipHooks() MembershipHooks { return MembershipHooks{k: k} }

// AfterRoleRevoked starts unbonding the provider when its PROVIDER role is
// revoked. Accounts that never registered, and providers already unbonding,
// are left alone.
func (h MembershipHooks) AfterRoleRevoked(ctx context.Context, addr sdk.AccAddress, role membershiptypes.Role) error {
	if role != membershiptypes.Role_ROLE_PROVIDER {
		return nil
	}
	p, err := h.k.Providers.Get(ctx, addr)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if p.Status == types.ProviderStatus_PROVIDER_STATUS_UNBONDING {
		return nil
	}
	_, err = h.k.startUnbonding(ctx, addr, p, ReasonRoleRevoked)
	return err
}
