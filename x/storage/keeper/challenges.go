package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/x/storage/types"
)

// Verification gas: a proof pays ProofGas, plus HashBlockGas for every
// 64-byte block SHA-256 compresses while checking it (the leaf, then one
// node per audit path step). Store reads and the one duty write are charged
// by the store as usual. Figures in docs/benchmarks.md.
const (
	ProofGas     = 300
	HashBlockGas = 10
)

// draw is a deterministic 64-bit number of a window's seed.
func draw(seed []byte, label string, parts ...uint64) uint64 {
	h := sha256.New()
	h.Write(seed)
	h.Write([]byte(label))
	var buf [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(buf[:], p)
		h.Write(buf[:])
	}
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// CurrentWindow returns the open window (zero Window before the first one).
func (k *Keeper) CurrentWindow(ctx context.Context) (types.Window, error) {
	w, err := k.Window.Get(ctx)
	if errors.Is(err, collections.ErrNotFound) {
		return types.Window{}, nil
	}
	return w, err
}

// accumulateSeed folds this block's header hash into the seed accumulator.
// A window's seed is drawn from the accumulator when it opens, so it depends
// on every block of the window before, and is unknown until the block that
// opens the window is final (ADR 009 has the residual risk).
func (k *Keeper) accumulateSeed(ctx context.Context) error {
	acc, err := k.SeedAcc.Get(ctx)
	if err != nil && !errors.Is(err, collections.ErrNotFound) {
		return err
	}
	h := sha256.New()
	h.Write([]byte("stratus/storage/seed"))
	h.Write(acc)
	h.Write(sdk.UnwrapSDKContext(ctx).HeaderHash())
	return k.SeedAcc.Set(ctx, h.Sum(nil))
}

// sampleSet builds one provider's duty without repeating a sample.
type sampleSet struct {
	duty types.Duty
	seen map[types.Sample]bool
}

func (s *sampleSet) add(dealID uint64, slot uint32, leaf uint64) {
	key := types.Sample{DealId: dealID, Slot: slot, LeafIndex: leaf}
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	s.duty.Samples = append(s.duty.Samples, key)
}

// openWindow gives every provider holding committed replicas its duty for
// the window: samples_per_window leaves drawn from its holdings weighted by
// bytes, plus one leaf of each replica committed since the last window and
// of each replica that missed. Work is O(providers × samples × log replicas)
// plus the fresh and suspect replicas, whatever the number of deals.
func (k *Keeper) openWindow(ctx context.Context, number uint64, params types.Params) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	h := sdkCtx.BlockHeight()
	acc, err := k.SeedAcc.Get(ctx)
	if err != nil && !errors.Is(err, collections.ErrNotFound) {
		return err
	}
	seedHash := sha256.New()
	seedHash.Write([]byte("stratus/storage/window"))
	seedHash.Write(acc)
	var nb [8]byte
	binary.BigEndian.PutUint64(nb[:], number)
	seedHash.Write(nb[:])
	seed := seedHash.Sum(nil)
	w := types.Window{Number: number, Seed: seed, OpenHeight: h, CloseHeight: h + int64(params.ProofWindow)}

	var order []string
	sets := map[string]*sampleSet{}
	setOf := func(provider string) *sampleSet {
		s := sets[provider]
		if s == nil {
			s = &sampleSet{duty: types.Duty{Window: number, Provider: provider}, seen: map[types.Sample]bool{}}
			sets[provider] = s
			order = append(order, provider)
		}
		return s
	}

	// Byte-weighted samples from each provider's holdings.
	var holders []sdk.AccAddress
	if err := k.HoldingCount.Walk(ctx, nil, func(p sdk.AccAddress, _ uint64) (bool, error) {
		holders = append(holders, p)
		return false, nil
	}); err != nil {
		return err
	}
	for _, p := range holders {
		total, n, err := k.holdingTotal(ctx, p)
		if err != nil {
			return err
		}
		if total == 0 {
			continue
		}
		set := setOf(p.String())
		label := "sample/" + string(p)
		// Distinct leaves: draw again on a repeat, within a bounded budget.
		want := int(min(uint64(params.SamplesPerWindow), total))
		for i := uint64(0); len(set.duty.Samples) < want && i < 8*uint64(params.SamplesPerWindow); i++ {
			ref, leaf, err := k.holdingFind(ctx, p, n, draw(seed, label, i)%total)
			if err != nil {
				return err
			}
			set.add(ref.DealId, ref.Slot, leaf)
		}
	}

	// One more leaf of every suspect and every new replica, as long as the
	// provider's duty still fits in one message; new replicas left over
	// wait for the next window (suspects stay suspects until proven).
	extra := func(pending collections.KeySet[ReplicaKey], label string, fresh bool) error {
		keys, err := collectKeys(ctx, pending, nil, 0)
		if err != nil {
			return err
		}
		for _, key := range keys {
			r, err := k.Replicas.Get(ctx, key)
			if err != nil && !errors.Is(err, collections.ErrNotFound) {
				return err
			}
			if err != nil || r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED {
				if fresh {
					if err := pending.Remove(ctx, key); err != nil {
						return err
					}
				}
				continue
			}
			set := setOf(r.Provider)
			if len(set.duty.Samples) >= types.MaxProofsPerMsg {
				continue
			}
			if fresh {
				if err := k.NewReplicas.Remove(ctx, key); err != nil {
					return err
				}
			}
			d, err := k.GetDeal(ctx, r.DealId)
			if err != nil {
				return err
			}
			leaves := merkle.LeafCount(d.SlotSize(), int(d.ChunkSize))
			set.add(r.DealId, r.Slot, draw(seed, label, r.DealId, uint64(r.Slot))%leaves)
		}
		return nil
	}
	if err := extra(k.Suspects, "suspect", false); err != nil {
		return err
	}
	if err := extra(k.NewReplicas, "fresh", true); err != nil {
		return err
	}

	em := sdkCtx.EventManager()
	for _, provider := range order {
		set := sets[provider]
		addr, err := k.addressCodec.StringToBytes(provider)
		if err != nil {
			return err
		}
		if err := k.Duties.Set(ctx, addr, set.duty); err != nil {
			return err
		}
		w.Challenges += uint32(len(set.duty.Samples))
		if err := em.EmitTypedEvent(&types.EventChallengeOpened{
			Window: number, Provider: provider, Samples: uint32(len(set.duty.Samples)), CloseHeight: w.CloseHeight,
		}); err != nil {
			return err
		}
	}
	if err := k.Window.Set(ctx, w); err != nil {
		return err
	}
	return em.EmitTypedEvent(&types.EventWindowOpened{Window: number, Seed: seed, CloseHeight: w.CloseHeight, Challenges: w.Challenges})
}

// owesSample reports whether a sample still binds its provider: the
// replica is still the provider's, committed, and its deal has not ended.
// A replica dropped, handed over or ended during the window owes nothing.
func (k *Keeper) owesSample(ctx context.Context, provider string, s types.Sample) (types.Replica, types.Deal, bool, error) {
	var d types.Deal
	r, err := k.Replicas.Get(ctx, collections.Join(s.DealId, s.Slot))
	if errors.Is(err, collections.ErrNotFound) {
		return r, d, false, nil
	} else if err != nil {
		return r, d, false, err
	}
	if r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED || r.Provider != provider {
		return r, d, false, nil
	}
	if d, err = k.GetDeal(ctx, s.DealId); err != nil {
		return r, d, false, err
	}
	// A deal past its end whose end the chain has not processed yet is
	// still owed: its last window is paid only if proven.
	return r, d, d.Live(), nil
}

// closeWindow judges every duty. A provider that left a sample it owed
// unanswered, or answered one with an invalid proof, fails the window: none
// of its replicas earns for it. Each replica with an unanswered sample
// misses: its collateral burns by missed_collateral_fraction (never less
// than its income for the window), it is challenged again every window, and
// after max_missed windows in a row with a miss it is dropped with all its
// collateral burned. A window in which every sample of a replica is
// answered ends its run of misses; a valid proof of one leaf while another
// leaf goes unanswered does not.
func (k *Keeper) closeWindow(ctx context.Context, w types.Window, params types.Params) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	var addrs []sdk.AccAddress
	var duties []types.Duty
	if err := k.Duties.Walk(ctx, nil, func(a sdk.AccAddress, d types.Duty) (bool, error) {
		addrs = append(addrs, a)
		duties = append(duties, d)
		return false, nil
	}); err != nil {
		return err
	}
	for i, duty := range duties {
		if err := k.Duties.Remove(ctx, addrs[i]); err != nil {
			return err
		}
		// collections.Pair holds pointers: it is no map key.
		var missed, proven []types.Replica
		seen := map[[2]uint64]bool{}
		unanswered := map[[2]uint64]bool{}
		for _, s := range duty.Samples {
			if !s.Answered {
				unanswered[[2]uint64{s.DealId, uint64(s.Slot)}] = true
			}
		}
		for _, s := range duty.Samples {
			key := [2]uint64{s.DealId, uint64(s.Slot)}
			if seen[key] {
				continue
			}
			seen[key] = true
			r, _, owed, err := k.owesSample(ctx, duty.Provider, s)
			if err != nil {
				return err
			}
			switch {
			case !owed:
			case unanswered[key]:
				missed = append(missed, r)
			case r.Missed > 0:
				proven = append(proven, r) // every sample of it answered: the run of misses ends
			}
		}
		for _, r := range proven {
			r.Missed = 0
			key := collections.Join(r.DealId, r.Slot)
			if err := k.Suspects.Remove(ctx, key); err != nil {
				return err
			}
			if err := k.Replicas.Set(ctx, key, r); err != nil {
				return err
			}
		}
		if !duty.Failed && len(missed) == 0 {
			continue
		}
		// Record the failure before any settlement, so a drop below pays
		// nothing for this window.
		if err := k.FailedWindows.Set(ctx, collections.Join(addrs[i], w.CloseHeight), types.FailedWindow{
			Provider: duty.Provider, Window: w.Number, OpenHeight: w.OpenHeight, CloseHeight: w.CloseHeight,
		}); err != nil {
			return err
		}
		if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventWindowFailed{
			Window: w.Number, Provider: duty.Provider, Unanswered: uint32(len(missed)), Invalid: duty.Failed,
		}); err != nil {
			return err
		}
		// One stake slash per failed window, however many replicas missed
		// (an outage is one fault, not one per replica): slash_invalid when
		// a miss drops a replica, as a wrong proof would, else slash_missed.
		// A window already failed by a wrong proof was slashed then.
		fraction, why := params.SlashMissed, "missed storage proof"
		for _, r := range missed {
			if r.Missed+1 >= params.MaxMissed {
				fraction, why = params.SlashInvalid, "missed storage proofs: replica dropped"
			}
		}
		slashed := math.ZeroInt()
		if len(missed) > 0 && !duty.Failed {
			var err error
			if slashed, err = k.slash(ctx, addrs[i], fraction, why); err != nil {
				return err
			}
		}
		for j, r := range missed {
			if j > 0 {
				slashed = math.ZeroInt()
			}
			if err := k.miss(ctx, w, r, slashed, params); err != nil {
				return err
			}
		}
	}
	return k.releaseHandedOver(ctx)
}

// releaseHandedOver releases the leaving replicas whose successors
// committed during the window that just closed and judged them.
func (k *Keeper) releaseHandedOver(ctx context.Context) error {
	keys, err := collectKeys(ctx, k.Releases, nil, 0)
	if err != nil {
		return err
	}
	for _, key := range keys {
		if err := k.Releases.Remove(ctx, key); err != nil {
			return err
		}
		d, err := k.GetDeal(ctx, key.K1())
		if err != nil {
			return err
		}
		if !d.Live() {
			continue // ended: every replica is gone already
		}
		if err := k.releaseLeaving(ctx, &d, key.K2()); err != nil {
			return err
		}
	}
	return nil
}

// miss charges one missed window to replica r (slashed is the window's
// stake slash, reported on the first replica's fault).
func (k *Keeper) miss(ctx context.Context, w types.Window, r types.Replica, slashed math.Int, params types.Params) error {
	d, err := k.GetDeal(ctx, r.DealId)
	if err != nil {
		return err
	}
	r.Missed++
	burn := r.Collateral
	if r.Missed < params.MaxMissed {
		income := types.Earned(r.Price.Amount, d.BillableBytes, params.ProofWindow)
		burn = math.MinInt(r.Collateral, math.MaxInt(params.MissedCollateralFraction.MulInt(r.Collateral).TruncateInt(), income))
	}
	burned, err := k.burnCollateral(ctx, &r, burn, ReasonMissedProofs)
	if err != nil {
		return err
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventFault{
		Window: w.Number, Provider: r.Provider, DealId: r.DealId, MissedInARow: r.Missed,
		Slashed: slashed.String(), CollateralBurned: burned.String(),
	}); err != nil {
		return err
	}
	key := collections.Join(r.DealId, r.Slot)
	if r.Missed >= params.MaxMissed {
		return k.dropReplica(ctx, &d, r, ReasonMissedProofs)
	}
	if err := k.Suspects.Set(ctx, key); err != nil {
		return err
	}
	return k.Replicas.Set(ctx, key, r)
}

// burnCollateral burns amount of r's collateral; the caller saves r.
func (k *Keeper) burnCollateral(ctx context.Context, r *types.Replica, amount math.Int, reason string) (math.Int, error) {
	if !amount.IsPositive() {
		return math.ZeroInt(), nil
	}
	provider, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return math.Int{}, err
	}
	burned, err := k.providers.BurnCollateral(ctx, provider, amount, "storage collateral: "+reason)
	if err != nil {
		return math.Int{}, err
	}
	r.Collateral = r.Collateral.Sub(amount)
	return burned, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventCollateralBurned{
		DealId: r.DealId, Slot: r.Slot, Provider: r.Provider, Amount: sdk.NewCoin(k.bondDenom, burned), Reason: reason,
	})
}

// SubmitProofs checks proofs against the provider's duty for the current
// window. Malformed input (no duty, a sample not in it, one answered
// already, another window) fails the whole message and changes nothing. A
// well-formed proof that does not verify is a fault: the replica is dropped,
// its collateral burned, and the provider's window fails.
func (k *Keeper) SubmitProofs(ctx context.Context, msg *types.MsgSubmitProofs) (*types.MsgSubmitProofsResponse, error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	provider, err := k.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	w, err := k.CurrentWindow(ctx)
	if err != nil {
		return nil, err
	}
	if msg.Window != 0 && msg.Window != w.Number {
		return nil, errorsmod.Wrapf(types.ErrWindowClosed, "window %d; window %d is open until height %d", msg.Window, w.Number, w.CloseHeight)
	}
	duty, err := k.Duties.Get(ctx, provider)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, errorsmod.Wrapf(types.ErrNotChallenged, "%s has no samples in window %d (closes at %d)", msg.Provider, w.Number, w.CloseHeight)
	} else if err != nil {
		return nil, err
	}
	index := make(map[[2]uint64]int, len(duty.Samples))
	dealSampled := make(map[uint64]bool, len(duty.Samples))
	for i, s := range duty.Samples {
		index[[2]uint64{s.DealId, s.LeafIndex}] = i
		dealSampled[s.DealId] = true
	}
	picked := make([]int, len(msg.Proofs))
	paths := make([][]merkle.Hash, len(msg.Proofs))
	for j, p := range msg.Proofs {
		i, ok := index[[2]uint64{p.DealId, p.LeafIndex}]
		switch {
		case !ok && dealSampled[p.DealId]:
			return nil, errorsmod.Wrapf(types.ErrWrongLeafIndex, "deal %d leaf %d is not a sample of window %d", p.DealId, p.LeafIndex, w.Number)
		case !ok:
			return nil, errorsmod.Wrapf(types.ErrNotChallenged, "deal %d, window %d (closes at %d)", p.DealId, w.Number, w.CloseHeight)
		case duty.Samples[i].Answered:
			return nil, errorsmod.Wrapf(types.ErrAlreadyProven, "deal %d leaf %d in window %d", p.DealId, p.LeafIndex, w.Number)
		}
		if paths[j], err = p.Hashes(); err != nil {
			return nil, err
		}
		picked[j] = i
	}

	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	res := &types.MsgSubmitProofsResponse{}
	em := sdkCtx.EventManager()
	for j, p := range msg.Proofs {
		s := &duty.Samples[picked[j]]
		s.Answered = true
		sdkCtx.GasMeter().ConsumeGas(ProofGas+HashBlockGas*(uint64(len(p.Leaf))/64+1+2*uint64(len(p.AuditPath))), "verify storage proof")
		r, d, owed, err := k.owesSample(ctx, msg.Provider, *s)
		if err != nil {
			return nil, err
		}
		if !owed {
			res.Waived = append(res.Waived, s.DealId) // the replica left the provider during the window
			continue
		}
		reason := verify(d, r.Shard, p, paths[j])
		if reason == "" {
			res.Accepted = append(res.Accepted, d.Id)
			if err := em.EmitTypedEvent(&types.EventProofAccepted{Window: w.Number, Provider: msg.Provider, DealId: d.Id}); err != nil {
				return nil, err
			}
			continue
		}
		res.Rejected = append(res.Rejected, d.Id)
		firstFault := !duty.Failed
		duty.Failed = true
		if err := em.EmitTypedEvent(&types.EventProofRejected{Window: w.Number, Provider: msg.Provider, DealId: d.Id, Reason: reason}); err != nil {
			return nil, err
		}
		if firstFault { // one stake slash per window
			if _, err := k.slash(ctx, provider, params.SlashInvalid, "invalid storage proof"); err != nil {
				return nil, err
			}
		}
		if _, err := k.burnCollateral(ctx, &r, r.Collateral, ReasonInvalidProof); err != nil {
			return nil, err
		}
		if err := k.dropReplica(ctx, &d, r, ReasonInvalidProof); err != nil {
			return nil, err
		}
	}
	if err := k.Duties.Set(ctx, provider, duty); err != nil {
		return nil, err
	}
	return res, nil
}

// OpenSamples are provider's unanswered samples of the current window that
// it still owes (not those of replicas that left it during the window).
func (k *Keeper) OpenSamples(ctx context.Context, provider sdk.AccAddress) ([]types.Challenge, error) {
	duty, err := k.Duties.Get(ctx, provider)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return k.owedOpen(ctx, duty, 0)
}

// owedOpen lists the duty's unanswered samples that are still owed, at most
// limit of them (0: all).
func (k *Keeper) owedOpen(ctx context.Context, duty types.Duty, limit int) ([]types.Challenge, error) {
	var out []types.Challenge
	for _, s := range duty.Samples {
		if s.Answered {
			continue
		}
		if _, _, owed, err := k.owesSample(ctx, duty.Provider, s); err != nil {
			return nil, err
		} else if owed {
			out = append(out, types.Challenge{
				Window: duty.Window, Provider: duty.Provider, DealId: s.DealId, Slot: s.Slot, LeafIndex: s.LeafIndex,
			})
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// dutyDone reports whether the provider has proven the window already:
// no invalid proof, and every sample answered or no longer owed.
func (k *Keeper) dutyDone(ctx context.Context, d types.Duty) (bool, error) {
	if d.Failed {
		return false, nil
	}
	open, err := k.owedOpen(ctx, d, 1)
	return len(open) == 0, err
}

// verify returns "" for a correct proof of the slot holding shard, else
// why it is wrong: each slot is proven against its own shard's root.
func verify(d types.Deal, shard uint32, p types.StorageProof, path []merkle.Hash) string {
	root, err := merkle.HashFromBytes(d.SlotRoot(shard))
	if err != nil {
		return "root of shard " + strconv.FormatUint(uint64(shard), 10) + " unreadable"
	}
	if err := merkle.VerifyFileProof(root, d.SlotSize(), int(d.ChunkSize), p.LeafIndex, p.Leaf, path); err != nil {
		return err.Error()
	}
	return ""
}
