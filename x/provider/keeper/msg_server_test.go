package keeper_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/stratusnet/stratus/x/provider/types"
)

func TestRegisterProviderEscrowsStake(t *testing.T) {
	f := newFixture(t)
	addr := f.member(5 * minStake)

	_, err := f.msgs.RegisterProvider(f.ctx, registerMsg(addr, 2*minStake))

	require.NoError(t, err)
	p := f.provider(t, addr)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_ACTIVE, p.Status)
	require.Equal(t, sdkmath.NewInt(2*minStake), p.Stake)
	require.Equal(t, testHeight, p.RegisteredHeight)
	require.Equal(t, "https://sp1.acme.example", p.Endpoint)
	require.Equal(t, sdkmath.NewInt(3*minStake), f.balance(addr))
	require.Equal(t, sdkmath.NewInt(2*minStake), f.moduleBalance())
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventProviderRegistered"))
	f.checkInvariant(t)
}

func TestRegisterProviderAcceptsLoopbackHTTP(t *testing.T) {
	for _, ep := range []string{"http://127.0.0.1:8080", "http://localhost:9000/v1", "http://[::1]:7000", "https://10.0.0.1:443"} {
		f := newFixture(t)
		addr := f.member(2 * minStake)
		msg := registerMsg(addr, minStake)
		msg.Endpoint = ep

		_, err := f.msgs.RegisterProvider(f.ctx, msg)

		require.NoError(t, err, ep)
		f.checkInvariant(t)
	}
}

func TestRegisterProviderRejectsBadInput(t *testing.T) {
	otherDenom := "uatom"
	cases := []struct {
		name   string
		member bool
		mutate func(*types.MsgRegisterProvider)
		want   *errorsmod.Error
	}{
		{"non-member", false, func(*types.MsgRegisterProvider) {}, types.ErrNotMember},
		{"stake below min_stake", true, func(m *types.MsgRegisterProvider) { m.Stake.Amount = sdkmath.NewInt(minStake - 1) }, types.ErrInsufficientStake},
		{"stake in the wrong denom", true, func(m *types.MsgRegisterProvider) { m.Stake.Denom = otherDenom }, types.ErrInvalidStake},
		{"zero stake", true, func(m *types.MsgRegisterProvider) { m.Stake.Amount = sdkmath.ZeroInt() }, types.ErrInvalidStake},
		{"plain http on a public host", true, func(m *types.MsgRegisterProvider) { m.Endpoint = "http://sp1.acme.example" }, types.ErrInvalidEndpoint},
		{"http on a private address", true, func(m *types.MsgRegisterProvider) { m.Endpoint = "http://10.0.0.1:8080" }, types.ErrInvalidEndpoint},
		{"not a URL", true, func(m *types.MsgRegisterProvider) { m.Endpoint = "sp1.acme.example" }, types.ErrInvalidEndpoint},
		{"other scheme", true, func(m *types.MsgRegisterProvider) { m.Endpoint = "ftp://sp1.acme.example" }, types.ErrInvalidEndpoint},
		{"no host", true, func(m *types.MsgRegisterProvider) { m.Endpoint = "https://" }, types.ErrInvalidEndpoint},
		{"credentials", true, func(m *types.MsgRegisterProvider) { m.Endpoint = "https://user:pw@sp1.acme.example" }, types.ErrInvalidEndpoint},
		{"query", true, func(m *types.MsgRegisterProvider) { m.Endpoint = "https://sp1.acme.example/?x=1" }, types.ErrInvalidEndpoint},
		{"empty endpoint", true, func(m *types.MsgRegisterProvider) { m.Endpoint = "" }, types.ErrInvalidEndpoint},
		{"endpoint too long", true, func(m *types.MsgRegisterProvider) {
			m.Endpoint = "https://sp1.acme.example/" + strings.Repeat("a", int(types.DefaultMaxEndpointLength))
		}, types.ErrInvalidEndpoint},
		{"overflowing storage capacity", true, func(m *types.MsgRegisterProvider) { m.StorageCapacity = ^uint64(0) }, types.ErrInvalidCapacity},
		{"overflowing compute slots", true, func(m *types.MsgRegisterProvider) { m.ComputeSlots = types.MaxComputeSlots + 1 }, types.ErrInvalidCapacity},
		{"storage price in the wrong denom", true, func(m *types.MsgRegisterProvider) {
			m.StoragePrice = sdk.NewDecCoinFromDec(otherDenom, sdkmath.LegacyOneDec())
		}, types.ErrInvalidPrice},
		{"compute price in the wrong denom", true, func(m *types.MsgRegisterProvider) { m.ComputePrice = sdk.NewInt64Coin(otherDenom, 1) }, types.ErrInvalidPrice},
		{"negative storage price", true, func(m *types.MsgRegisterProvider) {
			m.StoragePrice = sdk.DecCoin{Denom: denom, Amount: sdkmath.LegacyNewDec(-1)}
		}, types.ErrInvalidPrice},
		{"negative compute price", true, func(m *types.MsgRegisterProvider) {
			m.ComputePrice = sdk.Coin{Denom: denom, Amount: sdkmath.NewInt(-1)}
		}, types.ErrInvalidPrice},
		{"empty moniker", true, func(m *types.MsgRegisterProvider) { m.Moniker = "" }, types.ErrInvalidMoniker},
		{"moniker too long", true, func(m *types.MsgRegisterProvider) { m.Moniker = strings.Repeat("m", 65) }, types.ErrInvalidMoniker},
		{"bad address", true, func(m *types.MsgRegisterProvider) { m.Provider = "stratus1nope" }, sdkerrors.ErrInvalidAddress},
		{"more stake than funds", true, func(m *types.MsgRegisterProvider) { m.Stake.Amount = sdkmath.NewInt(100 * minStake) }, sdkerrors.ErrInsufficientFunds},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			addr := f.member(2 * minStake)
			if !tc.member {
				delete(f.membership.providers, string(addr))
			}
			msg := registerMsg(addr, minStake)
			tc.mutate(msg)

			_, err := f.msgs.RegisterProvider(f.ctx, msg)

			require.ErrorIs(t, err, tc.want)
			has, err := f.k.Providers.Has(f.ctx, addr)
			require.NoError(t, err)
			require.False(t, has, "nothing is stored")
			require.Equal(t, sdkmath.NewInt(2*minStake), f.balance(addr), "no coins move")
			require.True(t, f.moduleBalance().IsZero())
			f.checkInvariant(t)
		})
	}
}

func TestRegisterProviderTwiceIsRefused(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	before := f.balance(addr)

	_, err := f.msgs.RegisterProvider(f.ctx, registerMsg(addr, minStake))

	require.ErrorIs(t, err, types.ErrAlreadyRegistered)
	require.Equal(t, before, f.balance(addr))
	require.Equal(t, sdkmath.NewInt(minStake), f.provider(t, addr).Stake)
	f.checkInvariant(t)
}

func TestUpdateProviderReplacesOffer(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	p := f.provider(t, addr)
	msg := updateMsg(p)
	msg.Endpoint = "https://sp2.acme.example:8443/stratus"
	msg.StorageCapacity = 1 << 41
	msg.ComputeSlots = 8
	msg.StoragePrice = sdk.NewDecCoinFromDec(denom, sdkmath.LegacyNewDecWithPrec(2, 3))
	msg.ComputePrice = sdk.NewInt64Coin(denom, 2000)
	msg.Moniker = "acme-2"

	_, err := f.msgs.UpdateProvider(f.ctx, msg)

	require.NoError(t, err)
	got := f.provider(t, addr)
	require.Equal(t, msg.Endpoint, got.Endpoint)
	require.Equal(t, msg.Moniker, got.Moniker)
	require.Equal(t, uint64(1<<41), got.StorageCapacity)
	require.Equal(t, uint64(8), got.ComputeSlots)
	require.Equal(t, msg.StoragePrice, got.StoragePrice)
	require.Equal(t, msg.ComputePrice, got.ComputePrice)
	require.Equal(t, p.Stake, got.Stake)
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventProviderUpdated"))
	f.checkInvariant(t)
}

func TestUpdateProviderRejectsBadInput(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*types.MsgUpdateProvider)
		want   *errorsmod.Error
	}{
		{"storage below used", func(m *types.MsgUpdateProvider) { m.StorageCapacity = 999 }, types.ErrCapacityInUse},
		{"compute slots below used", func(m *types.MsgUpdateProvider) { m.ComputeSlots = 1 }, types.ErrCapacityInUse},
		{"plain http", func(m *types.MsgUpdateProvider) { m.Endpoint = "http://sp1.acme.example" }, types.ErrInvalidEndpoint},
		{"overflowing capacity", func(m *types.MsgUpdateProvider) { m.StorageCapacity = types.MaxStorageCapacity + 1 }, types.ErrInvalidCapacity},
		{"price in the wrong denom", func(m *types.MsgUpdateProvider) { m.ComputePrice = sdk.NewInt64Coin("uatom", 5) }, types.ErrInvalidPrice},
		{"unknown provider", func(m *types.MsgUpdateProvider) { m.Provider = sdk.AccAddress("nobody-registered___").String() }, types.ErrProviderNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			addr := f.registered(t, minStake)
			require.NoError(t, f.k.ReserveStorage(f.ctx, addr, 1000))
			require.NoError(t, f.k.ReserveComputeSlots(f.ctx, addr, 2))
			before := f.provider(t, addr)
			msg := updateMsg(before)
			tc.mutate(msg)

			_, err := f.msgs.UpdateProvider(f.ctx, msg)

			require.ErrorIs(t, err, tc.want)
			require.Equal(t, before, f.provider(t, addr))
			f.checkInvariant(t)
		})
	}
}

func TestUpdateProviderWhileUnbondingIsRefused(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	_, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: addr.String()})
	require.NoError(t, err)
	before := f.provider(t, addr)

	_, err = f.msgs.UpdateProvider(f.ctx, updateMsg(before))

	require.ErrorIs(t, err, types.ErrProviderUnbonding)
	require.Equal(t, before, f.provider(t, addr))
	f.checkInvariant(t)
}

func TestAddStake(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)

	_, err := f.msgs.AddStake(f.ctx, &types.MsgAddStake{Provider: addr.String(), Amount: sdk.NewInt64Coin(denom, 500)})

	require.NoError(t, err)
	require.Equal(t, sdkmath.NewInt(minStake+500), f.provider(t, addr).Stake)
	require.Equal(t, sdkmath.NewInt(minStake-500), f.balance(addr))
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventStakeAdded"))
	f.checkInvariant(t)
}

func TestAddStakeRejectsBadInput(t *testing.T) {
	cases := []struct {
		name    string
		amount  sdk.Coin
		unbond  bool
		unknown bool
		want    *errorsmod.Error
	}{
		{"wrong denom", sdk.NewInt64Coin("uatom", 5), false, false, types.ErrInvalidStake},
		{"zero", sdk.NewInt64Coin(denom, 0), false, false, types.ErrInvalidStake},
		{"more than funds", sdk.NewInt64Coin(denom, 10*minStake), false, false, sdkerrors.ErrInsufficientFunds},
		{"unbonding provider", sdk.NewInt64Coin(denom, 5), true, false, types.ErrProviderUnbonding},
		{"unknown provider", sdk.NewInt64Coin(denom, 5), false, true, types.ErrProviderNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			addr := f.registered(t, minStake)
			if tc.unbond {
				_, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: addr.String()})
				require.NoError(t, err)
			}
			signer := addr
			if tc.unknown {
				signer = f.member(minStake)
			}
			before, funds := f.provider(t, addr), f.balance(signer)

			_, err := f.msgs.AddStake(f.ctx, &types.MsgAddStake{Provider: signer.String(), Amount: tc.amount})

			require.ErrorIs(t, err, tc.want)
			require.Equal(t, before, f.provider(t, addr))
			require.Equal(t, funds, f.balance(signer))
			f.checkInvariant(t)
		})
	}
}

func TestUnbondReturnsStakeOnlyWhenDue(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, 3*minStake)
	funds := f.balance(addr)

	res, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: addr.String()})

	require.NoError(t, err)
	due := testHeight + int64(types.DefaultUnbondingBlocks)
	require.Equal(t, due, res.UnbondingUntil)
	p := f.provider(t, addr)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_UNBONDING, p.Status)
	require.Equal(t, []sdk.AccAddress{addr}, f.hooks.deactivated)
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventProviderUnbonding"))
	f.checkInvariant(t)

	// One block early: nothing comes back.
	f.atHeight(due - 1)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, funds, f.balance(addr))
	f.provider(t, addr)
	f.checkInvariant(t)

	// At the due height: the exact stake comes back and the record goes.
	f.atHeight(due)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, funds.Add(sdkmath.NewInt(3*minStake)), f.balance(addr))
	_, err = f.k.GetProvider(f.ctx, addr)
	require.ErrorIs(t, err, types.ErrProviderNotFound)
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventProviderUnbonded"))
	f.checkInvariant(t)
}

func TestEndBlockerReleasesOnlyDueUnbondings(t *testing.T) {
	f := newFixture(t)
	early, late, active := f.registered(t, minStake), f.registered(t, minStake), f.registered(t, minStake)
	_, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: early.String()})
	require.NoError(t, err)
	f.atHeight(testHeight + 10)
	_, err = f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: late.String()})
	require.NoError(t, err)

	f.atHeight(testHeight + int64(types.DefaultUnbondingBlocks))
	require.NoError(t, f.k.EndBlocker(f.ctx))

	_, err = f.k.GetProvider(f.ctx, early)
	require.ErrorIs(t, err, types.ErrProviderNotFound)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_UNBONDING, f.provider(t, late).Status)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_ACTIVE, f.provider(t, active).Status)
	f.checkInvariant(t)
}

func TestUnbondRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	_, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: addr.String()})
	require.NoError(t, err)
	before := f.provider(t, addr)

	_, err = f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: addr.String()})
	require.ErrorIs(t, err, types.ErrProviderUnbonding)
	_, err = f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: f.member(1).String()})
	require.ErrorIs(t, err, types.ErrProviderNotFound)
	_, err = f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: "bad"})
	require.ErrorIs(t, err, sdkerrors.ErrInvalidAddress)

	require.Equal(t, before, f.provider(t, addr))
	require.Len(t, f.hooks.deactivated, 1)
	f.checkInvariant(t)
}

// jailed registers a provider and jails it by slashing it below min_stake.
func (f *fixture) jailed(t *testing.T) sdk.AccAddress {
	t.Helper()
	addr := f.registered(t, minStake)
	_, err := f.k.Slash(f.ctx, addr, sdkmath.LegacyNewDecWithPrec(1, 1), "missed proof")
	require.NoError(t, err)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_JAILED, f.provider(t, addr).Status)
	return addr
}

func TestUnjail(t *testing.T) {
	f := newFixture(t)
	addr := f.jailed(t)
	_, err := f.msgs.AddStake(f.ctx, &types.MsgAddStake{Provider: addr.String(), Amount: sdk.NewInt64Coin(denom, minStake)})
	require.NoError(t, err)
	f.atHeight(testHeight + int64(types.DefaultJailBlocks))

	_, err = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Provider: addr.String()})

	require.NoError(t, err)
	p := f.provider(t, addr)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_ACTIVE, p.Status)
	require.Zero(t, p.JailedUntil)
	require.Zero(t, p.Faults)
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventProviderUnjailed"))
	f.checkInvariant(t)
}

func TestUnjailRejectsBadInput(t *testing.T) {
	t.Run("too early", func(t *testing.T) {
		f := newFixture(t)
		addr := f.jailed(t)
		_, err := f.msgs.AddStake(f.ctx, &types.MsgAddStake{Provider: addr.String(), Amount: sdk.NewInt64Coin(denom, minStake)})
		require.NoError(t, err)
		f.atHeight(testHeight + int64(types.DefaultJailBlocks) - 1)
		before := f.provider(t, addr)

		_, err = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Provider: addr.String()})

		require.ErrorIs(t, err, types.ErrJailPeriodNotOver)
		require.Equal(t, before, f.provider(t, addr))
		f.checkInvariant(t)
	})
	t.Run("stake below min_stake", func(t *testing.T) {
		f := newFixture(t)
		addr := f.jailed(t)
		f.atHeight(testHeight + int64(types.DefaultJailBlocks))
		before := f.provider(t, addr)

		_, err := f.msgs.Unjail(f.ctx, &types.MsgUnjail{Provider: addr.String()})

		require.ErrorIs(t, err, types.ErrInsufficientStake)
		require.Equal(t, before, f.provider(t, addr))
		f.checkInvariant(t)
	})
	t.Run("not jailed", func(t *testing.T) {
		f := newFixture(t)
		addr := f.registered(t, minStake)

		_, err := f.msgs.Unjail(f.ctx, &types.MsgUnjail{Provider: addr.String()})

		require.ErrorIs(t, err, types.ErrNotJailed)
		f.checkInvariant(t)
	})
	t.Run("role revoked meanwhile", func(t *testing.T) {
		f := newFixture(t)
		addr := f.jailed(t)
		_, err := f.msgs.AddStake(f.ctx, &types.MsgAddStake{Provider: addr.String(), Amount: sdk.NewInt64Coin(denom, minStake)})
		require.NoError(t, err)
		delete(f.membership.providers, string(addr))
		f.atHeight(testHeight + int64(types.DefaultJailBlocks))

		_, err = f.msgs.Unjail(f.ctx, &types.MsgUnjail{Provider: addr.String()})

		require.ErrorIs(t, err, types.ErrNotMember)
		require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_JAILED, f.provider(t, addr).Status)
		f.checkInvariant(t)
	})
	t.Run("unknown provider", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.msgs.Unjail(f.ctx, &types.MsgUnjail{Provider: f.member(1).String()})
		require.ErrorIs(t, err, types.ErrProviderNotFound)
		f.checkInvariant(t)
	})
}

func TestUpdateParams(t *testing.T) {
	f := newFixture(t)
	params := types.DefaultParams()
	params.MinStake = sdk.NewInt64Coin(denom, 5)
	params.JailBlocks = 7

	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: params})

	require.NoError(t, err)
	got, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, params, got)
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventParamsUpdated"))
	f.checkInvariant(t)
}

func TestUpdateParamsRejectsBadInput(t *testing.T) {
	stranger := sdk.AccAddress("not-the-authority___").String()
	cases := []struct {
		name      string
		authority string
		mutate    func(*types.Params)
		want      *errorsmod.Error
	}{
		{"not the authority", stranger, func(*types.Params) {}, sdkerrors.ErrUnauthorized},
		{"zero min_stake", "", func(p *types.Params) { p.MinStake.Amount = sdkmath.ZeroInt() }, types.ErrInvalidParams},
		{"min_stake in another denom", "", func(p *types.Params) { p.MinStake.Denom = "uatom" }, types.ErrInvalidParams},
		{"zero unbonding_blocks", "", func(p *types.Params) { p.UnbondingBlocks = 0 }, types.ErrInvalidParams},
		{"zero jail_blocks", "", func(p *types.Params) { p.JailBlocks = 0 }, types.ErrInvalidParams},
		{"huge unbonding_blocks", "", func(p *types.Params) { p.UnbondingBlocks = ^uint64(0) }, types.ErrInvalidParams},
		{"tiny max_endpoint_length", "", func(p *types.Params) { p.MaxEndpointLength = 3 }, types.ErrInvalidParams},
		{"zero max_moniker_length", "", func(p *types.Params) { p.MaxMonikerLength = 0 }, types.ErrInvalidParams},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			params := types.DefaultParams()
			tc.mutate(&params)
			authority := tc.authority
			if authority == "" {
				authority = f.gov
			}

			_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: authority, Params: params})

			require.ErrorIs(t, err, tc.want)
			got, err := f.k.Params.Get(f.ctx)
			require.NoError(t, err)
			require.Equal(t, types.DefaultParams(), got)
		})
	}
}
