package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	"github.com/stratusnet/stratus/x/provider/types"
)

func TestSlashBurnsAndCountsFault(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, 4*minStake)

	burned, err := f.k.Slash(f.ctx, addr, sdkmath.LegacyNewDecWithPrec(1, 1), "missed proof")

	require.NoError(t, err)
	require.Equal(t, sdkmath.NewInt(4*minStake/10), burned)
	p := f.provider(t, addr)
	require.Equal(t, sdkmath.NewInt(4*minStake-4*minStake/10), p.Stake)
	require.Equal(t, uint64(1), p.Faults)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_ACTIVE, p.Status, "still above min_stake")
	require.Equal(t, sdk.NewCoins(sdk.NewCoin(denom, burned)), f.bank.burned)
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventProviderSlashed"))
	f.checkInvariant(t)
}

func TestSlashJailsBelowMinStake(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)

	_, err := f.k.Slash(f.ctx, addr, sdkmath.LegacyNewDecWithPrec(1, 2), "missed proof")

	require.NoError(t, err)
	p := f.provider(t, addr)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_JAILED, p.Status)
	require.Equal(t, testHeight+int64(types.DefaultJailBlocks), p.JailedUntil)
	require.True(t, hasEvent(f.ctx, "stratus.provider.v1.EventProviderJailed"))
	f.checkInvariant(t)
}

func TestSlashJailsWhenFaultsExceedMax(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, 100*minStake)
	tiny := sdkmath.LegacyNewDecWithPrec(1, 6)
	for range types.DefaultMaxFaults {
		_, err := f.k.Slash(f.ctx, addr, tiny, "missed proof")
		require.NoError(t, err)
	}
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_ACTIVE, f.provider(t, addr).Status, "max_faults faults are tolerated")

	_, err := f.k.Slash(f.ctx, addr, tiny, "missed proof")

	require.NoError(t, err)
	p := f.provider(t, addr)
	require.Equal(t, types.DefaultMaxFaults+1, p.Faults)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_JAILED, p.Status)
	f.checkInvariant(t)
}

func TestSlashUnbondingProviderKeepsItUnbonding(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	_, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: addr.String()})
	require.NoError(t, err)

	burned, err := f.k.Slash(f.ctx, addr, sdkmath.LegacyOneDec(), "invalid proof")

	require.NoError(t, err)
	require.Equal(t, sdkmath.NewInt(minStake), burned)
	p := f.provider(t, addr)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_UNBONDING, p.Status)
	require.True(t, p.Stake.IsZero())
	f.checkInvariant(t)
}

func TestSlashRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	before := f.provider(t, addr)

	for _, frac := range []sdkmath.LegacyDec{sdkmath.LegacyZeroDec(), sdkmath.LegacyNewDec(-1), sdkmath.LegacyNewDecWithPrec(11, 1), {}} {
		_, err := f.k.Slash(f.ctx, addr, frac, "x")
		require.ErrorIs(t, err, types.ErrInvalidFraction, frac)
	}
	_, err := f.k.Slash(f.ctx, f.member(1), sdkmath.LegacyOneDec(), "x")
	require.ErrorIs(t, err, types.ErrProviderNotFound)

	require.Equal(t, before, f.provider(t, addr))
	require.True(t, f.bank.burned.IsZero())
	f.checkInvariant(t)
}

func TestReserveAndReleaseCapacity(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	p := f.provider(t, addr)

	require.NoError(t, f.k.ReserveStorage(f.ctx, addr, p.StorageCapacity-10))
	require.NoError(t, f.k.ReserveComputeSlots(f.ctx, addr, p.ComputeSlots))

	require.ErrorIs(t, f.k.ReserveStorage(f.ctx, addr, 11), types.ErrInsufficientCapacity)
	require.ErrorIs(t, f.k.ReserveStorage(f.ctx, addr, ^uint64(0)), types.ErrInsufficientCapacity)
	require.ErrorIs(t, f.k.ReserveComputeSlots(f.ctx, addr, 1), types.ErrInsufficientCapacity)
	got := f.provider(t, addr)
	require.Equal(t, p.StorageCapacity-10, got.StorageUsed)
	require.Equal(t, p.ComputeSlots, got.ComputeSlotsUsed)

	require.ErrorIs(t, f.k.ReleaseStorage(f.ctx, addr, p.StorageCapacity), types.ErrReleaseExceedsUsed)
	require.ErrorIs(t, f.k.ReleaseComputeSlots(f.ctx, addr, p.ComputeSlots+1), types.ErrReleaseExceedsUsed)
	require.NoError(t, f.k.ReleaseStorage(f.ctx, addr, p.StorageCapacity-10))
	require.NoError(t, f.k.ReleaseComputeSlots(f.ctx, addr, p.ComputeSlots))
	got = f.provider(t, addr)
	require.Zero(t, got.StorageUsed)
	require.Zero(t, got.ComputeSlotsUsed)

	require.ErrorIs(t, f.k.ReserveStorage(f.ctx, f.member(1), 1), types.ErrProviderNotFound)
	f.checkInvariant(t)
}

func TestInactiveProviderTakesNoReservationsButReleases(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	require.NoError(t, f.k.ReserveStorage(f.ctx, addr, 100))
	require.NoError(t, f.k.ReserveComputeSlots(f.ctx, addr, 1))
	_, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: addr.String()})
	require.NoError(t, err)

	require.ErrorIs(t, f.k.ReserveStorage(f.ctx, addr, 1), types.ErrProviderNotActive)
	require.ErrorIs(t, f.k.ReserveComputeSlots(f.ctx, addr, 1), types.ErrProviderNotActive)
	require.NoError(t, f.k.ReleaseStorage(f.ctx, addr, 100))
	require.NoError(t, f.k.ReleaseComputeSlots(f.ctx, addr, 1))
	f.checkInvariant(t)
}

func TestRevokingProviderRoleDeactivates(t *testing.T) {
	f := newFixture(t)
	addr := f.registered(t, minStake)
	hooks := f.k.MembershipHooks()

	require.NoError(t, hooks.AfterRoleRevoked(f.ctx, addr, membershiptypes.Role_ROLE_VALIDATOR))
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_ACTIVE, f.provider(t, addr).Status, "other roles do not matter")

	require.NoError(t, hooks.AfterRoleRevoked(f.ctx, addr, membershiptypes.Role_ROLE_PROVIDER))

	p := f.provider(t, addr)
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_UNBONDING, p.Status)
	require.Equal(t, testHeight+int64(types.DefaultUnbondingBlocks), p.UnbondingUntil)
	require.Equal(t, []sdk.AccAddress{addr}, f.hooks.deactivated)
	_, err := f.k.PickProviders(f.ctx, types.PickCriteria{Count: 1, Seed: []byte("s")})
	require.ErrorIs(t, err, types.ErrNotEnoughProviders, "a deactivated provider is never picked")

	// A second revocation (or one of an unregistered account) changes nothing.
	require.NoError(t, hooks.AfterRoleRevoked(f.ctx, addr, membershiptypes.Role_ROLE_PROVIDER))
	require.NoError(t, hooks.AfterRoleRevoked(f.ctx, f.member(1), membershiptypes.Role_ROLE_PROVIDER))
	require.Equal(t, p, f.provider(t, addr))
	require.Len(t, f.hooks.deactivated, 1)
	f.checkInvariant(t)
}

func TestQueries(t *testing.T) {
	f := newFixture(t)
	a, b, c := f.registered(t, minStake), f.registered(t, minStake), f.registered(t, minStake)
	_, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: b.String()})
	require.NoError(t, err)

	res, err := f.queries.Provider(f.ctx, &types.QueryProviderRequest{Address: a.String()})
	require.NoError(t, err)
	require.Equal(t, a.String(), res.Provider.Address)
	_, err = f.queries.Provider(f.ctx, &types.QueryProviderRequest{Address: f.member(1).String()})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = f.queries.Provider(f.ctx, &types.QueryProviderRequest{Address: "bad"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	all, err := f.queries.Providers(f.ctx, &types.QueryProvidersRequest{})
	require.NoError(t, err)
	require.Len(t, all.Providers, 3)

	active, err := f.queries.Providers(f.ctx, &types.QueryProvidersRequest{
		Status: types.ProviderStatus_PROVIDER_STATUS_ACTIVE, Pagination: &query.PageRequest{Limit: 1, CountTotal: true},
	})
	require.NoError(t, err)
	require.Len(t, active.Providers, 1)
	require.Equal(t, uint64(2), active.Pagination.Total)
	next, err := f.queries.Providers(f.ctx, &types.QueryProvidersRequest{
		Status: types.ProviderStatus_PROVIDER_STATUS_ACTIVE, Pagination: &query.PageRequest{Key: active.Pagination.NextKey},
	})
	require.NoError(t, err)
	require.Len(t, next.Providers, 1)
	require.ElementsMatch(t, []string{a.String(), c.String()}, []string{active.Providers[0].Address, next.Providers[0].Address})

	unbonding, err := f.queries.Providers(f.ctx, &types.QueryProvidersRequest{Status: types.ProviderStatus_PROVIDER_STATUS_UNBONDING})
	require.NoError(t, err)
	require.Len(t, unbonding.Providers, 1)
	require.Equal(t, b.String(), unbonding.Providers[0].Address)

	_, err = f.queries.Providers(f.ctx, &types.QueryProvidersRequest{Status: 42})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	params, err := f.queries.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, types.DefaultParams(), params.Params)
	f.checkInvariant(t)
}

func TestGenesisRoundTripRebuildsPickTree(t *testing.T) {
	f := newFixture(t)
	a, b := f.registered(t, minStake), f.registered(t, 3*minStake)
	jailedAddr := f.jailed(t)
	_, err := f.msgs.UnbondProvider(f.ctx, &types.MsgUnbondProvider{Provider: a.String()})
	require.NoError(t, err)
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate())
	require.Len(t, gs.Providers, 3)

	g := newFixture(t)
	g.bank.balances = f.bank.balances // the bank genesis carries the escrow
	require.NoError(t, g.k.InitGenesis(g.ctx, gs))

	again, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
	picked, err := g.k.PickProviders(g.ctx, types.PickCriteria{Count: 1, Seed: []byte("x")})
	require.NoError(t, err)
	require.Equal(t, []sdk.AccAddress{b}, picked, "only the active provider is in the rebuilt tree")
	require.Equal(t, types.ProviderStatus_PROVIDER_STATUS_JAILED, g.provider(t, jailedAddr).Status)
	g.checkInvariant(t)
}

func TestInitGenesisRejectsBadGenesis(t *testing.T) {
	f := newFixture(t)
	f.registered(t, minStake)
	good, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)

	cases := []struct {
		name   string
		mutate func(*types.GenesisState)
		want   error
	}{
		{"duplicate provider", func(gs *types.GenesisState) { gs.Providers = append(gs.Providers, gs.Providers[0]) }, types.ErrInvalidGenesis},
		{"bad address", func(gs *types.GenesisState) { gs.Providers[0].Address = "bad" }, types.ErrInvalidGenesis},
		{"unspecified status", func(gs *types.GenesisState) { gs.Providers[0].Status = 0 }, types.ErrInvalidGenesis},
		{"used above capacity", func(gs *types.GenesisState) { gs.Providers[0].StorageUsed = gs.Providers[0].StorageCapacity + 1 }, types.ErrInvalidGenesis},
		{"http endpoint", func(gs *types.GenesisState) { gs.Providers[0].Endpoint = "http://sp.example" }, types.ErrInvalidGenesis},
		{"unbonding without height", func(gs *types.GenesisState) {
			gs.Providers[0].Status = types.ProviderStatus_PROVIDER_STATUS_UNBONDING
		}, types.ErrInvalidGenesis},
		{"min_stake in another denom", func(gs *types.GenesisState) { gs.Params.MinStake.Denom = "uatom" }, types.ErrInvalidGenesis},
		{"stake not escrowed", func(gs *types.GenesisState) { gs.Providers[0].Stake = gs.Providers[0].Stake.AddRaw(1) }, types.ErrInvalidGenesis},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Mutate a deep copy of the good genesis.
			var gs types.GenesisState
			bz, err := good.Marshal()
			require.NoError(t, err)
			require.NoError(t, gs.Unmarshal(bz))
			tc.mutate(&gs)

			g := newFixture(t)
			g.bank.balances = f.bank.balances

			require.ErrorIs(t, g.k.InitGenesis(g.ctx, &gs), tc.want)
		})
	}
}
