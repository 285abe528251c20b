// Package keeper holds x/provider's state and the logic that changes it.
package keeper

import (
	"context"
	"errors"
	"fmt"

	"github.com/cosmos/gogoproto/proto"

	"cosmossdk.io/collections"
	"cosmossdk.io/collections/indexes"
	"cosmossdk.io/core/address"
	corestore "cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/provider/types"
)

// ProviderIndexes are the secondary indexes of the providers map.
type ProviderIndexes struct {
	// Status indexes providers by (status, address).
	Status *indexes.Multi[int32, sdk.AccAddress, types.Provider]
	// Unbonding indexes providers by (unbonding_until, address). Providers
	// that are not unbonding sit at height 0, which the EndBlocker never ranges over.
	Unbonding *indexes.Multi[int64, sdk.AccAddress, types.Provider]
}

// IndexesList implements collections.Indexes.
func (i ProviderIndexes) IndexesList() []collections.Index[sdk.AccAddress, types.Provider] {
	return []collections.Index[sdk.AccAddress, types.Provider]{i.Status, i.Unbonding}
}

func newProviderIndexes(sb *collections.SchemaBuilder) ProviderIndexes {
	return ProviderIndexes{
		Status: indexes.NewMulti(sb, types.ProvidersByStatusKey, "providers_by_status",
			collections.Int32Key, sdk.AccAddressKey,
			func(_ sdk.AccAddress, p types.Provider) (int32, error) { return int32(p.Status), nil }),
		Unbonding: indexes.NewMulti(sb, types.ProvidersByUnbondingKey, "providers_by_unbonding",
			collections.Int64Key, sdk.AccAddressKey,
			func(_ sdk.AccAddress, p types.Provider) (int64, error) { return p.UnbondingUntil, nil }),
	}
}

// Keeper manages providers, their stakes and the stake-weighted pick tree.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	// authority is the fallback authority (the gov module account); the
	// consensus AuthorityParams authority takes precedence when set.
	authority string
	// bondDenom is the denom of stakes and prices.
	bondDenom string

	membership types.MembershipKeeper
	accounts   types.AccountKeeper
	bank       types.BankKeeper
	hooks      types.ProviderHooks

	Schema    collections.Schema
	Params    collections.Item[types.Params]
	Providers *collections.IndexedMap[sdk.AccAddress, types.Provider, ProviderIndexes]

	// The pick tree: ACTIVE providers in dense slots 1..SlotCount, with a
	// Fenwick tree over their stakes (see tree.go).
	SlotCount    collections.Item[uint64]
	SlotProvider collections.Map[uint64, []byte]
	ProviderSlot collections.Map[sdk.AccAddress, uint64]
	SlotWeight   collections.Map[uint64, math.Int]
	Tree         collections.Map[uint64, math.Int]

	// PastFaults keeps the faults of providers that unbonded, so
	// registering again does not reset them.
	PastFaults collections.Map[sdk.AccAddress, uint64]
}

var _ types.ProviderKeeper = (*Keeper)(nil)

// NewKeeper creates the keeper. authority is the fallback authority address;
// bondDenom is the denom of stakes and prices.
func NewKeeper(
	cdc codec.BinaryCodec,
	storeService corestore.KVStoreService,
	addressCodec address.Codec,
	authority string,
	bondDenom string,
	membership types.MembershipKeeper,
	accounts types.AccountKeeper,
	bank types.BankKeeper,
) *Keeper {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		panic(fmt.Errorf("invalid provider authority address %q: %w", authority, err))
	}
	if err := sdk.ValidateDenom(bondDenom); err != nil {
		panic(fmt.Errorf("invalid bond denom %q: %w", bondDenom, err))
	}
	if accounts.GetModuleAddress(types.ModuleName) == nil {
		panic(fmt.Errorf("the %s module account has not been set", types.ModuleName))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := &Keeper{
		cdc:          cdc,
		addressCodec: addressCodec,
		authority:    authority,
		bondDenom:    bondDenom,
		membership:   membership,
		accounts:     accounts,
		bank:         bank,
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Providers: collections.NewIndexedMap(sb, types.ProvidersKey, "providers",
			sdk.AccAddressKey, codec.CollValue[types.Provider](cdc), newProviderIndexes(sb)),
		SlotCount:    collections.NewItem(sb, types.SlotCountKey, "slot_count", collections.Uint64Value),
		SlotProvider: collections.NewMap(sb, types.SlotProviderKey, "slot_provider", collections.Uint64Key, collections.BytesValue),
		ProviderSlot: collections.NewMap(sb, types.ProviderSlotKey, "provider_slot", sdk.AccAddressKey, collections.Uint64Value),
		SlotWeight:   collections.NewMap(sb, types.SlotWeightKey, "slot_weight", collections.Uint64Key, sdk.IntValue),
		Tree:         collections.NewMap(sb, types.TreeKey, "tree", collections.Uint64Key, sdk.IntValue),
		PastFaults:   collections.NewMap(sb, types.PastFaultsKey, "past_faults", sdk.AccAddressKey, collections.Uint64Value),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// SetHooks installs the provider hooks. It may be called once.
func (k *Keeper) SetHooks(h types.ProviderHooks) *Keeper {
	if k.hooks != nil {
		panic("provider hooks already set")
	}
	k.hooks = h
	return k
}

// BondDenom is the denom of stakes and prices.
func (k *Keeper) BondDenom() string { return k.bondDenom }

// Authority returns the effective authority at ctx.
func (k *Keeper) Authority(ctx context.Context) string {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if cp := sdkCtx.ConsensusParams(); cp.Authority != nil && cp.Authority.Authority != "" {
		return cp.Authority.Authority
	}
	return k.authority
}

// Logger returns a module logger.
func (k *Keeper) Logger(ctx context.Context) log.Logger {
	return sdk.UnwrapSDKContext(ctx).Logger().With("module", "x/"+types.ModuleName)
}

// GetProvider returns the provider at addr.
func (k *Keeper) GetProvider(ctx context.Context, addr sdk.AccAddress) (types.Provider, error) {
	p, err := k.Providers.Get(ctx, addr)
	if errors.Is(err, collections.ErrNotFound) {
		return types.Provider{}, errorsmod.Wrapf(types.ErrProviderNotFound, "%s", addr)
	}
	return p, err
}

// setProvider stores p and keeps the pick tree in step: an ACTIVE provider
// is in the tree with its stake as weight, any other is not. Every write of a
// provider goes through here.
func (k *Keeper) setProvider(ctx context.Context, addr sdk.AccAddress, p types.Provider) error {
	if err := k.Providers.Set(ctx, addr, p); err != nil {
		return err
	}
	if p.TakesNewWork() && p.Stake.IsPositive() {
		return k.treeSet(ctx, addr, p.Stake)
	}
	return k.treeRemove(ctx, addr)
}

// removeProvider deletes the provider and its tree slot.
func (k *Keeper) removeProvider(ctx context.Context, addr sdk.AccAddress) error {
	if err := k.treeRemove(ctx, addr); err != nil {
		return err
	}
	return k.Providers.Remove(ctx, addr)
}

func (k *Keeper) stakeCoin(amount math.Int) sdk.Coin { return sdk.NewCoin(k.bondDenom, amount) }

func (k *Keeper) emit(ctx context.Context, ev proto.Message) error {
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(ev)
}
