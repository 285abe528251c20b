package keeper

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"

	"github.com/cosmos/cosmos-sdk/codec/address"
	codectestutil "github.com/cosmos/cosmos-sdk/codec/testutil"
	"github.com/cosmos/cosmos-sdk/runtime"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/stratusnet/stratus/x/storage/types"
)

type holdingsAccounts struct{}

func (holdingsAccounts) GetModuleAddress(name string) sdk.AccAddress {
	return authtypes.NewModuleAddress(name)
}

// TestHoldingsMatchANaiveModel adds and removes replicas of two providers
// at random and checks after every step that the Fenwick tree gives the
// same totals and the same replica and leaf for every weight point as a
// plain list would, and that one provider's changes never touch the other's.
func TestHoldingsMatchANaiveModel(t *testing.T) {
	key := storetypes.NewKVStoreKey(types.StoreKey)
	tctx := testutil.DefaultContextWithDB(t, key, storetypes.NewTransientStoreKey("transient_holdings"))
	prefix := sdk.GetConfig().GetBech32AccountAddrPrefix()
	cdc := codectestutil.CodecOptions{AccAddressPrefix: prefix}.NewCodec()
	k := NewKeeper(cdc, runtime.NewKVStoreService(key), address.NewBech32Codec(prefix),
		authtypes.NewModuleAddress("gov").String(), "ustrat", nil, nil, holdingsAccounts{})
	ctx := tctx.Ctx

	providers := []sdk.AccAddress{sdk.AccAddress("holdings-provider-01"), sdk.AccAddress("holdings-provider-02")}
	model := map[string][]types.ReplicaRef{}
	rng := rand.New(rand.NewPCG(1, 2))
	next := uint64(1)
	for step := range 600 {
		p := providers[rng.IntN(2)]
		list := model[string(p)]
		if len(list) > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(len(list))
			gone := list[i]
			require.NoError(t, k.holdingRemove(ctx, p, collections.Join(gone.DealId, gone.Slot)))
			list = append(list[:i], list[i+1:]...)
		} else {
			ref := types.ReplicaRef{DealId: next, Slot: uint32(rng.IntN(3)), Weight: uint64(1 + rng.IntN(50))}
			next++
			require.NoError(t, k.holdingAdd(ctx, p, ref))
			require.NoError(t, k.holdingAdd(ctx, p, ref), "adding twice is a no-op")
			list = append(list, ref)
		}
		model[string(p)] = list

		for _, q := range providers {
			want := model[string(q)]
			total, n, err := k.holdingTotal(ctx, q)
			require.NoError(t, err)
			require.Equal(t, uint64(len(want)), n, "step %d", step)
			sum := uint64(0)
			owner := map[[2]uint64]bool{}
			for _, r := range want {
				sum += r.Weight
				owner[[2]uint64{r.DealId, uint64(r.Slot)}] = true
			}
			require.Equal(t, sum, total, "step %d", step)
			if n == 0 {
				continue
			}
			// Every point lands on a replica of q, each replica gets exactly
			// its weight's worth of points, and offsets run 0..weight-1.
			hits := map[[2]uint64]uint64{}
			for point := uint64(0); point < total; point++ {
				ref, off, err := k.holdingFind(ctx, q, n, point)
				require.NoError(t, err)
				id := [2]uint64{ref.DealId, uint64(ref.Slot)}
				require.True(t, owner[id], fmt.Sprintf("step %d: point %d on a replica %v not held", step, point, id))
				require.Equal(t, hits[id], off, "offsets are consecutive leaves")
				hits[id]++
			}
			for _, r := range want {
				require.Equal(t, r.Weight, hits[[2]uint64{r.DealId, uint64(r.Slot)}])
			}
		}
	}
}
