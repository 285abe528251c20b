package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"

	"github.com/stratusnet/stratus/x/storage/types"
)

// DenseCountOrZero is how many committed replicas the dense index holds.
func (k *Keeper) DenseCountOrZero(ctx context.Context) (uint64, error) {
	n, err := k.DenseCount.Get(ctx)
	if errors.Is(err, collections.ErrNotFound) {
		return 0, nil
	}
	return n, err
}

// denseAdd appends a committed replica to the dense index.
func (k *Keeper) denseAdd(ctx context.Context, key ReplicaKey) error {
	n, err := k.DenseCountOrZero(ctx)
	if err != nil {
		return err
	}
	if err := k.DenseReplicas.Set(ctx, n, types.ReplicaRef{DealId: key.K1(), Slot: key.K2()}); err != nil {
		return err
	}
	if err := k.DensePosition.Set(ctx, key, n); err != nil {
		return err
	}
	return k.DenseCount.Set(ctx, n+1)
}

// denseRemove swaps the last entry into key's position: O(1) writes.
func (k *Keeper) denseRemove(ctx context.Context, key ReplicaKey) error {
	pos, err := k.DensePosition.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	n, err := k.DenseCountOrZero(ctx)
	if err != nil {
		return err
	}
	last := n - 1
	if pos != last {
		moved, err := k.DenseReplicas.Get(ctx, last)
		if err != nil {
			return err
		}
		if err := k.DenseReplicas.Set(ctx, pos, moved); err != nil {
			return err
		}
		if err := k.DensePosition.Set(ctx, collections.Join(moved.DealId, moved.Slot), pos); err != nil {
			return err
		}
	}
	if err := k.DenseReplicas.Remove(ctx, last); err != nil {
		return err
	}
	if err := k.DensePosition.Remove(ctx, key); err != nil {
		return err
	}
	return k.DenseCount.Set(ctx, last)
}
