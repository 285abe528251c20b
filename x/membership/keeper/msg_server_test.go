package keeper_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/stratusnet/stratus/x/membership/types"
)

// ---------------------------------------------------------------------------
// authority
// ---------------------------------------------------------------------------

func TestMsgServerAuthority(t *testing.T) {
	consensusAuth := testAddr(0xC0).String()
	random := testAddr(0xEE).String()
	existing := testAddr(1) // pre-granted PROVIDER, the RevokeRole target
	newcomer := testAddr(2) // the GrantRole target
	newParams := types.Params{MaxValidators: 7, MaxProviders: 9}

	type op struct {
		run func(f *fixture, ctx sdk.Context, signer string) error
		// applied asserts the op took effect.
		applied func(t *testing.T, f *fixture)
	}
	ops := map[string]op{
		"GrantRole": {
			run: func(f *fixture, ctx sdk.Context, signer string) error {
				_, err := f.msgs.GrantRole(ctx, &types.MsgGrantRole{Authority: signer, Address: newcomer.String(), Role: types.Role_ROLE_VALIDATOR})
				return err
			},
			applied: func(t *testing.T, f *fixture) { f.requireMember(t, newcomer, types.Role_ROLE_VALIDATOR, true) },
		},
		"RevokeRole": {
			run: func(f *fixture, ctx sdk.Context, signer string) error {
				_, err := f.msgs.RevokeRole(ctx, &types.MsgRevokeRole{Authority: signer, Address: existing.String(), Role: types.Role_ROLE_PROVIDER})
				return err
			},
			applied: func(t *testing.T, f *fixture) { f.requireMember(t, existing, types.Role_ROLE_PROVIDER, false) },
		},
		"UpdateParams": {
			run: func(f *fixture, ctx sdk.Context, signer string) error {
				_, err := f.msgs.UpdateParams(ctx, &types.MsgUpdateParams{Authority: signer, Params: newParams})
				return err
			},
			applied: func(t *testing.T, f *fixture) {
				p, err := f.k.Params.Get(f.ctx)
				require.NoError(t, err)
				require.Equal(t, newParams, p)
			},
		},
	}

	identity := func(ctx sdk.Context) sdk.Context { return ctx }
	withCA := func(a string) func(sdk.Context) sdk.Context {
		return func(ctx sdk.Context) sdk.Context { return withConsensusAuthority(ctx, a) }
	}
	cases := []struct {
		name    string
		ctx     func(sdk.Context) sdk.Context
		signer  func(f *fixture) string
		wantErr bool
	}{
		{"no consensus authority: gov fallback accepted", identity, func(f *fixture) string { return f.gov }, false},
		{"no consensus authority: random signer rejected", identity, func(*fixture) string { return random }, true},
		{"no consensus authority: would-be consensus authority rejected", identity, func(*fixture) string { return consensusAuth }, true},
		{"empty consensus authority: gov fallback accepted", withCA(""), func(f *fixture) string { return f.gov }, false},
		{"consensus authority set: it is accepted", withCA(consensusAuth), func(*fixture) string { return consensusAuth }, false},
		{"consensus authority set: gov rejected", withCA(consensusAuth), func(f *fixture) string { return f.gov }, true},
		{"consensus authority set: random signer rejected", withCA(consensusAuth), func(*fixture) string { return random }, true},
	}

	for opName, o := range ops {
		for _, tc := range cases {
			t.Run(opName+"/"+tc.name, func(t *testing.T) {
				// arrange
				f := newFixture(t)
				f.grant(t, existing, types.Role_ROLE_PROVIDER)
				before := f.snapshot(t)
				ctx := freshEvents(tc.ctx(f.ctx))

				// act
				err := o.run(f, ctx, tc.signer(f))

				// assert
				if tc.wantErr {
					require.ErrorIs(t, err, sdkerrors.ErrUnauthorized)
					require.Equal(t, before, f.snapshot(t), "state changed after a rejected %s", opName)
					noMembershipEvents(t, ctx)
					return
				}
				require.NoError(t, err)
				o.applied(t, f)
			})
		}
	}
}

// ---------------------------------------------------------------------------
// GrantRole
// ---------------------------------------------------------------------------

func TestGrantRoleSuccess(t *testing.T) {
	for _, role := range []types.Role{types.Role_ROLE_VALIDATOR, types.Role_ROLE_PROVIDER} {
		t.Run(role.ShortName(), func(t *testing.T) {
			// arrange
			f := newFixture(t)
			addr := testAddr(7)
			ctx := freshEvents(f.ctx.WithBlockHeight(1234))
			msg := &types.MsgGrantRole{Authority: f.gov, Address: addr.String(), Role: role, Description: "ACME Corp, contract #17"}

			// act
			_, err := f.msgs.GrantRole(ctx, msg)

			// assert
			require.NoError(t, err)
			m, err := f.k.GetMember(f.ctx, role, addr)
			require.NoError(t, err)
			require.Equal(t, types.Member{Address: addr.String(), Role: role, GrantedHeight: 1234, Description: msg.Description}, m)
			f.requireCount(t, role, 1)

			ev := onlyEvent[*types.EventRoleGranted](t, ctx)
			require.Equal(t, &types.EventRoleGranted{Address: addr.String(), Role: role, Authority: f.gov, Description: msg.Description}, ev)
		})
	}
}

func TestGrantRoleBothRolesToSameAddress(t *testing.T) {
	f := newFixture(t)
	addr := testAddr(3)

	f.grant(t, addr, types.Role_ROLE_VALIDATOR)
	f.grant(t, addr, types.Role_ROLE_PROVIDER)

	f.requireMember(t, addr, types.Role_ROLE_VALIDATOR, true)
	f.requireMember(t, addr, types.Role_ROLE_PROVIDER, true)
	f.requireCount(t, types.Role_ROLE_VALIDATOR, 1)
	f.requireCount(t, types.Role_ROLE_PROVIDER, 1)
}

func TestGrantRoleRejections(t *testing.T) {
	member := testAddr(1)
	fresh := testAddr(2)
	cases := []struct {
		name    string
		msg     func(f *fixture) *types.MsgGrantRole
		wantErr error
	}{
		{
			name: "duplicate grant",
			msg: func(f *fixture) *types.MsgGrantRole {
				return &types.MsgGrantRole{Authority: f.gov, Address: member.String(), Role: types.Role_ROLE_VALIDATOR}
			},
			wantErr: types.ErrAlreadyMember,
		},
		{
			name: "role unspecified",
			msg: func(f *fixture) *types.MsgGrantRole {
				return &types.MsgGrantRole{Authority: f.gov, Address: fresh.String(), Role: types.Role_ROLE_UNSPECIFIED}
			},
			wantErr: types.ErrInvalidRole,
		},
		{
			name: "role out of range",
			msg: func(f *fixture) *types.MsgGrantRole {
				return &types.MsgGrantRole{Authority: f.gov, Address: fresh.String(), Role: types.Role(99)}
			},
			wantErr: types.ErrInvalidRole,
		},
		{
			name: "empty address",
			msg: func(f *fixture) *types.MsgGrantRole {
				return &types.MsgGrantRole{Authority: f.gov, Address: "", Role: types.Role_ROLE_VALIDATOR}
			},
			wantErr: sdkerrors.ErrInvalidAddress,
		},
		{
			name: "garbage address",
			msg: func(f *fixture) *types.MsgGrantRole {
				return &types.MsgGrantRole{Authority: f.gov, Address: "stratus1notanaddress", Role: types.Role_ROLE_VALIDATOR}
			},
			wantErr: sdkerrors.ErrInvalidAddress,
		},
		{
			name: "valoper address instead of account",
			msg: func(f *fixture) *types.MsgGrantRole {
				return &types.MsgGrantRole{Authority: f.gov, Address: sdk.ValAddress(fresh).String(), Role: types.Role_ROLE_VALIDATOR}
			},
			wantErr: sdkerrors.ErrInvalidAddress,
		},
		{
			name: "malformed authority",
			msg: func(*fixture) *types.MsgGrantRole {
				return &types.MsgGrantRole{Authority: "gov", Address: fresh.String(), Role: types.Role_ROLE_VALIDATOR}
			},
			wantErr: sdkerrors.ErrInvalidAddress,
		},
		{
			name: "description over 256 bytes",
			msg: func(f *fixture) *types.MsgGrantRole {
				return &types.MsgGrantRole{Authority: f.gov, Address: fresh.String(), Role: types.Role_ROLE_VALIDATOR, Description: strings.Repeat("x", types.MaxTextLength+1)}
			},
			wantErr: types.ErrTextTooLong,
		},
		{
			name: "description over 256 bytes counted in bytes not runes",
			msg: func(f *fixture) *types.MsgGrantRole {
				// 129 two-byte runes = 258 bytes.
				return &types.MsgGrantRole{Authority: f.gov, Address: fresh.String(), Role: types.Role_ROLE_VALIDATOR, Description: strings.Repeat("é", 129)}
			},
			wantErr: types.ErrTextTooLong,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// arrange
			f := newFixture(t)
			f.grant(t, member, types.Role_ROLE_VALIDATOR)
			before := f.snapshot(t)
			ctx := freshEvents(f.ctx)

			// act
			_, err := f.msgs.GrantRole(ctx, tc.msg(f))

			// assert
			require.ErrorIs(t, err, tc.wantErr)
			require.Equal(t, before, f.snapshot(t))
			noMembershipEvents(t, ctx)
		})
	}
}

func TestGrantRoleDescriptionAtLimit(t *testing.T) {
	f := newFixture(t)
	desc := strings.Repeat("x", types.MaxTextLength)

	_, err := f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: testAddr(1).String(), Role: types.Role_ROLE_PROVIDER, Description: desc})

	require.NoError(t, err)
	m, err := f.k.GetMember(f.ctx, types.Role_ROLE_PROVIDER, testAddr(1))
	require.NoError(t, err)
	require.Equal(t, desc, m.Description)
}

func TestGrantRoleCaps(t *testing.T) {
	cases := []struct {
		name  string
		role  types.Role
		other types.Role
		p     types.Params
		cap   int
	}{
		{"max_validators", types.Role_ROLE_VALIDATOR, types.Role_ROLE_PROVIDER, types.Params{MaxValidators: 2}, 2},
		{"max_providers", types.Role_ROLE_PROVIDER, types.Role_ROLE_VALIDATOR, types.Params{MaxProviders: 3}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// arrange
			f := newFixture(t)
			f.setParams(t, tc.p)
			for i := 0; i < tc.cap; i++ {
				f.grant(t, testAddr(byte(i+1)), tc.role)
			}
			f.requireCount(t, tc.role, uint64(tc.cap))
			before := f.snapshot(t)
			extra := testAddr(0x80)

			// act: one more than the cap
			_, err := f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: extra.String(), Role: tc.role})

			// assert
			require.ErrorIs(t, err, types.ErrRoleCapReached)
			require.Equal(t, before, f.snapshot(t))
			f.requireMember(t, extra, tc.role, false)

			// The cap is per role: the other role (cap 0 = unlimited) is unaffected.
			for i := 0; i < tc.cap+5; i++ {
				f.grant(t, testAddr(byte(0x40+i)), tc.other)
			}
			f.requireCount(t, tc.other, uint64(tc.cap+5))

			// Revoking frees a slot.
			_, err = f.msgs.RevokeRole(f.ctx, &types.MsgRevokeRole{Authority: f.gov, Address: testAddr(1).String(), Role: tc.role})
			require.NoError(t, err)
			f.requireCount(t, tc.role, uint64(tc.cap-1))
			f.grant(t, extra, tc.role)
			f.requireCount(t, tc.role, uint64(tc.cap))

			// And the cap applies again.
			_, err = f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: testAddr(1).String(), Role: tc.role})
			require.ErrorIs(t, err, types.ErrRoleCapReached)
		})
	}
}

func TestGrantRoleCapZeroIsUnlimited(t *testing.T) {
	f := newFixture(t)
	f.setParams(t, types.Params{MaxValidators: 0, MaxProviders: 0})

	const n = 50
	for i := 0; i < n; i++ {
		f.grant(t, testAddr(byte(i+1)), types.Role_ROLE_VALIDATOR)
		f.grant(t, testAddr(byte(i+1)), types.Role_ROLE_PROVIDER)
	}

	f.requireCount(t, types.Role_ROLE_VALIDATOR, n)
	f.requireCount(t, types.Role_ROLE_PROVIDER, n)
}

func TestGrantRoleCapLoweredBelowCount(t *testing.T) {
	// arrange: 3 validators, then the cap is lowered to 2.
	f := newFixture(t)
	for i := byte(1); i <= 3; i++ {
		f.grant(t, testAddr(i), types.Role_ROLE_VALIDATOR)
	}
	f.setParams(t, types.Params{MaxValidators: 2})

	// act / assert: existing members stay, new grants are refused until the
	// count drops below the cap.
	f.requireCount(t, types.Role_ROLE_VALIDATOR, 3)
	_, err := f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: testAddr(9).String(), Role: types.Role_ROLE_VALIDATOR})
	require.ErrorIs(t, err, types.ErrRoleCapReached)

	_, err = f.msgs.RevokeRole(f.ctx, &types.MsgRevokeRole{Authority: f.gov, Address: testAddr(1).String(), Role: types.Role_ROLE_VALIDATOR})
	require.NoError(t, err)
	_, err = f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: testAddr(9).String(), Role: types.Role_ROLE_VALIDATOR})
	require.ErrorIs(t, err, types.ErrRoleCapReached, "2 members, cap 2")

	_, err = f.msgs.RevokeRole(f.ctx, &types.MsgRevokeRole{Authority: f.gov, Address: testAddr(2).String(), Role: types.Role_ROLE_VALIDATOR})
	require.NoError(t, err)
	f.grant(t, testAddr(9), types.Role_ROLE_VALIDATOR)
	f.requireCount(t, types.Role_ROLE_VALIDATOR, 2)
}

// ---------------------------------------------------------------------------
// RevokeRole
// ---------------------------------------------------------------------------

func TestRevokeRoleNotMember(t *testing.T) {
	cases := []struct {
		name string
		role types.Role
	}{
		{"never granted anything", types.Role_ROLE_VALIDATOR},
		{"holds the other role only", types.Role_ROLE_PROVIDER},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// arrange: addr 1 is a validator; addr 2 nothing.
			f := newFixture(t)
			f.grant(t, testAddr(1), types.Role_ROLE_VALIDATOR)
			target := testAddr(2)
			if tc.role == types.Role_ROLE_PROVIDER {
				target = testAddr(1)
			}
			before := f.snapshot(t)
			ctx := freshEvents(f.ctx)

			// act
			_, err := f.msgs.RevokeRole(ctx, &types.MsgRevokeRole{Authority: f.gov, Address: target.String(), Role: tc.role})

			// assert
			require.ErrorIs(t, err, types.ErrNotMember)
			require.Equal(t, before, f.snapshot(t))
			require.Empty(t, f.hooks.calls)
			require.Empty(t, f.staking.jailCall)
			noMembershipEvents(t, ctx)
		})
	}
}

func TestRevokeRoleValidateBasic(t *testing.T) {
	cases := []struct {
		name    string
		msg     func(f *fixture) *types.MsgRevokeRole
		wantErr error
	}{
		{"invalid role", func(f *fixture) *types.MsgRevokeRole {
			return &types.MsgRevokeRole{Authority: f.gov, Address: testAddr(1).String(), Role: types.Role_ROLE_UNSPECIFIED}
		}, types.ErrInvalidRole},
		{"bad address", func(f *fixture) *types.MsgRevokeRole {
			return &types.MsgRevokeRole{Authority: f.gov, Address: "bogus", Role: types.Role_ROLE_PROVIDER}
		}, sdkerrors.ErrInvalidAddress},
		{"reason too long", func(f *fixture) *types.MsgRevokeRole {
			return &types.MsgRevokeRole{Authority: f.gov, Address: testAddr(1).String(), Role: types.Role_ROLE_PROVIDER, Reason: strings.Repeat("r", types.MaxTextLength+1)}
		}, types.ErrTextTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.grant(t, testAddr(1), types.Role_ROLE_PROVIDER)
			before := f.snapshot(t)

			_, err := f.msgs.RevokeRole(f.ctx, tc.msg(f))

			require.ErrorIs(t, err, tc.wantErr)
			require.Equal(t, before, f.snapshot(t))
			require.Empty(t, f.hooks.calls)
		})
	}
}

func TestRevokeProvider(t *testing.T) {
	// arrange
	f := newFixture(t)
	addr, other := testAddr(1), testAddr(2)
	f.grant(t, addr, types.Role_ROLE_PROVIDER)
	f.grant(t, other, types.Role_ROLE_PROVIDER)
	f.grant(t, addr, types.Role_ROLE_VALIDATOR) // untouched by a PROVIDER revoke
	ctx := freshEvents(f.ctx)

	// act
	_, err := f.msgs.RevokeRole(ctx, &types.MsgRevokeRole{Authority: f.gov, Address: addr.String(), Role: types.Role_ROLE_PROVIDER, Reason: "contract ended"})

	// assert
	require.NoError(t, err)
	f.requireMember(t, addr, types.Role_ROLE_PROVIDER, false)
	f.requireMember(t, other, types.Role_ROLE_PROVIDER, true)
	f.requireMember(t, addr, types.Role_ROLE_VALIDATOR, true)
	f.requireCount(t, types.Role_ROLE_PROVIDER, 1)
	f.requireCount(t, types.Role_ROLE_VALIDATOR, 1)

	require.Equal(t, []hookCall{{addr: addr, role: types.Role_ROLE_PROVIDER}}, f.hooks.calls)
	require.Empty(t, f.staking.jailCall, "revoking PROVIDER must not touch staking")

	ev := onlyEvent[*types.EventRoleRevoked](t, ctx)
	require.Equal(t, &types.EventRoleRevoked{Address: addr.String(), Role: types.Role_ROLE_PROVIDER, Authority: f.gov, Reason: "contract ended"}, ev)
}

func TestRevokeValidatorJailsBondedValidator(t *testing.T) {
	// arrange: two bonded, unjailed validators.
	f := newFixture(t)
	target, other := testAddr(1), testAddr(2)
	f.grant(t, target, types.Role_ROLE_VALIDATOR)
	f.grant(t, other, types.Role_ROLE_VALIDATOR)
	targetCons := f.staking.addValidator(t, target, stakingtypes.Bonded, false)
	f.staking.addValidator(t, other, stakingtypes.Bonded, false)
	ctx := freshEvents(f.ctx)

	// act
	_, err := f.msgs.RevokeRole(ctx, &types.MsgRevokeRole{Authority: f.gov, Address: target.String(), Role: types.Role_ROLE_VALIDATOR, Reason: "misbehaved"})

	// assert
	require.NoError(t, err)
	require.Equal(t, []sdk.ConsAddress{targetCons}, f.staking.jailCall)
	f.requireMember(t, target, types.Role_ROLE_VALIDATOR, false)
	f.requireMember(t, other, types.Role_ROLE_VALIDATOR, true)
	f.requireCount(t, types.Role_ROLE_VALIDATOR, 1)
	require.Equal(t, []hookCall{{addr: target, role: types.Role_ROLE_VALIDATOR}}, f.hooks.calls)

	ev := onlyEvent[*types.EventRoleRevoked](t, ctx)
	require.Equal(t, &types.EventRoleRevoked{
		Address: target.String(), Role: types.Role_ROLE_VALIDATOR, Authority: f.gov, Reason: "misbehaved", ValidatorJailed: true,
	}, ev)
}

func TestRevokeValidatorLastBondedValidator(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, f *fixture)
	}{
		{"only bonded validator", func(t *testing.T, f *fixture) {}},
		{"the other bonded validator is jailed", func(t *testing.T, f *fixture) {
			f.staking.addValidator(t, testAddr(2), stakingtypes.Bonded, true)
		}},
		{"the other validators are not bonded", func(t *testing.T, f *fixture) {
			f.staking.addValidator(t, testAddr(2), stakingtypes.Unbonded, false)
			f.staking.addValidator(t, testAddr(3), stakingtypes.Unbonding, false)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// arrange
			f := newFixture(t)
			target := testAddr(1)
			f.grant(t, target, types.Role_ROLE_VALIDATOR)
			f.staking.addValidator(t, target, stakingtypes.Bonded, false)
			tc.setup(t, f)
			before := f.snapshot(t)
			ctx := freshEvents(f.ctx)

			// act
			_, err := f.msgs.RevokeRole(ctx, &types.MsgRevokeRole{Authority: f.gov, Address: target.String(), Role: types.Role_ROLE_VALIDATOR})

			// assert
			require.ErrorIs(t, err, types.ErrLastValidator)
			f.requireMember(t, target, types.Role_ROLE_VALIDATOR, true)
			require.Equal(t, before, f.snapshot(t))
			require.Empty(t, f.staking.jailCall)
			require.Empty(t, f.hooks.calls)
			noMembershipEvents(t, ctx)
		})
	}
}

func TestRevokeValidatorSequenceStopsAtLast(t *testing.T) {
	// arrange: A and B bonded. Revoking A jails it; A stays in the last
	// validator set (jailed) until EndBlock, so B is then the last active one.
	f := newFixture(t)
	a, b := testAddr(1), testAddr(2)
	f.grant(t, a, types.Role_ROLE_VALIDATOR)
	f.grant(t, b, types.Role_ROLE_VALIDATOR)
	aCons := f.staking.addValidator(t, a, stakingtypes.Bonded, false)
	f.staking.addValidator(t, b, stakingtypes.Bonded, false)

	// act / assert
	_, err := f.msgs.RevokeRole(f.ctx, &types.MsgRevokeRole{Authority: f.gov, Address: a.String(), Role: types.Role_ROLE_VALIDATOR})
	require.NoError(t, err)
	require.Equal(t, []sdk.ConsAddress{aCons}, f.staking.jailCall)

	_, err = f.msgs.RevokeRole(f.ctx, &types.MsgRevokeRole{Authority: f.gov, Address: b.String(), Role: types.Role_ROLE_VALIDATOR})
	require.ErrorIs(t, err, types.ErrLastValidator)
	f.requireMember(t, b, types.Role_ROLE_VALIDATOR, true)
	require.Len(t, f.staking.jailCall, 1)
}

func TestRevokeValidatorWithoutJailing(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, f *fixture, target sdk.AccAddress)
	}{
		{"never created a validator", func(t *testing.T, f *fixture, _ sdk.AccAddress) {
			f.staking.addValidator(t, testAddr(2), stakingtypes.Bonded, false) // someone else
		}},
		{"never created a validator and no validators at all", func(*testing.T, *fixture, sdk.AccAddress) {}},
		{"already jailed", func(t *testing.T, f *fixture, target sdk.AccAddress) {
			f.staking.addValidator(t, target, stakingtypes.Bonded, true)
			f.staking.addValidator(t, testAddr(2), stakingtypes.Bonded, false)
		}},
		{"already jailed and the only bonded one", func(t *testing.T, f *fixture, target sdk.AccAddress) {
			f.staking.addValidator(t, target, stakingtypes.Unbonding, true)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// arrange
			f := newFixture(t)
			target := testAddr(1)
			f.grant(t, target, types.Role_ROLE_VALIDATOR)
			tc.setup(t, f, target)
			ctx := freshEvents(f.ctx)

			// act
			_, err := f.msgs.RevokeRole(ctx, &types.MsgRevokeRole{Authority: f.gov, Address: target.String(), Role: types.Role_ROLE_VALIDATOR})

			// assert
			require.NoError(t, err)
			require.Empty(t, f.staking.jailCall)
			f.requireMember(t, target, types.Role_ROLE_VALIDATOR, false)
			f.requireCount(t, types.Role_ROLE_VALIDATOR, 0)
			require.Equal(t, []hookCall{{addr: target, role: types.Role_ROLE_VALIDATOR}}, f.hooks.calls)
			require.False(t, onlyEvent[*types.EventRoleRevoked](t, ctx).ValidatorJailed)
		})
	}
}

func TestRevokeValidatorNotBondedIsJailed(t *testing.T) {
	// An unbonded validator cannot halt the chain, so it is jailed (and
	// cannot bond again) without the last-validator check.
	f := newFixture(t)
	target := testAddr(1)
	f.grant(t, target, types.Role_ROLE_VALIDATOR)
	cons := f.staking.addValidator(t, target, stakingtypes.Unbonded, false)
	f.staking.getLastErr = errBoom // must not be consulted
	ctx := freshEvents(f.ctx)

	_, err := f.msgs.RevokeRole(ctx, &types.MsgRevokeRole{Authority: f.gov, Address: target.String(), Role: types.Role_ROLE_VALIDATOR})

	require.NoError(t, err)
	require.Equal(t, []sdk.ConsAddress{cons}, f.staking.jailCall)
	f.requireMember(t, target, types.Role_ROLE_VALIDATOR, false)
	require.True(t, onlyEvent[*types.EventRoleRevoked](t, ctx).ValidatorJailed)
}

func TestRevokeValidatorPropagatesErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fixture)
	}{
		{"GetValidator fails", func(f *fixture) { f.staking.getValErr = errBoom }},
		{"GetLastValidators fails", func(f *fixture) { f.staking.getLastErr = errBoom }},
		{"Jail fails", func(f *fixture) { f.staking.jailErr = errBoom }},
		{"hook fails", func(f *fixture) { f.hooks.err = errBoom }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			target := testAddr(1)
			f.grant(t, target, types.Role_ROLE_VALIDATOR)
			f.staking.addValidator(t, target, stakingtypes.Bonded, false)
			f.staking.addValidator(t, testAddr(2), stakingtypes.Bonded, false)
			tc.setup(f)
			ctx := freshEvents(f.ctx)

			_, err := f.msgs.RevokeRole(ctx, &types.MsgRevokeRole{Authority: f.gov, Address: target.String(), Role: types.Role_ROLE_VALIDATOR})

			require.ErrorIs(t, err, errBoom)
			noMembershipEvents(t, ctx)
		})
	}
}

func TestRevokeWithoutHooksInstalled(t *testing.T) {
	// A keeper whose hooks were never set must still revoke.
	f := buildFixture(t, false)
	addr := testAddr(1)
	f.grant(t, addr, types.Role_ROLE_PROVIDER)

	_, err := f.msgs.RevokeRole(f.ctx, &types.MsgRevokeRole{Authority: f.gov, Address: addr.String(), Role: types.Role_ROLE_PROVIDER})

	require.NoError(t, err)
	f.requireMember(t, addr, types.Role_ROLE_PROVIDER, false)
	require.Empty(t, f.hooks.calls)
}

// ---------------------------------------------------------------------------
// UpdateParams
// ---------------------------------------------------------------------------

func TestUpdateParams(t *testing.T) {
	// arrange
	f := newFixture(t)
	p := types.Params{MaxValidators: 21, MaxProviders: 100}
	ctx := freshEvents(f.ctx)

	// act
	_, err := f.msgs.UpdateParams(ctx, &types.MsgUpdateParams{Authority: f.gov, Params: p})

	// assert
	require.NoError(t, err)
	got, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, p, got)
	require.Equal(t, &types.EventParamsUpdated{Params: p, Authority: f.gov}, onlyEvent[*types.EventParamsUpdated](t, ctx))

	// back to unlimited
	f.setParams(t, types.Params{})
	got, err = f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, types.Params{}, got)
}

func TestUpdateParamsBadAuthorityAddress(t *testing.T) {
	f := newFixture(t)
	before := f.snapshot(t)

	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: "nope", Params: types.Params{MaxValidators: 1}})

	require.ErrorIs(t, err, sdkerrors.ErrInvalidAddress)
	require.Equal(t, before, f.snapshot(t))
}
