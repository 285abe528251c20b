package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/x/storage/types"
)

// EscrowInvariant checks that the module account holds exactly the sum of
// the live deals' escrows, and that the holdings and collateral match the
// replicas. Tests call it after every scenario.
func (k *Keeper) EscrowInvariant(ctx context.Context) error {
	sum := math.ZeroInt()
	if err := k.Deals.Walk(ctx, nil, func(_ uint64, d types.Deal) (bool, error) {
		if !d.Live() && !d.Escrow.IsZero() {
			return true, fmt.Errorf("deal %d is %s but holds escrow %s", d.Id, d.Status, d.Escrow)
		}
		sum = sum.Add(d.Escrow.Amount)
		return false, nil
	}); err != nil {
		return err
	}
	bal := k.bank.GetBalance(ctx, k.ModuleAddress(), k.bondDenom)
	if !bal.Amount.Equal(sum) {
		return fmt.Errorf("%w: module holds %s, deals escrow %s%s", types.ErrEscrowInconsistent, bal, sum, k.bondDenom)
	}
	return k.HoldingsInvariant(ctx)
}

// HoldingsInvariant checks that every committed replica, and nothing else,
// is in its provider's holdings with its leaf count, that each provider's
// Fenwick tree sums to those weights, and that every provider's locked
// collateral is the sum of its replicas' collateral.
func (k *Keeper) HoldingsInvariant(ctx context.Context) error {
	type tally struct {
		count  uint64
		weight uint64
		locked math.Int
	}
	byProvider := map[string]*tally{}
	var order []string
	if err := k.Replicas.Walk(ctx, nil, func(key ReplicaKey, r types.Replica) (bool, error) {
		if r.Provider == "" {
			return false, nil
		}
		t := byProvider[r.Provider]
		if t == nil {
			t = &tally{locked: math.ZeroInt()}
			byProvider[r.Provider] = t
			order = append(order, r.Provider)
		}
		t.locked = t.locked.Add(r.Collateral)
		if r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			return false, nil
		}
		d, err := k.GetDeal(ctx, r.DealId)
		if err != nil {
			return true, err
		}
		t.count++
		t.weight += merkle.LeafCount(d.SlotSize(), int(d.ChunkSize))
		if _, err := k.HoldingPos.Get(ctx, key); err != nil {
			return true, fmt.Errorf("committed replica %d/%d not in its provider's holdings: %w", key.K1(), key.K2(), err)
		}
		return false, nil
	}); err != nil {
		return err
	}
	holders := 0
	if err := k.HoldingCount.Walk(ctx, nil, func(p sdk.AccAddress, _ uint64) (bool, error) {
		holders++
		if byProvider[p.String()] == nil {
			return true, fmt.Errorf("%s has holdings but no replicas", p)
		}
		return false, nil
	}); err != nil {
		return err
	}
	for _, provider := range order {
		t := byProvider[provider]
		addr, err := k.addressCodec.StringToBytes(provider)
		if err != nil {
			return err
		}
		total, n, err := k.holdingTotal(ctx, addr)
		if err != nil {
			return err
		}
		if n != t.count || total != t.weight {
			return fmt.Errorf("%w: %s holds %d replicas of %d leaves, holdings say %d of %d", types.ErrHoldingsBroken, provider, t.count, t.weight, n, total)
		}
		for i := uint64(1); i <= n; i++ {
			ref, err := k.Holdings.Get(ctx, hk(addr, i))
			if err != nil {
				return fmt.Errorf("%w: %s position %d: %v", types.ErrHoldingsBroken, provider, i, err)
			}
			if pos, err := k.HoldingPos.Get(ctx, collections.Join(ref.DealId, ref.Slot)); err != nil || pos != i {
				return fmt.Errorf("%w: %s position %d does not point back to %d/%d", types.ErrHoldingsBroken, provider, i, ref.DealId, ref.Slot)
			}
		}
		p, err := k.providers.GetProvider(ctx, addr)
		if err != nil {
			continue // removed; nothing locked any more
		}
		if !p.Locked().Equal(t.locked) {
			return fmt.Errorf("%w: %s has %s collateral locked, its replicas %s", types.ErrEscrowInconsistent, provider, p.Locked(), t.locked)
		}
	}
	return nil
}
