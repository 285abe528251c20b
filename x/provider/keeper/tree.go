package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// The pick tree keeps every ACTIVE provider in a dense slot 1..n and a
// Fenwick (binary indexed) tree over the slots' weights (their stakes):
// node i holds the sum of the weights of slots (i - lowbit(i), i]. Adding,
// re-weighting and removing a provider, and finding the slot under a weight
// point, each read and write O(log n) entries. Removal swaps the last slot
// into the hole so slots stay dense.

func lowbit(i uint64) uint64 { return i & -i }

func (k *Keeper) slotCount(ctx context.Context) (uint64, error) {
	n, err := k.SlotCount.Get(ctx)
	if errors.Is(err, collections.ErrNotFound) {
		return 0, nil
	}
	return n, err
}

func (k *Keeper) node(ctx context.Context, i uint64) (math.Int, error) {
	v, err := k.Tree.Get(ctx, i)
	if errors.Is(err, collections.ErrNotFound) {
		return math.ZeroInt(), nil
	}
	return v, err
}

// treeAdd adds delta to slot i's weight in a tree of n slots.
func (k *Keeper) treeAdd(ctx context.Context, i, n uint64, delta math.Int) error {
	for ; i <= n; i += lowbit(i) {
		v, err := k.node(ctx, i)
		if err != nil {
			return err
		}
		if err := k.Tree.Set(ctx, i, v.Add(delta)); err != nil {
			return err
		}
	}
	return nil
}

// treeTotal is the sum of all weights.
func (k *Keeper) treeTotal(ctx context.Context) (math.Int, uint64, error) {
	n, err := k.slotCount(ctx)
	if err != nil {
		return math.Int{}, 0, err
	}
	sum := math.ZeroInt()
	for i := n; i > 0; i -= lowbit(i) {
		v, err := k.node(ctx, i)
		if err != nil {
			return math.Int{}, 0, err
		}
		sum = sum.Add(v)
	}
	return sum, n, nil
}

// treeSet puts addr in the tree with weight w, or re-weights it.
func (k *Keeper) treeSet(ctx context.Context, addr sdk.AccAddress, w math.Int) error {
	slot, err := k.ProviderSlot.Get(ctx, addr)
	switch {
	case err == nil:
		old, err := k.SlotWeight.Get(ctx, slot)
		if err != nil {
			return err
		}
		if old.Equal(w) {
			return nil
		}
		n, err := k.slotCount(ctx)
		if err != nil {
			return err
		}
		if err := k.treeAdd(ctx, slot, n, w.Sub(old)); err != nil {
			return err
		}
		return k.SlotWeight.Set(ctx, slot, w)
	case !errors.Is(err, collections.ErrNotFound):
		return err
	}

	// Append slot n+1: its node covers (i - lowbit(i), i], that is its own
	// weight plus the nodes of the slots below it in that range.
	n, err := k.slotCount(ctx)
	if err != nil {
		return err
	}
	i := n + 1
	sum := w
	for j := i - 1; j > i-lowbit(i); j -= lowbit(j) {
		v, err := k.node(ctx, j)
		if err != nil {
			return err
		}
		sum = sum.Add(v)
	}
	if err := k.Tree.Set(ctx, i, sum); err != nil {
		return err
	}
	if err := k.SlotWeight.Set(ctx, i, w); err != nil {
		return err
	}
	if err := k.SlotProvider.Set(ctx, i, addr); err != nil {
		return err
	}
	if err := k.ProviderSlot.Set(ctx, addr, i); err != nil {
		return err
	}
	return k.SlotCount.Set(ctx, i)
}

// treeRemove takes addr out of the tree if it is there: the last slot's
// provider moves into its slot and the last node is dropped.
func (k *Keeper) treeRemove(ctx context.Context, addr sdk.AccAddress) error {
	slot, err := k.ProviderSlot.Get(ctx, addr)
	if errors.Is(err, collections.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	n, err := k.slotCount(ctx)
	if err != nil {
		return err
	}
	w, err := k.SlotWeight.Get(ctx, slot)
	if err != nil {
		return err
	}
	if slot != n {
		lastAddr, err := k.SlotProvider.Get(ctx, n)
		if err != nil {
			return err
		}
		lastW, err := k.SlotWeight.Get(ctx, n)
		if err != nil {
			return err
		}
		// Slot n's own weight need not be zeroed first: node n is dropped
		// below and no node of slots 1..n-1 covers slot n.
		if err := k.treeAdd(ctx, slot, n-1, lastW.Sub(w)); err != nil {
			return err
		}
		if err := k.SlotWeight.Set(ctx, slot, lastW); err != nil {
			return err
		}
		if err := k.SlotProvider.Set(ctx, slot, lastAddr); err != nil {
			return err
		}
		if err := k.ProviderSlot.Set(ctx, lastAddr, slot); err != nil {
			return err
		}
	}
	for _, err := range []error{
		k.Tree.Remove(ctx, n), k.SlotWeight.Remove(ctx, n), k.SlotProvider.Remove(ctx, n),
		k.ProviderSlot.Remove(ctx, addr), k.SlotCount.Set(ctx, n-1),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
