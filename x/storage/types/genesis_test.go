package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/storage/types"
)

func validGenesis() types.GenesisState {
	bob := sdk.AccAddress([]byte("bob_________________")).String()
	return types.GenesisState{
		Params:     types.DefaultParams(),
		NextDealId: 3,
		Deals: []types.Deal{
			{Id: 1, Owner: alice, Root: hash, Size_: 10, Replicas: 2, Escrow: sdk.NewInt64Coin("ustrat", 5), Status: types.DealStatus_DEAL_STATUS_ACTIVE},
			{Id: 2, Owner: alice, Root: hash, Size_: 10, Replicas: 1, Escrow: sdk.NewInt64Coin("ustrat", 0), Status: types.DealStatus_DEAL_STATUS_ENDED},
		},
		Replicas: []types.Replica{
			{DealId: 1, Slot: 0, Provider: bob, Status: types.ReplicaStatus_REPLICA_STATUS_COMMITTED, Paid: math.ZeroInt()},
			{DealId: 1, Slot: 1, Status: types.ReplicaStatus_REPLICA_STATUS_OPEN, Paid: math.ZeroInt()},
		},
	}
}

func TestGenesisValidate(t *testing.T) {
	require.NoError(t, types.DefaultGenesisState().Validate())
	require.NoError(t, validGenesis().Validate())

	for _, tc := range []struct {
		name string
		edit func(gs *types.GenesisState)
		want error
	}{
		{"bad params", func(gs *types.GenesisState) { gs.Params.ProofWindow = 0 }, types.ErrInvalidParams},
		{"deal id zero", func(gs *types.GenesisState) { gs.Deals[0].Id = 0 }, types.ErrInvalidGenesis},
		{"deal id not below next", func(gs *types.GenesisState) { gs.NextDealId = 2 }, types.ErrInvalidGenesis},
		{"duplicate deal", func(gs *types.GenesisState) { gs.Deals[1].Id = 1 }, types.ErrInvalidGenesis},
		{"short root", func(gs *types.GenesisState) { gs.Deals[0].Root = hash[:31] }, types.ErrInvalidGenesis},
		{"zero size", func(gs *types.GenesisState) { gs.Deals[0].Size_ = 0 }, types.ErrInvalidGenesis},
		{"zero replicas", func(gs *types.GenesisState) { gs.Deals[1].Replicas = 0 }, types.ErrInvalidGenesis},
		{"bad owner", func(gs *types.GenesisState) { gs.Deals[0].Owner = "nobody" }, types.ErrInvalidGenesis},
		{"negative escrow", func(gs *types.GenesisState) {
			gs.Deals[0].Escrow = sdk.Coin{Denom: "ustrat", Amount: math.NewInt(-1)}
		}, types.ErrInvalidGenesis},
		{"replica of unknown deal", func(gs *types.GenesisState) { gs.Replicas[0].DealId = 9 }, types.ErrInvalidGenesis},
		{"slot beyond replicas", func(gs *types.GenesisState) { gs.Replicas[1].Slot = 2 }, types.ErrInvalidGenesis},
		{"duplicate slot", func(gs *types.GenesisState) { gs.Replicas[1].Slot = 0 }, types.ErrInvalidGenesis},
		{"shard beyond the deal's slots", func(gs *types.GenesisState) { gs.Replicas[0].Shard = 9 }, types.ErrInvalidGenesis},
		{"shard roots on a replicated deal", func(gs *types.GenesisState) { gs.Deals[0].ShardRoots = [][]byte{hash} }, types.ErrInvalidGenesis},
		{"erasure deal missing a shard root", func(gs *types.GenesisState) {
			gs.Deals[0].DataShards, gs.Deals[0].ParityShards = 2, gs.Deals[0].Replicas-2
			gs.Deals[0].ShardSize = types.ShardSizeFor(gs.Deals[0].Size_, 2)
			gs.Deals[0].ShardRoots = [][]byte{hash}
		}, types.ErrInvalidGenesis},
		{"held replica without provider", func(gs *types.GenesisState) { gs.Replicas[0].Provider = "" }, types.ErrInvalidGenesis},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs := validGenesis()
			tc.edit(&gs)
			require.ErrorIs(t, gs.Validate(), tc.want)
		})
	}
}
