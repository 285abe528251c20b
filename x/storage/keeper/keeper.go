// Package keeper holds x/storage's state: deals, their replica slots, each
// provider's holdings that samples are drawn from, the proof windows and
// their duties, and the record of failed windows settlement reads.
package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	corestore "cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/storage/types"
)

// ReplicaKey is (deal id, slot).
type ReplicaKey = collections.Pair[uint64, uint32]

// Keeper manages storage deals.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	authority    string
	bondDenom    string

	providers types.ProviderKeeper
	bank      types.BankKeeper
	accounts  types.AccountKeeper

	Schema     collections.Schema
	Params     collections.Item[types.Params]
	NextDealID collections.Sequence
	Deals      collections.Map[uint64, types.Deal]
	// DealsByOwner indexes deals by owner (history included).
	DealsByOwner collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// DealsByEnd indexes live deals by end height, for expiry.
	DealsByEnd collections.KeySet[collections.Pair[int64, uint64]]
	Replicas   collections.Map[ReplicaKey, types.Replica]
	// ReplicasByProvider maps (provider, deal) to the slot the provider holds.
	ReplicasByProvider collections.Map[collections.Pair[sdk.AccAddress, uint64], uint32]
	// CommitDeadlines indexes ASSIGNED slots by deadline.
	CommitDeadlines collections.KeySet[collections.Triple[int64, uint64, uint32]]
	// OpenSlots are slots waiting for an eligible provider.
	OpenSlots collections.KeySet[ReplicaKey]
	// Holdings are each provider's COMMITTED replicas at positions 1..n with
	// a Fenwick tree of their leaf counts (holdings.go): samples are drawn
	// per provider, weighted by bytes, in O(log n).
	Holdings     collections.Map[collections.Pair[sdk.AccAddress, uint64], types.ReplicaRef]
	HoldingPos   collections.Map[ReplicaKey, uint64]
	HoldingCount collections.Map[sdk.AccAddress, uint64]
	HoldingTree  collections.Map[collections.Pair[sdk.AccAddress, uint64], uint64]
	// NewReplicas were committed since the current window opened; the next
	// window challenges each of them once more.
	NewReplicas collections.KeySet[ReplicaKey]
	// Suspects are replicas that missed a window; every window challenges
	// them until they are proven or dropped.
	Suspects collections.KeySet[ReplicaKey]
	Window   collections.Item[types.Window]
	// SeedAcc folds every block's header hash; the next window's seed is
	// drawn from it (ADR 009).
	SeedAcc collections.Item[[]byte]
	// Duties are the current window's samples, one record per provider.
	Duties collections.Map[sdk.AccAddress, types.Duty]
	// Releases are leaving replicas whose successor has committed; they are
	// released when the current window closes, after it judged them.
	Releases collections.KeySet[ReplicaKey]
	// FailedWindows are the windows each provider failed, by close height:
	// settlement pays none of their blocks.
	FailedWindows collections.Map[collections.Pair[sdk.AccAddress, int64], types.FailedWindow]
}

// NewKeeper creates the keeper. authority is the fallback authority; bondDenom
// is the denom escrow and prices are in.
func NewKeeper(
	cdc codec.BinaryCodec, storeService corestore.KVStoreService, addressCodec address.Codec,
	authority, bondDenom string, providers types.ProviderKeeper, bank types.BankKeeper, accounts types.AccountKeeper,
) *Keeper {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		panic(fmt.Errorf("invalid storage authority %q: %w", authority, err))
	}
	if accounts.GetModuleAddress(types.ModuleName) == nil {
		panic("the storage module account is not set")
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := &Keeper{
		cdc: cdc, addressCodec: addressCodec, authority: authority, bondDenom: bondDenom,
		providers: providers, bank: bank, accounts: accounts,
		Params:     collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		NextDealID: collections.NewSequence(sb, types.NextDealIDKey, "next_deal_id"),
		Deals:      collections.NewMap(sb, types.DealsKey, "deals", collections.Uint64Key, codec.CollValue[types.Deal](cdc)),
		DealsByOwner: collections.NewKeySet(sb, types.DealsByOwnerKey, "deals_by_owner",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		DealsByEnd: collections.NewKeySet(sb, types.DealsByEndKey, "deals_by_end",
			collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		Replicas: collections.NewMap(sb, types.ReplicasKey, "replicas",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key), codec.CollValue[types.Replica](cdc)),
		ReplicasByProvider: collections.NewMap(sb, types.ReplicasByProviderKey, "replicas_by_provider",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key), collections.Uint32Value),
		CommitDeadlines: collections.NewKeySet(sb, types.CommitDeadlinesKey, "commit_deadlines",
			collections.TripleKeyCodec(collections.Int64Key, collections.Uint64Key, collections.Uint32Key)),
		OpenSlots: collections.NewKeySet(sb, types.OpenSlotsKey, "open_slots",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key)),
		Holdings: collections.NewMap(sb, types.HoldingsKey, "holdings",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key), codec.CollValue[types.ReplicaRef](cdc)),
		HoldingPos: collections.NewMap(sb, types.HoldingPosKey, "holding_pos",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key), collections.Uint64Value),
		HoldingCount: collections.NewMap(sb, types.HoldingCountKey, "holding_count", sdk.AccAddressKey, collections.Uint64Value),
		HoldingTree: collections.NewMap(sb, types.HoldingTreeKey, "holding_tree",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key), collections.Uint64Value),
		NewReplicas: collections.NewKeySet(sb, types.NewReplicasKey, "new_replicas",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key)),
		Suspects: collections.NewKeySet(sb, types.SuspectsKey, "suspects",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key)),
		Window:  collections.NewItem(sb, types.WindowKey, "window", codec.CollValue[types.Window](cdc)),
		SeedAcc: collections.NewItem(sb, types.SeedAccKey, "seed_acc", collections.BytesValue),
		Duties:  collections.NewMap(sb, types.DutiesKey, "duties", sdk.AccAddressKey, codec.CollValue[types.Duty](cdc)),
		Releases: collections.NewKeySet(sb, types.ReleasesKey, "releases",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key)),
		FailedWindows: collections.NewMap(sb, types.FailedWindowsKey, "failed_windows",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Int64Key), codec.CollValue[types.FailedWindow](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// checkFeeDenom refuses a deal fee in another denom than escrows: every
// CreateDeal would fail on it.
func (k *Keeper) checkFeeDenom(p types.Params) error {
	if p.DealFee.IsPositive() && p.DealFee.Denom != k.bondDenom {
		return errorsmod.Wrapf(types.ErrInvalidParams, "deal_fee denom %q, want %q", p.DealFee.Denom, k.bondDenom)
	}
	return nil
}

// BondDenom is the denom of escrows and prices.
func (k *Keeper) BondDenom() string { return k.bondDenom }

// ModuleAddress is the escrow account.
func (k *Keeper) ModuleAddress() sdk.AccAddress { return k.accounts.GetModuleAddress(types.ModuleName) }

// Logger returns a module logger.
func (k *Keeper) Logger(ctx context.Context) log.Logger {
	return sdk.UnwrapSDKContext(ctx).Logger().With("module", "x/"+types.ModuleName)
}

// GetDeal returns a deal or ErrDealNotFound.
func (k *Keeper) GetDeal(ctx context.Context, id uint64) (types.Deal, error) {
	d, err := k.Deals.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return d, errorsmod.Wrapf(types.ErrDealNotFound, "deal %d", id)
	}
	return d, err
}

// DealReplicas returns a deal's replica slots in slot order.
func (k *Keeper) DealReplicas(ctx context.Context, id uint64) ([]types.Replica, error) {
	var out []types.Replica
	err := k.Replicas.Walk(ctx, collections.NewPrefixedPairRange[uint64, uint32](id),
		func(_ ReplicaKey, r types.Replica) (bool, error) {
			out = append(out, r)
			return false, nil
		})
	return out, err
}

func (k *Keeper) setDeal(ctx context.Context, d types.Deal) error { return k.Deals.Set(ctx, d.Id, d) }

// DealHolders lists the providers holding a committed replica of deal id.
func (k *Keeper) DealHolders(ctx context.Context, id uint64) ([]sdk.AccAddress, error) {
	replicas, err := k.DealReplicas(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []sdk.AccAddress
	for _, r := range replicas {
		if r.Status != types.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			continue
		}
		addr, err := k.addressCodec.StringToBytes(r.Provider)
		if err != nil {
			return nil, err
		}
		out = append(out, addr)
	}
	return out, nil
}

// ChunkSize is the chunk size new deals' roots are computed with.
func (k *Keeper) ChunkSize(ctx context.Context) (uint32, error) {
	p, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	return p.ChunkSize, nil
}
