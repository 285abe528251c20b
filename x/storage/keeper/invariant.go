package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/math"

	"github.com/stratusnet/stratus/x/storage/types"
)

// EscrowInvariant checks that the module account holds exactly the sum of
// the live deals' escrows, and that the dense index matches the committed
// replicas. Tests call it after every scenario.
func (k *Keeper) EscrowInvariant(ctx context.Context) error {
	sum := math.ZeroInt()
	if err := k.Deals.Walk(ctx, nil, func(_ uint64, d types.Deal) (bool, error) {
		if !isLive(d) && !d.Escrow.IsZero() {
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
	committed := uint64(0)
	if err := k.Replicas.Walk(ctx, nil, func(key ReplicaKey, r types.Replica) (bool, error) {
		if r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			return false, nil
		}
		committed++
		pos, err := k.DensePosition.Get(ctx, key)
		if err != nil {
			return true, fmt.Errorf("committed replica %d/%d not in the dense index: %w", key.K1(), key.K2(), err)
		}
		ref, err := k.DenseReplicas.Get(ctx, pos)
		if err != nil || ref.DealId != key.K1() || ref.Slot != key.K2() {
			return true, fmt.Errorf("dense index position %d does not point back to %d/%d", pos, key.K1(), key.K2())
		}
		return false, nil
	}); err != nil {
		return err
	}
	n, err := k.DenseCountOrZero(ctx)
	if err != nil {
		return err
	}
	if n != committed {
		return fmt.Errorf("dense index holds %d replicas, %d are committed", n, committed)
	}
	return nil
}
