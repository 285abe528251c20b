// Package keeper holds x/membership's state and the logic that changes it.
package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	corestore "cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/stratusnet/stratus/x/membership/types"
)

// Keeper manages role grants.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	// authority is the fallback authority (the gov module account); the
	// consensus AuthorityParams authority takes precedence when set.
	authority string

	staking types.StakingKeeper
	hooks   types.MembershipHooks

	Schema    collections.Schema
	Params    collections.Item[types.Params]
	Members   collections.Map[collections.Pair[int32, sdk.AccAddress], types.Member]
	RoleCount collections.Map[int32, uint64]
}

// NewKeeper creates the keeper. authority is the fallback authority address.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService corestore.KVStoreService,
	addressCodec address.Codec,
	authority string,
	staking types.StakingKeeper,
) *Keeper {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		panic(fmt.Errorf("invalid membership authority address %q: %w", authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := &Keeper{
		cdc:          cdc,
		addressCodec: addressCodec,
		authority:    authority,
		staking:      staking,
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Members: collections.NewMap(sb, types.MembersKey, "members",
			collections.PairKeyCodec(collections.Int32Key, sdk.AccAddressKey),
			codec.CollValue[types.Member](cdc)),
		RoleCount: collections.NewMap(sb, types.RoleCountKey, "role_count", collections.Int32Key, collections.Uint64Value),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// SetHooks installs the hooks called after role changes. It may be called once.
func (k *Keeper) SetHooks(h types.MembershipHooks) *Keeper {
	if k.hooks != nil {
		panic("membership hooks already set")
	}
	k.hooks = h
	return k
}

// FallbackAuthority is the authority used when consensus AuthorityParams are unset.
func (k *Keeper) FallbackAuthority() string { return k.authority }

// Authority returns the effective authority at ctx.
func (k *Keeper) Authority(ctx context.Context) string {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if cp := sdkCtx.ConsensusParams(); cp.Authority != nil && cp.Authority.Authority != "" {
		return cp.Authority.Authority
	}
	return k.authority
}

// Logger returns a module logger.
func (k *Keeper) Logger(ctx context.Context) log.Logger {
	return sdk.UnwrapSDKContext(ctx).Logger().With("module", "x/"+types.ModuleName)
}

// HasRole reports whether addr holds role.
func (k *Keeper) HasRole(ctx context.Context, role types.Role, addr sdk.AccAddress) (bool, error) {
	return k.Members.Has(ctx, collections.Join(int32(role), addr))
}

// GetMember returns the grant of role to addr.
func (k *Keeper) GetMember(ctx context.Context, role types.Role, addr sdk.AccAddress) (types.Member, error) {
	m, err := k.Members.Get(ctx, collections.Join(int32(role), addr))
	if errors.Is(err, collections.ErrNotFound) {
		return types.Member{}, errorsmod.Wrapf(types.ErrNotMember, "%s is not a %s", addr, role.ShortName())
	}
	return m, err
}

// CountMembers returns how many accounts hold role.
func (k *Keeper) CountMembers(ctx context.Context, role types.Role) (uint64, error) {
	n, err := k.RoleCount.Get(ctx, int32(role))
	if errors.Is(err, collections.ErrNotFound) {
		return 0, nil
	}
	return n, err
}

// grant stores a new member, enforcing uniqueness and the role cap.
func (k *Keeper) grant(ctx context.Context, m types.Member) error {
	if err := m.Role.Validate(); err != nil {
		return err
	}
	addr, err := k.addressCodec.StringToBytes(m.Address)
	if err != nil {
		return errorsmod.Wrapf(sdkerrors.ErrInvalidAddress, "address %q: %v", m.Address, err)
	}
	key := collections.Join(int32(m.Role), sdk.AccAddress(addr))
	if has, err := k.Members.Has(ctx, key); err != nil {
		return err
	} else if has {
		return errorsmod.Wrapf(types.ErrAlreadyMember, "%s is already a %s", m.Address, m.Role.ShortName())
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	count, err := k.CountMembers(ctx, m.Role)
	if err != nil {
		return err
	}
	if c := params.Cap(m.Role); c > 0 && count >= uint64(c) {
		return errorsmod.Wrapf(types.ErrRoleCapReached, "%d %s members, cap %d", count, m.Role.ShortName(), c)
	}
	if err := k.Members.Set(ctx, key, m); err != nil {
		return err
	}
	return k.RoleCount.Set(ctx, int32(m.Role), count+1)
}

// revoke removes a member and, for validators, jails the validator. It
// returns whether a validator was jailed.
func (k *Keeper) revoke(ctx context.Context, role types.Role, addr sdk.AccAddress) (bool, error) {
	key := collections.Join(int32(role), addr)
	if has, err := k.Members.Has(ctx, key); err != nil {
		return false, err
	} else if !has {
		return false, errorsmod.Wrapf(types.ErrNotMember, "%s is not a %s", addr, role.ShortName())
	}

	jailed := false
	if role == types.Role_ROLE_VALIDATOR {
		var err error
		if jailed, err = k.jailValidator(ctx, sdk.ValAddress(addr)); err != nil {
			return false, err
		}
	}

	if err := k.Members.Remove(ctx, key); err != nil {
		return false, err
	}
	count, err := k.CountMembers(ctx, role)
	if err != nil {
		return false, err
	}
	if count > 0 {
		count--
	}
	if err := k.RoleCount.Set(ctx, int32(role), count); err != nil {
		return false, err
	}
	if k.hooks != nil {
		if err := k.hooks.AfterRoleRevoked(ctx, addr, role); err != nil {
			return false, err
		}
	}
	return jailed, nil
}

// jailValidator jails the validator operated by valAddr if it exists and is
// not jailed already. It refuses to jail the last bonded validator, which
// would leave CometBFT with an empty validator set and halt the chain.
func (k *Keeper) jailValidator(ctx context.Context, valAddr sdk.ValAddress) (bool, error) {
	val, err := k.staking.GetValidator(ctx, valAddr)
	if errors.Is(err, stakingtypes.ErrNoValidatorFound) {
		// Granted but never created a validator: nothing to jail.
		return false, nil
	} else if err != nil {
		return false, err
	}
	if val.IsJailed() {
		return false, nil
	}
	if val.IsBonded() {
		last, err := k.staking.GetLastValidators(ctx)
		if err != nil {
			return false, err
		}
		active := 0
		for _, v := range last {
			if !v.IsJailed() {
				active++
			}
		}
		if active <= 1 {
			return false, errorsmod.Wrapf(types.ErrLastValidator, "%s is the only bonded validator; approve and bond another first", valAddr)
		}
	}
	consAddr, err := val.GetConsAddr()
	if err != nil {
		return false, err
	}
	if err := k.staking.Jail(ctx, consAddr); err != nil {
		return false, err
	}
	return true, nil
}
