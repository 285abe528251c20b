package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	providertypes "github.com/stratusnet/stratus/x/provider/types"
	"github.com/stratusnet/stratus/x/storage/types"
)

// ProviderHooks returns the hooks x/provider calls.
func (k *Keeper) ProviderHooks() providertypes.ProviderHooks { return providerHooks{k} }

type providerHooks struct{ k *Keeper }

// AfterProviderDeactivated handles a provider that stopped taking work
// (unbonding, or its role revoked). Slots it has not committed are
// reassigned at once, without penalty. Committed replicas stay its
// obligation, challenged and slashable but no longer paid, until a
// successor commits; x/provider keeps its stake until then. The work is
// proportional to that provider's replicas.
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
		switch {
		case r.Leaving:
		case r.Status == types.ReplicaStatus_REPLICA_STATUS_COMMITTED:
			err = h.k.startHandover(ctx, &d, r)
		default:
			err = h.k.dropReplica(ctx, &d, r, ReasonProviderDeactivated)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
