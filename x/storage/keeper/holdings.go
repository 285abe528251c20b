package keeper

import (
	"context"
	"errors"
	"math/bits"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/storage/types"
)

// A provider's holdings are its committed replicas in dense positions
// 1..n, with a Fenwick tree over their weights (leaf counts): node i holds
// the sum of the weights of positions (i - lowbit(i), i]. Adding, removing
// (the last position is swapped into the hole) and finding the replica under
// a weight point each touch O(log n) entries, so a sample costs the same
// whether the provider holds ten replicas or a million, and nothing another
// provider holds is ever read. Sums wrap modulo 2^64, so deltas are added
// as unsigned numbers; every true sum fits.

type holdingKey = collections.Pair[sdk.AccAddress, uint64]

func hk(p sdk.AccAddress, i uint64) holdingKey { return collections.Join(p, i) }

func (k *Keeper) holdingCount(ctx context.Context, p sdk.AccAddress) (uint64, error) {
	n, err := k.HoldingCount.Get(ctx, p)
	if errors.Is(err, collections.ErrNotFound) {
		return 0, nil
	}
	return n, err
}

func (k *Keeper) holdingNode(ctx context.Context, p sdk.AccAddress, i uint64) (uint64, error) {
	v, err := k.HoldingTree.Get(ctx, hk(p, i))
	if errors.Is(err, collections.ErrNotFound) {
		return 0, nil
	}
	return v, err
}

// holdingPrefix is the weight of positions 1..i.
func (k *Keeper) holdingPrefix(ctx context.Context, p sdk.AccAddress, i uint64) (uint64, error) {
	var sum uint64
	for ; i > 0; i -= i & -i {
		v, err := k.holdingNode(ctx, p, i)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// holdingTotal is the provider's total weight and its number of replicas.
func (k *Keeper) holdingTotal(ctx context.Context, p sdk.AccAddress) (uint64, uint64, error) {
	n, err := k.holdingCount(ctx, p)
	if err != nil {
		return 0, 0, err
	}
	total, err := k.holdingPrefix(ctx, p, n)
	return total, n, err
}

// holdingUpdate adds delta (mod 2^64) to position i of a tree of n positions.
func (k *Keeper) holdingUpdate(ctx context.Context, p sdk.AccAddress, i, n, delta uint64) error {
	for ; i <= n; i += i & -i {
		v, err := k.holdingNode(ctx, p, i)
		if err != nil {
			return err
		}
		if err := k.HoldingTree.Set(ctx, hk(p, i), v+delta); err != nil {
			return err
		}
	}
	return nil
}

// holdingAdd appends a committed replica to the provider's holdings.
func (k *Keeper) holdingAdd(ctx context.Context, p sdk.AccAddress, ref types.ReplicaRef) error {
	key := collections.Join(ref.DealId, ref.Slot)
	if has, err := k.HoldingPos.Has(ctx, key); err != nil || has {
		return err
	}
	n, err := k.holdingCount(ctx, p)
	if err != nil {
		return err
	}
	n++
	// Node n covers (n - lowbit(n), n]: its own weight plus positions that
	// already exist, whose sum the prefix sums give.
	below, err := k.holdingPrefix(ctx, p, n-1)
	if err != nil {
		return err
	}
	start, err := k.holdingPrefix(ctx, p, n-(n&-n))
	if err != nil {
		return err
	}
	if err := k.HoldingTree.Set(ctx, hk(p, n), ref.Weight+below-start); err != nil {
		return err
	}
	if err := k.Holdings.Set(ctx, hk(p, n), ref); err != nil {
		return err
	}
	if err := k.HoldingPos.Set(ctx, key, n); err != nil {
		return err
	}
	return k.HoldingCount.Set(ctx, p, n)
}

// holdingRemove takes a replica out of the provider's holdings, moving the
// last position into its place.
func (k *Keeper) holdingRemove(ctx context.Context, p sdk.AccAddress, key ReplicaKey) error {
	pos, err := k.HoldingPos.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	n, err := k.holdingCount(ctx, p)
	if err != nil {
		return err
	}
	gone, err := k.Holdings.Get(ctx, hk(p, pos))
	if err != nil {
		return err
	}
	if pos != n {
		last, err := k.Holdings.Get(ctx, hk(p, n))
		if err != nil {
			return err
		}
		if err := k.holdingUpdate(ctx, p, pos, n-1, last.Weight-gone.Weight); err != nil {
			return err
		}
		if err := k.Holdings.Set(ctx, hk(p, pos), last); err != nil {
			return err
		}
		if err := k.HoldingPos.Set(ctx, collections.Join(last.DealId, last.Slot), pos); err != nil {
			return err
		}
	}
	// Nodes 1..n-1 never cover position n, so dropping node n is enough.
	for _, rm := range []func() error{
		func() error { return k.HoldingTree.Remove(ctx, hk(p, n)) },
		func() error { return k.Holdings.Remove(ctx, hk(p, n)) },
		func() error { return k.HoldingPos.Remove(ctx, key) },
	} {
		if err := rm(); err != nil {
			return err
		}
	}
	if n == 1 {
		return k.HoldingCount.Remove(ctx, p)
	}
	return k.HoldingCount.Set(ctx, p, n-1)
}

// holdingFind returns the replica whose weight range holds point (< the
// total weight) and point's offset in it: the replica and leaf a sample
// lands on.
func (k *Keeper) holdingFind(ctx context.Context, p sdk.AccAddress, n, point uint64) (types.ReplicaRef, uint64, error) {
	pos := uint64(0)
	for step := uint64(1) << (bits.Len64(n) - 1); step > 0; step >>= 1 {
		if pos+step > n {
			continue
		}
		v, err := k.holdingNode(ctx, p, pos+step)
		if err != nil {
			return types.ReplicaRef{}, 0, err
		}
		if v <= point {
			pos += step
			point -= v
		}
	}
	if pos >= n {
		return types.ReplicaRef{}, 0, errorsmod.Wrapf(types.ErrHoldingsBroken, "holdings of %s: point beyond the total weight", p)
	}
	ref, err := k.Holdings.Get(ctx, hk(p, pos+1))
	return ref, point, err
}
