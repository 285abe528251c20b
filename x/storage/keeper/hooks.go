package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	providertypes "github.com/stratusnet/stratus/x/provider/types"
)

// ProviderHooks returns the hooks x/provider calls.
func (k *Keeper) ProviderHooks() providertypes.ProviderHooks { return providerHooks{k} }

type providerHooks struct{ k *Keeper }

// AfterProviderDeactivated drops every replica of a provider that stopped
// taking work (unbonding, or its role revoked) and repairs the slots. The
// work is proportional to that provider's replicas.
func (h providerHooks) AfterProviderDeactivated(ctx context.Context, addr sdk.AccAddress) error {
	var deals []uint64
	var slots []uint32
	if err := h.k.ReplicasByProvider.Walk(ctx, collections.NewPrefixedPairRange[sdk.AccAddress, uint64](addr),
		func(key collections.Pair[sdk.AccAddress, uint64], slot uint32) (bool, error) {
			deals = append(deals, key.K2())
			slots = append(slots, slot)
			return false, nil
		}); err != nil {
		return err
	}
	for i, id := range deals {
		d, err := h.k.GetDeal(ctx, id)
		if err != nil {
			return err
		}
		r, err := h.k.Replicas.Get(ctx, collections.Join(id, slots[i]))
		if err != nil {
			return err
		}
		if err := h.k.dropReplica(ctx, &d, r, ReasonProviderDeactivated); err != nil {
			return err
		}
	}
	return nil
}
