package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/stratusnet/stratus/x/membership/types"
)

func sampleGenesis() *types.GenesisState {
	return &types.GenesisState{
		Params: types.Params{MaxValidators: 5, MaxProviders: 3},
		Members: []types.Member{
			// deliberately not in store order
			{Address: testAddr(9).String(), Role: types.Role_ROLE_PROVIDER, GrantedHeight: 0, Description: "cdn"},
			{Address: testAddr(4).String(), Role: types.Role_ROLE_VALIDATOR, GrantedHeight: 10, Description: "dc-east"},
			{Address: testAddr(2).String(), Role: types.Role_ROLE_VALIDATOR, GrantedHeight: 7},
			{Address: testAddr(4).String(), Role: types.Role_ROLE_PROVIDER, GrantedHeight: 11},
			{Address: testAddr(1).String(), Role: types.Role_ROLE_VALIDATOR, GrantedHeight: 0, Description: "genesis"},
		},
	}
}

func TestGenesisRoundTrip(t *testing.T) {
	// arrange
	f := newFixture(t)
	gs := sampleGenesis()

	// act
	require.NoError(t, f.k.InitGenesis(f.ctx, gs))
	exported, err := f.k.ExportGenesis(f.ctx)

	// assert: same params, same members (in store order), counts rebuilt.
	require.NoError(t, err)
	require.Equal(t, gs.Params, exported.Params)
	require.Equal(t, sortedMembers(t, gs.Members), exported.Members)
	f.requireCount(t, types.Role_ROLE_VALIDATOR, 3)
	f.requireCount(t, types.Role_ROLE_PROVIDER, 2)
	for _, m := range gs.Members {
		got, err := f.k.GetMember(f.ctx, m.Role, mustAcc(t, m.Address))
		require.NoError(t, err)
		require.Equal(t, m, got, "granted_height must be kept, not replaced by the block height")
	}

	// Genesis members are stored without jailing or hooks.
	require.Empty(t, f.staking.jailCall)
	require.Empty(t, f.hooks.calls)

	// Importing the export into a fresh chain yields the same state.
	f2 := newFixture(t)
	require.NoError(t, f2.k.InitGenesis(f2.ctx, exported))
	exported2, err := f2.k.ExportGenesis(f2.ctx)
	require.NoError(t, err)
	require.Equal(t, exported, exported2)
	require.Equal(t, f.snapshot(t), f2.snapshot(t))
}

func TestGenesisRoundTripEnforcesCapsAfterwards(t *testing.T) {
	// Role counts are rebuilt by InitGenesis, so the caps hold after import.
	f := newFixture(t)
	gs := &types.GenesisState{
		Params:  types.Params{MaxValidators: 2},
		Members: []types.Member{{Address: testAddr(1).String(), Role: types.Role_ROLE_VALIDATOR}, {Address: testAddr(2).String(), Role: types.Role_ROLE_VALIDATOR}},
	}
	require.NoError(t, f.k.InitGenesis(f.ctx, gs))

	_, err := f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: testAddr(3).String(), Role: types.Role_ROLE_VALIDATOR})

	require.ErrorIs(t, err, types.ErrRoleCapReached)
}

func TestGenesisDefaultExport(t *testing.T) {
	f := newFixture(t)

	exported, err := f.k.ExportGenesis(f.ctx)

	require.NoError(t, err)
	require.Equal(t, types.DefaultGenesisState().Params, exported.Params)
	require.Empty(t, exported.Members)
}

func TestGenesisDoesNotJailValidators(t *testing.T) {
	// A genesis member that already runs a validator is not touched.
	f := newFixture(t)
	f.staking.addValidator(t, testAddr(1), stakingtypes.Bonded, false)

	require.NoError(t, f.k.InitGenesis(f.ctx, &types.GenesisState{Members: []types.Member{{Address: testAddr(1).String(), Role: types.Role_ROLE_VALIDATOR}}}))

	require.Empty(t, f.staking.jailCall)
	f.requireMember(t, testAddr(1), types.Role_ROLE_VALIDATOR, true)
}

func TestInitGenesisRejects(t *testing.T) {
	v := func(n byte) types.Member {
		return types.Member{Address: testAddr(n).String(), Role: types.Role_ROLE_VALIDATOR}
	}
	p := func(n byte) types.Member {
		return types.Member{Address: testAddr(n).String(), Role: types.Role_ROLE_PROVIDER}
	}
	cases := []struct {
		name string
		gs   *types.GenesisState
	}{
		{"duplicate member", &types.GenesisState{Members: []types.Member{v(1), v(2), v(1)}}},
		{"validator cap overflow", &types.GenesisState{Params: types.Params{MaxValidators: 2}, Members: []types.Member{v(1), v(2), v(3)}}},
		{"provider cap overflow", &types.GenesisState{Params: types.Params{MaxProviders: 1}, Members: []types.Member{p(1), v(1), p(2)}}},
		{"invalid role", &types.GenesisState{Members: []types.Member{{Address: testAddr(1).String(), Role: types.Role_ROLE_UNSPECIFIED}}}},
		{"bad address", &types.GenesisState{Members: []types.Member{{Address: "stratus1xyz", Role: types.Role_ROLE_VALIDATOR}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)

			err := f.k.InitGenesis(f.ctx, tc.gs)

			require.ErrorIs(t, err, types.ErrInvalidGenesis)
			// validation happens before any write
			exported, err := f.k.ExportGenesis(f.ctx)
			require.NoError(t, err)
			require.Empty(t, exported.Members)
		})
	}
}
