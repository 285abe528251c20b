package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/x/storage/types"
)

// ProofGas is charged per proof on top of store access: a verification
// costs about as much as a few dozen store reads.
const ProofGas = 3000

// draw is the i-th deterministic 64-bit number of a window's seed.
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

// openWindow draws the challenges of a new window: up to
// challenges_per_window replicas sampled uniformly from the dense index,
// plus every replica committed since the last window. Work is
// O(challenges), independent of how many deals exist.
func (k *Keeper) openWindow(ctx context.Context, number uint64, params types.Params) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	h := sdkCtx.BlockHeight()
	seedHash := sha256.New()
	seedHash.Write(sdkCtx.HeaderHash())
	var nb [8]byte
	binary.BigEndian.PutUint64(nb[:], number)
	seedHash.Write(nb[:])
	seed := seedHash.Sum(nil)
	w := types.Window{Number: number, Seed: seed, OpenHeight: h, CloseHeight: h + int64(params.ProofWindow)}

	var opened []types.Challenge
	challenge := func(ref types.ReplicaRef) error {
		r, err := k.Replicas.Get(ctx, collections.Join(ref.DealId, ref.Slot))
		if errors.Is(err, collections.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			return nil
		}
		provider, err := k.addressCodec.StringToBytes(r.Provider)
		if err != nil {
			return err
		}
		key := collections.Join(sdk.AccAddress(provider), r.DealId)
		if has, err := k.Challenges.Has(ctx, key); err != nil || has {
			return err
		}
		d, err := k.GetDeal(ctx, r.DealId)
		if err != nil {
			return err
		}
		leaves := merkle.LeafCount(d.Size_, int(d.ChunkSize))
		c := types.Challenge{
			Window: number, Provider: r.Provider, DealId: r.DealId, Slot: r.Slot,
			LeafIndex: draw(seed, "leaf", r.DealId, uint64(r.Slot)) % leaves,
		}
		opened = append(opened, c)
		return k.Challenges.Set(ctx, key, c)
	}

	n, err := k.DenseCountOrZero(ctx)
	if err != nil {
		return err
	}
	want := uint64(params.ChallengesPerWindow)
	for i := uint64(0); n > 0 && uint64(len(opened)) < min(want, n) && i < 2*want+8; i++ {
		ref, err := k.DenseReplicas.Get(ctx, draw(seed, "replica", i)%n)
		if err != nil {
			return err
		}
		if err := challenge(ref); err != nil {
			return err
		}
	}
	fresh, err := collectKeys(ctx, k.NewReplicas, nil, 0)
	if err != nil {
		return err
	}
	for _, key := range fresh {
		if err := challenge(types.ReplicaRef{DealId: key.K1(), Slot: key.K2()}); err != nil {
			return err
		}
		if err := k.NewReplicas.Remove(ctx, key); err != nil {
			return err
		}
	}

	w.Challenges = uint32(len(opened))
	if err := k.Window.Set(ctx, w); err != nil {
		return err
	}
	em := sdkCtx.EventManager()
	if err := em.EmitTypedEvent(&types.EventWindowOpened{Window: number, Seed: seed, CloseHeight: w.CloseHeight, Challenges: w.Challenges}); err != nil {
		return err
	}
	for _, c := range opened {
		if err := em.EmitTypedEvent(&types.EventChallengeOpened{
			Window: number, Provider: c.Provider, DealId: c.DealId, LeafIndex: c.LeafIndex, CloseHeight: w.CloseHeight,
		}); err != nil {
			return err
		}
	}
	return nil
}

// closeWindow turns every unanswered challenge into a fault: slash_missed,
// and after max_missed in a row the replica is dropped and its slot repaired.
func (k *Keeper) closeWindow(ctx context.Context, w types.Window, params types.Params) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	var all []types.Challenge
	var keys []collections.Pair[sdk.AccAddress, uint64]
	if err := k.Challenges.Walk(ctx, nil, func(key collections.Pair[sdk.AccAddress, uint64], c types.Challenge) (bool, error) {
		keys = append(keys, key)
		all = append(all, c)
		return false, nil
	}); err != nil {
		return err
	}
	for _, key := range keys {
		if err := k.Challenges.Remove(ctx, key); err != nil {
			return err
		}
	}
	for _, c := range all {
		if c.Answered {
			continue
		}
		rkey := collections.Join(c.DealId, c.Slot)
		r, err := k.Replicas.Get(ctx, rkey)
		if errors.Is(err, collections.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED || r.Provider != c.Provider {
			continue // dropped or replaced during the window
		}
		provider, err := k.addressCodec.StringToBytes(r.Provider)
		if err != nil {
			return err
		}
		r.Missed++
		slashed, err := k.slash(ctx, provider, params.SlashMissed, "missed storage proof")
		if err != nil {
			return err
		}
		if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventFault{
			Window: w.Number, Provider: r.Provider, DealId: r.DealId, MissedInARow: r.Missed, Slashed: slashed.String(),
		}); err != nil {
			return err
		}
		d, err := k.GetDeal(ctx, r.DealId)
		if err != nil {
			return err
		}
		if r.Missed >= params.MaxMissed {
			if err := k.dropReplica(ctx, &d, r, ReasonMissedProofs); err != nil {
				return err
			}
			continue
		}
		if err := k.Replicas.Set(ctx, rkey, r); err != nil {
			return err
		}
	}
	return nil
}

// SubmitProofs checks every proof against the provider's open challenges.
// Malformed input (no such challenge, answered already, another leaf) fails
// the whole message and changes nothing; a well-formed proof that does not
// verify is a fault: the replica is dropped and the provider slashed.
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
	type checked struct {
		proof     types.StorageProof
		challenge types.Challenge
		path      []merkle.Hash
	}
	all := make([]checked, 0, len(msg.Proofs))
	for _, p := range msg.Proofs {
		c, err := k.Challenges.Get(ctx, collections.Join(sdk.AccAddress(provider), p.DealId))
		if errors.Is(err, collections.ErrNotFound) {
			return nil, errorsmod.Wrapf(types.ErrNotChallenged, "deal %d, window %d (closes at %d)", p.DealId, w.Number, w.CloseHeight)
		} else if err != nil {
			return nil, err
		}
		if c.Answered {
			return nil, errorsmod.Wrapf(types.ErrAlreadyProven, "deal %d in window %d", p.DealId, w.Number)
		}
		if c.LeafIndex != p.LeafIndex {
			return nil, errorsmod.Wrapf(types.ErrWrongLeafIndex, "deal %d: challenged leaf %d, proof for %d", p.DealId, c.LeafIndex, p.LeafIndex)
		}
		path, err := p.Hashes()
		if err != nil {
			return nil, err
		}
		all = append(all, checked{proof: p, challenge: c, path: path})
	}

	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	res := &types.MsgSubmitProofsResponse{}
	em := sdkCtx.EventManager()
	for _, x := range all {
		sdkCtx.GasMeter().ConsumeGas(ProofGas, "verify storage proof")
		d, err := k.GetDeal(ctx, x.proof.DealId)
		if err != nil {
			return nil, err
		}
		rkey := collections.Join(x.challenge.DealId, x.challenge.Slot)
		r, err := k.Replicas.Get(ctx, rkey)
		if err != nil {
			return nil, err
		}
		reason := verify(d, x.proof, x.path)
		if reason == "" {
			x.challenge.Answered = true
			if err := k.Challenges.Set(ctx, collections.Join(sdk.AccAddress(provider), d.Id), x.challenge); err != nil {
				return nil, err
			}
			r.Missed = 0
			if err := k.settle(ctx, &d, &r, sdkCtx.BlockHeight()); err != nil {
				return nil, err
			}
			if err := k.Replicas.Set(ctx, rkey, r); err != nil {
				return nil, err
			}
			if err := k.setDeal(ctx, d); err != nil {
				return nil, err
			}
			res.Accepted = append(res.Accepted, d.Id)
			if err := em.EmitTypedEvent(&types.EventProofAccepted{Window: w.Number, Provider: msg.Provider, DealId: d.Id}); err != nil {
				return nil, err
			}
			continue
		}
		res.Rejected = append(res.Rejected, d.Id)
		if err := em.EmitTypedEvent(&types.EventProofRejected{Window: w.Number, Provider: msg.Provider, DealId: d.Id, Reason: reason}); err != nil {
			return nil, err
		}
		if _, err := k.slash(ctx, provider, params.SlashInvalid, "invalid storage proof"); err != nil {
			return nil, err
		}
		if err := k.dropReplica(ctx, &d, r, ReasonInvalidProof); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// verify returns "" for a correct proof, else why it is wrong.
func verify(d types.Deal, p types.StorageProof, path []merkle.Hash) string {
	root, err := merkle.HashFromBytes(d.Root)
	if err != nil {
		return "deal root unreadable"
	}
	want, err := merkle.LeafSize(d.Size_, int(d.ChunkSize), p.LeafIndex)
	if err != nil {
		return err.Error()
	}
	if uint64(len(p.Leaf)) != want {
		return "leaf has the wrong size"
	}
	if err := merkle.VerifyProof(root, merkle.LeafCount(d.Size_, int(d.ChunkSize)), p.LeafIndex, p.Leaf, path); err != nil {
		return err.Error()
	}
	return ""
}
