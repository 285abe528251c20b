package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/x/internal/payout"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	"github.com/stratusnet/stratus/x/storage/types"
)

// Reasons recorded when a replica leaves its slot.
const (
	ReasonMissedProofs        = "missed_proofs"
	ReasonInvalidProof        = "invalid_proof"
	ReasonCommitTimeout       = "commit_timeout"
	ReasonProviderDeactivated = "provider_deactivated"
	ReasonHandedOver          = "handed_over"
)

// pickSeed derives a provider-pick seed from the block and what is assigned.
func pickSeed(ctx sdk.Context, dealID uint64, slot uint32, attempt uint32) []byte {
	h := sha256.New()
	h.Write([]byte("stratus/storage/pick"))
	h.Write(ctx.HeaderHash())
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], dealID)
	binary.BigEndian.PutUint32(buf[8:12], slot)
	binary.BigEndian.PutUint32(buf[12:], attempt)
	h.Write(buf[:])
	return h.Sum(nil)
}

// CreateDeal escrows the payment at max price, picks replicas distinct
// providers and reserves their capacity. Every check happens before any
// write, and the message server's error rolls back partial writes.
func (k *Keeper) CreateDeal(ctx context.Context, msg *types.MsgCreateDeal) (*types.MsgCreateDealResponse, error) {
	return k.createDeal(ctx, msg, nil, 0)
}

// CreateDealWithHolders is CreateDeal for data some providers already hold
// (a compute job's agreed output): the eligible holders (active, with room,
// at most max_price) take the first slots and are committed at once; the
// other slots are picked as usual and fetch from the first holder. At least
// one holder must be eligible, since nobody else has the data. chunkSize
// is the leaf size the data's root was computed with (a job's chunk_size,
// fixed at its submission): the deal is proven with it, whatever the
// chunk_size param is now.
func (k *Keeper) CreateDealWithHolders(ctx context.Context, msg *types.MsgCreateDeal, holders []sdk.AccAddress, chunkSize uint32) (*types.MsgCreateDealResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	if len(holders) == 0 {
		return nil, errorsmod.Wrap(types.ErrNoProviders, "no provider holds the data")
	}
	if chunkSize == 0 {
		return nil, errorsmod.Wrap(types.ErrInvalidRoot, "no chunk size for the data's root")
	}
	return k.createDeal(ctx, msg, holders, chunkSize)
}

// CheckDealTerms checks a deal's size, replicas, duration and max price
// against the params, as CreateDeal would, and returns its escrow. x/compute
// checks a job's store_output with it at submit.
func (k *Keeper) CheckDealTerms(ctx context.Context, size uint64, replicas uint32, duration uint64, maxPrice sdk.DecCoin) (sdk.Coin, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	if replicas == 0 {
		return sdk.Coin{}, errorsmod.Wrap(types.ErrInvalidReplicas, "at least one replica")
	}
	escrow, err := k.checkDealTerms(params, size, types.Scheme{K: 1, M: replicas - 1, ShardSize: size}, duration, maxPrice)
	if err != nil {
		return escrow, err
	}
	return escrow.Add(k.dealFee(params)), nil
}

// billable is what a deal of size bytes is billed for.
func billable(params types.Params, size uint64) uint64 { return max(size, params.MinBillableBytes) }

// dealFee is the fee a new deal pays (zero when unset).
func (k *Keeper) dealFee(params types.Params) sdk.Coin {
	if params.DealFee.Amount.IsNil() || !params.DealFee.IsPositive() {
		return sdk.NewCoin(k.bondDenom, math.ZeroInt())
	}
	return params.DealFee
}

// collateralFor is what a provider at price locks for a replica of d
// assigned now: collateral_ratio x its value for the deal's remaining blocks.
func collateralFor(params types.Params, price math.LegacyDec, billableBytes uint64, remaining int64) math.Int {
	if remaining <= 0 {
		return math.ZeroInt()
	}
	return types.EscrowFor(price.Mul(params.CollateralRatio), billableBytes, uint64(remaining), 1)
}

// pickCollateral is the pick filter for slots of d: a provider must be
// able to lock the collateral its own price implies.
func pickCollateral(params types.Params, billableBytes uint64, remaining int64) func(providertypes.Provider) math.Int {
	return func(p providertypes.Provider) math.Int {
		return collateralFor(params, p.StoragePrice.Amount, billableBytes, remaining)
	}
}

// checkDealTerms checks a deal of size bytes in scheme s against the params
// and returns its escrow: every one of the n slots is billed for a shard.
func (k *Keeper) checkDealTerms(params types.Params, size uint64, s types.Scheme, duration uint64, maxPrice sdk.DecCoin) (escrow sdk.Coin, err error) {
	switch {
	case size > params.MaxDealSize:
		return escrow, errorsmod.Wrapf(types.ErrInvalidSize, "%d bytes, at most %d", size, params.MaxDealSize)
	case s.N() == 0 || s.N() > params.MaxReplicas:
		return escrow, errorsmod.Wrapf(types.ErrInvalidReplicas, "%d slots, want 1 to %d", s.N(), params.MaxReplicas)
	case s.Erasure() && s.K > params.MaxDataShards:
		return escrow, errorsmod.Wrapf(types.ErrInvalidScheme, "%d data shards, at most %d", s.K, params.MaxDataShards)
	case s.Erasure() && s.M > params.MaxParityShards:
		return escrow, errorsmod.Wrapf(types.ErrInvalidScheme, "%d parity shards, at most %d", s.M, params.MaxParityShards)
	case duration < params.MinDurationBlocks || duration > params.MaxDurationBlocks:
		return escrow, errorsmod.Wrapf(types.ErrInvalidDuration, "%d blocks, want %d to %d", duration, params.MinDurationBlocks, params.MaxDurationBlocks)
	case maxPrice.Denom != k.bondDenom:
		return escrow, errorsmod.Wrapf(types.ErrInvalidPrice, "max_price denom %q, want %q", maxPrice.Denom, k.bondDenom)
	case maxPrice.Amount.IsNil() || !maxPrice.Amount.IsPositive():
		return escrow, errorsmod.Wrapf(types.ErrInvalidPrice, "max_price %s must be positive", maxPrice)
	}
	// An absurd price overflows the 256-bit integers of the escrow; that is
	// the caller's error, never a panic.
	defer func() {
		if r := recover(); r != nil {
			err = errorsmod.Wrapf(types.ErrInvalidPrice, "max_price %s: the escrow does not fit: %v", maxPrice, r)
		}
	}()
	return sdk.NewCoin(k.bondDenom, types.EscrowFor(maxPrice.Amount, billable(params, s.ShardSize), duration, s.N())), nil
}

func (k *Keeper) eligibleHolders(ctx context.Context, holders []sdk.AccAddress, size uint64, maxPrice math.LegacyDec, replicas uint32,
	collateral func(providertypes.Provider) math.Int, minStake math.Int,
) ([]sdk.AccAddress, error) {
	var out []sdk.AccAddress
	for _, h := range holders {
		if len(out) == int(replicas) {
			break
		}
		p, err := k.providers.GetProvider(ctx, h)
		if errors.Is(err, providertypes.ErrProviderNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if p.Status != providertypes.ProviderStatus_PROVIDER_STATUS_ACTIVE || p.StorageCapacity-p.StorageUsed < size ||
			p.StoragePrice.Amount.GT(maxPrice) || p.FreeStake(minStake).LT(collateral(p)) {
			continue
		}
		out = append(out, h)
	}
	return out, nil
}

func (k *Keeper) createDeal(ctx context.Context, msg *types.MsgCreateDeal, holders []sdk.AccAddress, chunkSize uint32) (*types.MsgCreateDealResponse, error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	if chunkSize == 0 {
		chunkSize = params.ChunkSize
	}
	scheme, err := msg.Scheme()
	if err != nil {
		return nil, err
	}
	if scheme.Erasure() && holders != nil {
		return nil, errorsmod.Wrap(types.ErrInvalidScheme, "a deal made from data providers already hold is replicated")
	}
	if len(msg.Label) > int(params.MaxLabelBytes) {
		return nil, errorsmod.Wrapf(types.ErrInvalidLabel, "%d bytes, at most %d (param max_label_bytes)", len(msg.Label), params.MaxLabelBytes)
	}
	n := scheme.N()
	escrow, err := k.checkDealTerms(params, msg.Size_, scheme, msg.DurationBlocks, msg.MaxPrice)
	if err != nil {
		return nil, err
	}
	owner, err := k.addressCodec.StringToBytes(msg.Owner)
	if err != nil {
		return nil, err
	}
	fee := k.dealFee(params) // its denom is checked when params are set
	if have := k.bank.GetBalance(ctx, owner, k.bondDenom); have.IsLT(escrow.Add(fee)) {
		return nil, errorsmod.Wrapf(types.ErrInsufficientFunds, "escrow %s and fee %s, balance %s", escrow, fee, have)
	}
	billableBytes := billable(params, scheme.ShardSize)
	collateral := pickCollateral(params, billableBytes, int64(msg.DurationBlocks))
	minStake, err := k.providers.MinStake(ctx)
	if err != nil {
		return nil, err
	}

	id, err := k.NextDealID.Next(ctx)
	if err != nil {
		return nil, err
	}
	maxPrice := msg.MaxPrice.Amount
	var held []sdk.AccAddress
	if holders != nil {
		if held, err = k.eligibleHolders(ctx, holders, msg.Size_, maxPrice, n, collateral, minStake); err != nil {
			return nil, err
		}
		if len(held) == 0 {
			return nil, errorsmod.Wrapf(types.ErrNoProviders, "none of the %d holders is active with %d bytes free at most %s",
				len(holders), msg.Size_, msg.MaxPrice)
		}
	}
	picked := held
	if rest := int(n) - len(held); rest > 0 {
		var more []sdk.AccAddress
		more, err = k.providers.PickProviders(ctx, providertypes.PickCriteria{
			Count: rest, Seed: pickSeed(sdkCtx, id, 0, 0),
			StorageBytes: scheme.ShardSize, MaxStoragePrice: &maxPrice, Exclude: holders, Collateral: collateral,
		})
		picked = append(append([]sdk.AccAddress(nil), held...), more...)
	}
	if errors.Is(err, providertypes.ErrNotEnoughProviders) || (err == nil && len(picked) < int(n)) {
		return nil, errorsmod.Wrapf(types.ErrNoProviders, "%d providers at max price %s with %d bytes free and the collateral free each: %v",
			n, msg.MaxPrice, scheme.ShardSize, err)
	} else if err != nil {
		return nil, err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, owner, types.ModuleName, sdk.NewCoins(escrow).Add(fee)); err != nil {
		return nil, errorsmod.Wrap(types.ErrInsufficientFunds, err.Error())
	}
	if err := k.payFee(ctx, fee, picked); err != nil {
		return nil, err
	}

	h := sdkCtx.BlockHeight()
	deal := types.Deal{
		Id: id, Owner: msg.Owner, Root: msg.Root, Size_: msg.Size_, ChunkSize: chunkSize,
		Replicas: n, MaxPrice: msg.MaxPrice, Escrow: escrow,
		Status: types.DealStatus_DEAL_STATUS_PENDING, CreatedHeight: h, EndHeight: h + int64(msg.DurationBlocks),
		Fee: fee, NextSlot: n, BillableBytes: billableBytes, Public: msg.Public,
		DataShards: scheme.K, ParityShards: scheme.M, ShardSize: scheme.ShardSize, ShardRoots: msg.ShardRoots, Label: msg.Label,
	}
	if err := k.setDeal(ctx, deal); err != nil {
		return nil, err
	}
	if err := k.DealsByOwner.Set(ctx, collections.Join(sdk.AccAddress(owner), id)); err != nil {
		return nil, err
	}
	if err := k.DealsByEnd.Set(ctx, collections.Join(deal.EndHeight, id)); err != nil {
		return nil, err
	}
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventDealCreated{
		DealId: id, Owner: msg.Owner, Root: msg.Root, Size_: msg.Size_, Replicas: n,
		EndHeight: deal.EndHeight, Escrow: escrow, DataShards: scheme.K, ParityShards: scheme.M, ShardSize: scheme.ShardSize,
	}); err != nil {
		return nil, err
	}

	providers := make([]string, len(picked))
	for i, p := range picked {
		providers[i] = p.String()
		source := ""
		if i > 0 && !scheme.Erasure() {
			source = providers[0] // the others fetch from the provider the owner uploads to
		}
		if err := k.assignProvider(ctx, &deal, uint32(i), p, source, params, nil); err != nil {
			return nil, err
		}
	}
	for _, h := range held {
		if err := k.CommitReplica(ctx, h, id); err != nil {
			return nil, err
		}
	}
	return &types.MsgCreateDealResponse{DealId: id, Providers: providers, Escrow: escrow, Fee: fee}, nil
}

// assignProvider reserves capacity and puts provider in slot as ASSIGNED;
// the collateral is locked at commit, so a deal whose data never comes
// locks none. prev is the record the slot had (nil for a new deal, whose
// slot i holds shard i): a handover slot keeps what it replaces, and a
// reassigned slot its shard.
func (k *Keeper) assignProvider(ctx context.Context, d *types.Deal, slot uint32, provider sdk.AccAddress, source string, params types.Params, prev *types.Replica) error {
	p, err := k.providers.GetProvider(ctx, provider)
	if err != nil {
		return err
	}
	if err := k.providers.ReserveStorage(ctx, provider, d.SlotSize()); err != nil {
		return err
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	r := types.Replica{
		DealId: d.Id, Slot: slot, Provider: provider.String(), Status: types.ReplicaStatus_REPLICA_STATUS_ASSIGNED,
		Price: p.StoragePrice, AssignedHeight: h, CommitDeadline: h + int64(params.CommitTimeout),
		Paid: math.ZeroInt(), Source: source, Collateral: math.ZeroInt(), Shard: slot,
	}
	if prev != nil {
		r.Handover, r.Replaces, r.Shard = prev.Handover, prev.Replaces, prev.Shard
	}
	if err := k.Replicas.Set(ctx, collections.Join(d.Id, slot), r); err != nil {
		return err
	}
	if err := k.ReplicasByProvider.Set(ctx, collections.Join(provider, d.Id), slot); err != nil {
		return err
	}
	if err := k.CommitDeadlines.Set(ctx, collections.Join3(r.CommitDeadline, d.Id, slot)); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventReplicaAssigned{
		DealId: d.Id, Slot: slot, Provider: r.Provider, Source: source, CommitDeadline: r.CommitDeadline, Repair: prev != nil,
	})
}

// CommitReplica records that provider holds deal's data.
func (k *Keeper) CommitReplica(ctx context.Context, provider sdk.AccAddress, dealID uint64) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	d, err := k.GetDeal(ctx, dealID)
	if err != nil {
		return err
	}
	if !d.Live() {
		return errorsmod.Wrapf(types.ErrDealNotLive, "deal %d is %s", dealID, d.Status)
	}
	slot, err := k.ReplicasByProvider.Get(ctx, collections.Join(provider, dealID))
	if errors.Is(err, collections.ErrNotFound) {
		return errorsmod.Wrapf(types.ErrNotAssigned, "%s holds no slot of deal %d", provider, dealID)
	} else if err != nil {
		return err
	}
	key := collections.Join(dealID, slot)
	r, err := k.Replicas.Get(ctx, key)
	if err != nil {
		return err
	}
	if r.Status == types.ReplicaStatus_REPLICA_STATUS_COMMITTED {
		return errorsmod.Wrapf(types.ErrAlreadyCommitted, "deal %d slot %d", dealID, slot)
	}
	h := sdkCtx.BlockHeight()
	if h > r.CommitDeadline {
		return errorsmod.Wrapf(types.ErrCommitTooLate, "deadline was %d, now %d", r.CommitDeadline, h)
	}
	if h >= d.EndHeight {
		return errorsmod.Wrapf(types.ErrDealNotLive, "deal %d ended at %d", dealID, d.EndHeight)
	}
	w, err := k.CurrentWindow(ctx)
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	// Commit locks collateral for the rest of the deal from free stake.
	collateral := collateralFor(params, r.Price.Amount, d.BillableBytes, d.EndHeight-h)
	if err := k.providers.LockCollateral(ctx, provider, collateral); err != nil {
		return errorsmod.Wrapf(types.ErrInsufficientCollateral, "deal %d: %v", dealID, err)
	}
	r.Collateral = collateral
	if err := k.CommitDeadlines.Remove(ctx, collections.Join3(r.CommitDeadline, dealID, slot)); err != nil {
		return err
	}
	r.Status = types.ReplicaStatus_REPLICA_STATUS_COMMITTED
	r.CommittedHeight, r.PaidUntil, r.Paid, r.Missed = h, h, math.ZeroInt(), 0
	// Nothing has proven the replica yet: it earns from the next window,
	// whose duty challenges it.
	r.EarnsFrom = max(w.CloseHeight, h)
	handover, replaces := r.Handover, r.Replaces
	r.Handover, r.Replaces = false, 0
	if err := k.Replicas.Set(ctx, key, r); err != nil {
		return err
	}
	if err := k.holdingAdd(ctx, provider, types.ReplicaRef{
		DealId: dealID, Slot: slot, Weight: merkle.LeafCount(d.SlotSize(), int(d.ChunkSize)),
	}); err != nil {
		return err
	}
	if err := k.NewReplicas.Set(ctx, key); err != nil {
		return err
	}
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventReplicaCommitted{DealId: dealID, Slot: slot, Provider: r.Provider}); err != nil {
		return err
	}
	if handover {
		// The leaving replica stays liable for the current window: it is
		// released when the window closes, after its samples are judged.
		if err := k.Releases.Set(ctx, collections.Join(dealID, replaces)); err != nil {
			return err
		}
	}

	if d.Status == types.DealStatus_DEAL_STATUS_PENDING {
		replicas, err := k.DealReplicas(ctx, dealID)
		if err != nil {
			return err
		}
		committed := 0
		for _, x := range replicas {
			if x.Status == types.ReplicaStatus_REPLICA_STATUS_COMMITTED && !x.Leaving {
				committed++
			}
		}
		if committed >= int(d.Replicas) {
			d.Status = types.DealStatus_DEAL_STATUS_ACTIVE
			if err := k.setDeal(ctx, d); err != nil {
				return err
			}
			return sdkCtx.EventManager().EmitTypedEvent(&types.EventDealActive{DealId: dealID})
		}
	}
	return nil
}

// provenUntil is the height up to which provider's proofs are judged:
// now if it has proven the current window already, else the opening of the
// current window (every earlier window is judged, failures recorded).
func (k *Keeper) provenUntil(ctx context.Context, provider sdk.AccAddress, h int64) (int64, error) {
	w, err := k.CurrentWindow(ctx)
	if err != nil {
		return 0, err
	}
	duty, err := k.Duties.Get(ctx, provider)
	if errors.Is(err, collections.ErrNotFound) {
		return w.OpenHeight, nil
	} else if err != nil {
		return 0, err
	}
	done, err := k.dutyDone(ctx, duty)
	if err != nil || !done {
		return w.OpenHeight, err
	}
	return h, nil
}

// failedBlocks counts the blocks of (from, until] inside windows provider
// failed. It reads only the failures that overlap the span.
func (k *Keeper) failedBlocks(ctx context.Context, provider sdk.AccAddress, from, until int64) (int64, error) {
	lost := int64(0)
	rng := collections.NewPrefixedPairRange[sdk.AccAddress, int64](provider).StartExclusive(from)
	err := k.FailedWindows.Walk(ctx, rng, func(_ collections.Pair[sdk.AccAddress, int64], f types.FailedWindow) (bool, error) {
		if f.OpenHeight >= until {
			return true, nil
		}
		lost += max(0, min(f.CloseHeight, until)-max(f.OpenHeight, from))
		return false, nil
	})
	return lost, err
}

// settle pays r's provider for the blocks since it was last paid that lie in
// windows the provider proved, up to min(height, the deal's end, the last
// proven window) and never beyond. A leaving replica was paid up to its
// provider's exit and earns no more. Callers save d and r.
func (k *Keeper) settle(ctx context.Context, d *types.Deal, r *types.Replica, height int64) error {
	if r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED || r.Leaving {
		return nil
	}
	provider, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return err
	}
	proven, err := k.provenUntil(ctx, provider, height)
	if err != nil {
		return err
	}
	return k.settleProven(ctx, d, r, provider, min(height, proven))
}

// settleProven is settle with the provider's proven bound already known
// (a claim judges the provider's window once for all its replicas).
func (k *Keeper) settleProven(ctx context.Context, d *types.Deal, r *types.Replica, provider sdk.AccAddress, proven int64) error {
	if r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED || r.Leaving {
		return nil
	}
	until := min(d.EndHeight, proven)
	from := max(r.PaidUntil, r.EarnsFrom)
	if until <= from {
		return nil
	}
	lost, err := k.failedBlocks(ctx, provider, from, until)
	if err != nil {
		return err
	}
	r.EarnedBlocks += uint64(until - from - lost)
	r.PaidUntil = until
	earned := types.Earned(r.Price.Amount, d.BillableBytes, r.EarnedBlocks)
	pay := earned.Sub(r.Paid)
	if !pay.IsPositive() {
		return nil
	}
	if pay.GT(d.Escrow.Amount) {
		return errorsmod.Wrapf(types.ErrEscrowInconsistent, "deal %d owes %s, escrow %s", d.Id, pay, d.Escrow)
	}
	amount := sdk.NewCoin(k.bondDenom, pay)
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, provider, sdk.NewCoins(amount)); err != nil {
		return err
	}
	d.Escrow = d.Escrow.Sub(amount)
	r.Paid = earned
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventEarningsPaid{
		DealId: d.Id, Provider: r.Provider, Amount: amount, PaidUntil: until,
	})
}

// vacate settles r, releases its provider's capacity and what is left of
// its collateral, and removes it from every index; the slot's record itself
// is left to the caller.
func (k *Keeper) vacate(ctx context.Context, d *types.Deal, r *types.Replica) error {
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := k.settle(ctx, d, r, h); err != nil {
		return err
	}
	key := collections.Join(r.DealId, r.Slot)
	if r.Provider != "" {
		provider, err := k.addressCodec.StringToBytes(r.Provider)
		if err != nil {
			return err
		}
		if err := k.providers.ReleaseStorage(ctx, provider, d.SlotSize()); err != nil {
			return err
		}
		if err := k.providers.UnlockCollateral(ctx, provider, r.Collateral); err != nil {
			return err
		}
		r.Collateral = math.ZeroInt()
		if err := k.ReplicasByProvider.Remove(ctx, collections.Join(sdk.AccAddress(provider), r.DealId)); err != nil {
			return err
		}
		if r.Status == types.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			if err := k.holdingRemove(ctx, provider, key); err != nil {
				return err
			}
		}
	}
	switch r.Status {
	case types.ReplicaStatus_REPLICA_STATUS_ASSIGNED:
		if err := k.CommitDeadlines.Remove(ctx, collections.Join3(r.CommitDeadline, r.DealId, r.Slot)); err != nil {
			return err
		}
	case types.ReplicaStatus_REPLICA_STATUS_OPEN:
		if err := k.OpenSlots.Remove(ctx, key); err != nil {
			return err
		}
	case types.ReplicaStatus_REPLICA_STATUS_COMMITTED:
		if err := k.NewReplicas.Remove(ctx, key); err != nil {
			return err
		}
		if err := k.Suspects.Remove(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// dropReplica takes r out of its slot and repairs the slot with a new
// provider (or leaves it OPEN for the end blocker to retry). A leaving
// replica's slot is not repaired: its successor's slot already is.
func (k *Keeper) dropReplica(ctx context.Context, d *types.Deal, r types.Replica, reason string) error {
	if err := k.vacate(ctx, d, &r); err != nil {
		return err
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventReplicaDropped{
		DealId: r.DealId, Slot: r.Slot, Provider: r.Provider, Reason: reason,
	}); err != nil {
		return err
	}
	if r.Leaving {
		if err := k.Replicas.Remove(ctx, collections.Join(r.DealId, r.Slot)); err != nil {
			return err
		}
		return k.setDeal(ctx, *d)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	exclude := []sdk.AccAddress{}
	if r.Provider != "" {
		p, err := k.addressCodec.StringToBytes(r.Provider)
		if err != nil {
			return err
		}
		exclude = append(exclude, p)
	}
	if err := k.repairSlot(ctx, d, r.Slot, exclude, params); err != nil {
		return err
	}
	return k.setDeal(ctx, *d)
}

// repairSlot assigns a new provider to slot, excluding the deal's current
// providers and extra; with none eligible, the slot is left OPEN. A handover
// slot stays one.
func (k *Keeper) repairSlot(ctx context.Context, d *types.Deal, slot uint32, extra []sdk.AccAddress, params types.Params) error {
	replicas, err := k.DealReplicas(ctx, d.Id)
	if err != nil {
		return err
	}
	exclude := append([]sdk.AccAddress(nil), extra...)
	source, leavingSource := "", ""
	prev := &types.Replica{}
	for _, x := range replicas {
		if x.Slot == slot {
			prev = &x
			continue
		}
		if x.Provider == "" {
			continue
		}
		p, err := k.addressCodec.StringToBytes(x.Provider)
		if err != nil {
			return err
		}
		exclude = append(exclude, p)
		switch {
		case x.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED:
		case x.Leaving && leavingSource == "":
			leavingSource = x.Provider
		case !x.Leaving && source == "":
			source = x.Provider
		}
	}
	if source == "" {
		source = leavingSource // a leaving provider still holds and serves the data
	}
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	maxPrice := d.MaxPrice.Amount
	picked, err := k.providers.PickProviders(ctx, providertypes.PickCriteria{
		Count: 1, Seed: pickSeed(sdk.UnwrapSDKContext(ctx), d.Id, slot, d.Reassignments+1),
		StorageBytes: d.SlotSize(), MaxStoragePrice: &maxPrice, Exclude: exclude,
		Collateral: pickCollateral(params, d.BillableBytes, d.EndHeight-h),
	})
	if err != nil && !errors.Is(err, providertypes.ErrNotEnoughProviders) {
		return err
	}
	if len(picked) == 0 {
		key := collections.Join(d.Id, slot)
		open := types.Replica{
			DealId: d.Id, Slot: slot, Status: types.ReplicaStatus_REPLICA_STATUS_OPEN, Paid: math.ZeroInt(), Source: source,
			Collateral: math.ZeroInt(), Handover: prev.Handover, Replaces: prev.Replaces, Shard: prev.Shard,
		}
		if err := k.Replicas.Set(ctx, key, open); err != nil {
			return err
		}
		return k.OpenSlots.Set(ctx, key)
	}
	return k.assignProvider(ctx, d, slot, picked[0], source, params, prev)
}

// startHandover keeps a leaving provider's committed replica as its
// obligation (challenged, slashable, no longer paid) and opens a successor
// slot; the replica is released when the successor commits.
func (k *Keeper) startHandover(ctx context.Context, d *types.Deal, r types.Replica) error {
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := k.settle(ctx, d, &r, h); err != nil {
		return err
	}
	r.Leaving = true
	if err := k.Replicas.Set(ctx, collections.Join(r.DealId, r.Slot), r); err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if d.NextSlot < d.Replicas {
		d.NextSlot = d.Replicas
	}
	slot := d.NextSlot
	d.NextSlot++
	placeholder := types.Replica{
		DealId: d.Id, Slot: slot, Status: types.ReplicaStatus_REPLICA_STATUS_OPEN, Paid: math.ZeroInt(),
		Collateral: math.ZeroInt(), Handover: true, Replaces: r.Slot, Shard: r.Shard,
	}
	if err := k.Replicas.Set(ctx, collections.Join(d.Id, slot), placeholder); err != nil {
		return err
	}
	provider, err := k.addressCodec.StringToBytes(r.Provider)
	if err != nil {
		return err
	}
	if err := k.repairSlot(ctx, d, slot, []sdk.AccAddress{provider}, params); err != nil {
		return err
	}
	return k.setDeal(ctx, *d)
}

// releaseLeaving frees the leaving replica in slot once its successor has
// committed: its collateral is unlocked without a burn.
func (k *Keeper) releaseLeaving(ctx context.Context, d *types.Deal, slot uint32) error {
	key := collections.Join(d.Id, slot)
	r, err := k.Replicas.Get(ctx, key)
	if errors.Is(err, collections.ErrNotFound) {
		return nil // dropped for a fault before its successor committed
	} else if err != nil {
		return err
	}
	if !r.Leaving {
		return nil
	}
	return k.dropReplica(ctx, d, r, ReasonHandedOver)
}

// endDeal settles every replica up to now (capped at the deal's end and
// the last proven window), releases capacity and collateral, refunds the
// rest of the escrow to the owner and closes the deal with status.
func (k *Keeper) endDeal(ctx context.Context, d types.Deal, status types.DealStatus) (sdk.Coin, error) {
	replicas, err := k.DealReplicas(ctx, d.Id)
	if err != nil {
		return sdk.Coin{}, err
	}
	for _, r := range replicas {
		if err := k.vacate(ctx, &d, &r); err != nil {
			return sdk.Coin{}, err
		}
		if err := k.Replicas.Remove(ctx, collections.Join(r.DealId, r.Slot)); err != nil {
			return sdk.Coin{}, err
		}
	}
	refund := d.Escrow
	if refund.IsPositive() {
		owner, err := k.addressCodec.StringToBytes(d.Owner)
		if err != nil {
			return sdk.Coin{}, err
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, owner, sdk.NewCoins(refund)); err != nil {
			return sdk.Coin{}, err
		}
	}
	if err := k.DealsByEnd.Remove(ctx, collections.Join(d.EndHeight, d.Id)); err != nil {
		return sdk.Coin{}, err
	}
	d.Escrow = sdk.NewCoin(k.bondDenom, math.ZeroInt())
	d.Status = status
	if err := k.setDeal(ctx, d); err != nil {
		return sdk.Coin{}, err
	}
	return refund, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDealEnded{
		DealId: d.Id, Status: status.String(), Refund: refund,
	})
}

// payFee splits the deal fee equally among the providers first assigned,
// the remainder to the first: they reserved capacity for the deal whether
// or not its data ever arrives.
func (k *Keeper) payFee(ctx context.Context, fee sdk.Coin, providers []sdk.AccAddress) error {
	if !fee.IsPositive() {
		return nil
	}
	for i, amt := range payout.Even(fee.Amount, len(providers)) {
		p := providers[i]
		if !amt.IsPositive() {
			continue
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, p, sdk.NewCoins(sdk.NewCoin(k.bondDenom, amt))); err != nil {
			return err
		}
	}
	return nil
}

// ExtendDeal tops the escrow up for additional blocks at the max price.
func (k *Keeper) ExtendDeal(ctx context.Context, msg *types.MsgExtendDeal) (*types.MsgExtendDealResponse, error) {
	d, err := k.ownedLiveDeal(ctx, msg.Owner, msg.DealId)
	if err != nil {
		return nil, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	newEnd := d.EndHeight + int64(msg.AdditionalBlocks)
	if uint64(newEnd-d.CreatedHeight) > params.MaxDurationBlocks {
		return nil, errorsmod.Wrapf(types.ErrInvalidDuration, "total duration %d above %d", newEnd-d.CreatedHeight, params.MaxDurationBlocks)
	}
	if sdk.UnwrapSDKContext(ctx).BlockHeight() >= d.EndHeight {
		return nil, errorsmod.Wrapf(types.ErrDealNotLive, "deal %d ended at %d", d.Id, d.EndHeight)
	}
	added := sdk.NewCoin(k.bondDenom, types.EscrowFor(d.MaxPrice.Amount, d.BillableBytes, msg.AdditionalBlocks, d.Replicas))
	owner, _ := k.addressCodec.StringToBytes(msg.Owner)
	if have := k.bank.GetBalance(ctx, owner, k.bondDenom); have.IsLT(added) {
		return nil, errorsmod.Wrapf(types.ErrInsufficientFunds, "extension costs %s, balance %s", added, have)
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, owner, types.ModuleName, sdk.NewCoins(added)); err != nil {
		return nil, errorsmod.Wrap(types.ErrInsufficientFunds, err.Error())
	}
	if err := k.DealsByEnd.Remove(ctx, collections.Join(d.EndHeight, d.Id)); err != nil {
		return nil, err
	}
	d.EndHeight = newEnd
	d.Escrow = d.Escrow.Add(added)
	if err := k.extendCollateral(ctx, &d, msg.AdditionalBlocks, params); err != nil {
		return nil, err
	}
	if err := k.DealsByEnd.Set(ctx, collections.Join(d.EndHeight, d.Id)); err != nil {
		return nil, err
	}
	if err := k.setDeal(ctx, d); err != nil {
		return nil, err
	}
	return &types.MsgExtendDealResponse{EndHeight: newEnd, AddedEscrow: added},
		sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDealExtended{DealId: d.Id, EndHeight: newEnd, Added: added})
}

// extendCollateral locks each holder's collateral for the added blocks, so
// collateral keeps covering the remaining value, as far as the holder's
// free stake goes (the x/storage spec notes the residual gap).
func (k *Keeper) extendCollateral(ctx context.Context, d *types.Deal, blocks uint64, params types.Params) error {
	replicas, err := k.DealReplicas(ctx, d.Id)
	if err != nil {
		return err
	}
	minStake, err := k.providers.MinStake(ctx)
	if err != nil {
		return err
	}
	for _, r := range replicas {
		// Uncommitted slots lock at commit, for the end as it is then.
		if r.Leaving || r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			continue
		}
		provider, err := k.addressCodec.StringToBytes(r.Provider)
		if err != nil {
			return err
		}
		// Lock what the free stake allows: an owner must not be able to push
		// a provider out of a deal it serves by extending it.
		p, err := k.providers.GetProvider(ctx, provider)
		if err != nil {
			return err
		}
		extra := math.MinInt(collateralFor(params, r.Price.Amount, d.BillableBytes, int64(blocks)), p.FreeStake(minStake))
		if !extra.IsPositive() {
			continue
		}
		if err := k.providers.LockCollateral(ctx, provider, extra); err != nil {
			return err
		}
		r.Collateral = r.Collateral.Add(extra)
		if err := k.Replicas.Set(ctx, collections.Join(r.DealId, r.Slot), r); err != nil {
			return err
		}
	}
	return nil
}

// CancelDeal settles up to now and refunds the rest.
func (k *Keeper) CancelDeal(ctx context.Context, msg *types.MsgCancelDeal) (*types.MsgCancelDealResponse, error) {
	d, err := k.ownedLiveDeal(ctx, msg.Owner, msg.DealId)
	if err != nil {
		return nil, err
	}
	refund, err := k.endDeal(ctx, d, types.DealStatus_DEAL_STATUS_CANCELLED)
	if err != nil {
		return nil, err
	}
	return &types.MsgCancelDealResponse{Refund: refund}, nil
}

func (k *Keeper) ownedLiveDeal(ctx context.Context, owner string, id uint64) (types.Deal, error) {
	d, err := k.GetDeal(ctx, id)
	if err != nil {
		return d, err
	}
	if d.Owner != owner {
		return d, errorsmod.Wrapf(types.ErrNotDealOwner, "deal %d belongs to %s", id, d.Owner)
	}
	if !d.Live() {
		return d, errorsmod.Wrapf(types.ErrDealNotLive, "deal %d is %s", id, d.Status)
	}
	return d, nil
}

// ClaimEarnings settles the provider's replicas (all, or those of dealIDs).
func (k *Keeper) ClaimEarnings(ctx context.Context, provider sdk.AccAddress, dealIDs []uint64) (sdk.Coin, error) {
	if len(dealIDs) == 0 {
		err := k.ReplicasByProvider.Walk(ctx, collections.NewPrefixedPairRange[sdk.AccAddress, uint64](provider),
			func(key collections.Pair[sdk.AccAddress, uint64], _ uint32) (bool, error) {
				dealIDs = append(dealIDs, key.K2())
				return false, nil
			})
		if err != nil {
			return sdk.Coin{}, err
		}
		if len(dealIDs) == 0 {
			return sdk.Coin{}, errorsmod.Wrapf(types.ErrNothingToClaim, "%s holds no replicas", provider)
		}
	}
	// Judge the provider's current window once for all its replicas.
	proven, err := k.provenUntil(ctx, provider, sdk.UnwrapSDKContext(ctx).BlockHeight())
	if err != nil {
		return sdk.Coin{}, err
	}
	total := sdk.NewCoin(k.bondDenom, math.ZeroInt())
	for _, id := range dealIDs {
		slot, err := k.ReplicasByProvider.Get(ctx, collections.Join(provider, id))
		if errors.Is(err, collections.ErrNotFound) {
			return sdk.Coin{}, errorsmod.Wrapf(types.ErrNotAssigned, "%s holds no slot of deal %d", provider, id)
		} else if err != nil {
			return sdk.Coin{}, err
		}
		d, err := k.GetDeal(ctx, id)
		if err != nil {
			return sdk.Coin{}, err
		}
		key := collections.Join(id, slot)
		r, err := k.Replicas.Get(ctx, key)
		if err != nil {
			return sdk.Coin{}, err
		}
		before := d.Escrow
		if err := k.settleProven(ctx, &d, &r, provider, proven); err != nil {
			return sdk.Coin{}, err
		}
		total = total.Add(before.Sub(d.Escrow))
		if err := k.Replicas.Set(ctx, key, r); err != nil {
			return sdk.Coin{}, err
		}
		if err := k.setDeal(ctx, d); err != nil {
			return sdk.Coin{}, err
		}
	}
	return total, nil
}
