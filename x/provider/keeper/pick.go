package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/big"
	"math/bits"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// PickBudget is how many distinct tree providers one pick of count providers
// may examine before it gives up: the cost of a pick depends on count, never
// on how many providers exist.
func PickBudget(count int) int { return 8*count + 32 }

// seededDraws is a deterministic stream of numbers: draw i is
// sha256(seed || i) read as a big-endian integer, reduced modulo the bound.
// The modulo bias is below 2^-128 for any bound a stake sum can reach.
type seededDraws struct {
	seed    []byte
	counter uint64
}

func (d *seededDraws) below(bound math.Int) math.Int {
	var ctr [8]byte
	binary.BigEndian.PutUint64(ctr[:], d.counter)
	d.counter++
	h := sha256.New()
	h.Write(d.seed)
	h.Write(ctr[:])
	x := new(big.Int).SetBytes(h.Sum(nil))
	return math.NewIntFromBigInt(x.Mod(x, bound.BigInt()))
}

// eligible reports whether p may take the work described by c.
func eligible(p types.Provider, c types.PickCriteria, minStake math.Int) bool {
	if !p.TakesNewWork() || p.FreeStorage() < c.StorageBytes || p.FreeComputeSlots() < c.ComputeSlots {
		return false
	}
	if c.Collateral != nil && p.FreeStake(minStake).LT(c.Collateral(p)) {
		return false
	}
	if c.MaxStoragePrice != nil && p.StoragePrice.Amount.GT(*c.MaxStoragePrice) {
		return false
	}
	if c.MaxComputePrice != nil && p.ComputePrice.Amount.GT(*c.MaxComputePrice) {
		return false
	}
	return true
}

func validatePickCriteria(c types.PickCriteria) error {
	if c.Count < 1 || c.Count > types.MaxPickCount {
		return errorsmod.Wrapf(types.ErrInvalidPickCriteria, "count %d not in [1, %d]", c.Count, types.MaxPickCount)
	}
	if len(c.Prefer) > types.MaxPreferred {
		return errorsmod.Wrapf(types.ErrInvalidPickCriteria, "%d preferred providers, at most %d", len(c.Prefer), types.MaxPreferred)
	}
	if len(c.Exclude) > types.MaxPreferred {
		return errorsmod.Wrapf(types.ErrInvalidPickCriteria, "%d excluded providers, at most %d", len(c.Exclude), types.MaxPreferred)
	}
	if c.MaxStoragePrice != nil && (c.MaxStoragePrice.IsNil() || c.MaxStoragePrice.IsNegative()) {
		return errorsmod.Wrap(types.ErrInvalidPickCriteria, "negative max storage price")
	}
	if c.MaxComputePrice != nil && (c.MaxComputePrice.IsNil() || c.MaxComputePrice.IsNegative()) {
		return errorsmod.Wrap(types.ErrInvalidPickCriteria, "negative max compute price")
	}
	return nil
}

// PickProviders picks c.Count distinct eligible providers.
//
// Preferred providers come first: the eligible ones are drawn without
// replacement with probability proportional to stake. The rest are drawn
// from the pick tree, also without replacement: every provider examined
// (picked, excluded, preferred or found ineligible) has its weight masked
// out of the tree for the rest of the pick, so no draw repeats a provider.
// Each draw costs O(log n) store reads; at most PickBudget(c.Count) tree
// providers are examined, so a pick is O(count · log n) whatever n is.
func (k *Keeper) PickProviders(ctx context.Context, c types.PickCriteria) ([]sdk.AccAddress, error) {
	if err := validatePickCriteria(c); err != nil {
		return nil, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	minStake := params.MinStake.Amount
	draws := &seededDraws{seed: c.Seed}
	seen := make(map[string]bool, len(c.Exclude)+len(c.Prefer)+c.Count)
	for _, a := range c.Exclude {
		seen[string(a)] = true
	}
	out := make([]sdk.AccAddress, 0, c.Count)

	type candidate struct {
		addr  sdk.AccAddress
		stake math.Int
	}
	var preferred []candidate
	for _, a := range c.Prefer {
		if seen[string(a)] {
			continue
		}
		seen[string(a)] = true
		p, err := k.Providers.Get(ctx, a)
		if errors.Is(err, collections.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if eligible(p, c, minStake) && p.Stake.IsPositive() {
			preferred = append(preferred, candidate{addr: a, stake: p.Stake})
		}
	}
	for len(out) < c.Count && len(preferred) > 0 {
		total := math.ZeroInt()
		for _, cand := range preferred {
			total = total.Add(cand.stake)
		}
		r := draws.below(total)
		i := 0
		for ; i < len(preferred)-1; i++ {
			if r.LT(preferred[i].stake) {
				break
			}
			r = r.Sub(preferred[i].stake)
		}
		out = append(out, preferred[i].addr)
		preferred = append(preferred[:i], preferred[i+1:]...)
	}
	if len(out) == c.Count {
		return out, nil
	}

	total, n, err := k.treeTotal(ctx)
	if err != nil {
		return nil, err
	}
	masked := make(map[uint64]math.Int)
	remaining := total
	mask := func(a sdk.AccAddress) error {
		slot, err := k.ProviderSlot.Get(ctx, a)
		if errors.Is(err, collections.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if _, done := masked[slot]; done {
			return nil
		}
		w, err := k.SlotWeight.Get(ctx, slot)
		if err != nil {
			return err
		}
		masked[slot] = w
		remaining = remaining.Sub(w)
		return nil
	}
	for _, list := range [][]sdk.AccAddress{c.Exclude, c.Prefer} {
		for _, a := range list {
			if err := mask(a); err != nil {
				return nil, err
			}
		}
	}

	for examined := 0; len(out) < c.Count && examined < PickBudget(c.Count) && remaining.IsPositive(); examined++ {
		slot, err := k.treeFind(ctx, n, draws.below(remaining), masked)
		if err != nil {
			return nil, err
		}
		addr, err := k.SlotProvider.Get(ctx, slot)
		if err != nil {
			return nil, err
		}
		if err := mask(addr); err != nil {
			return nil, err
		}
		p, err := k.Providers.Get(ctx, addr)
		if err != nil {
			return nil, err
		}
		if eligible(p, c, minStake) {
			out = append(out, addr)
		}
	}
	if len(out) < c.Count {
		return nil, errorsmod.Wrapf(types.ErrNotEnoughProviders, "found %d of %d among %d active providers", len(out), c.Count, n)
	}
	return out, nil
}

// treeFind returns the slot whose weight interval contains r, the tree's
// weights reduced by the masked slots: the smallest slot s with
// prefix(s) > r. It descends from the highest power of two not above n.
func (k *Keeper) treeFind(ctx context.Context, n uint64, r math.Int, masked map[uint64]math.Int) (uint64, error) {
	if n == 0 {
		return 0, errorsmod.Wrap(types.ErrNotEnoughProviders, "no active providers")
	}
	var pos uint64
	for step := uint64(1) << (bits.Len64(n) - 1); step > 0; step >>= 1 {
		next := pos + step
		if next > n {
			continue
		}
		v, err := k.node(ctx, next)
		if err != nil {
			return 0, err
		}
		for s, w := range masked {
			if s > pos && s <= next {
				v = v.Sub(w)
			}
		}
		if v.LTE(r) {
			pos = next
			r = r.Sub(v)
		}
	}
	if pos+1 > n {
		return 0, errorsmod.Wrap(types.ErrNotEnoughProviders, "pick tree is inconsistent")
	}
	return pos + 1, nil
}
