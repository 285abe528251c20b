// Package keeper holds x/compute's state: jobs, their executors, and the
// indexes by owner, provider and phase deadline.
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

	"github.com/stratusnet/stratus/x/compute/types"
)

// JobRef is (address, job id), the key of the owner and provider indexes.
type JobRef = collections.Pair[sdk.AccAddress, uint64]

// Keeper manages compute jobs.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	authority    string
	bondDenom    string

	providers types.ProviderKeeper
	storage   types.StorageKeeper
	bank      types.BankKeeper
	accounts  types.AccountKeeper

	Schema    collections.Schema
	Params    collections.Item[types.Params]
	NextJobID collections.Sequence
	Jobs      collections.Map[uint64, types.Job]
	// JobsByOwner indexes jobs by owner (history included).
	JobsByOwner collections.KeySet[JobRef]
	// JobsByProvider indexes every job a provider was assigned to.
	JobsByProvider collections.KeySet[JobRef]
	// OpenByProvider holds (provider, job) while the provider has to commit or reveal.
	OpenByProvider collections.KeySet[JobRef]
	// Deadlines indexes open jobs by the height at whose end their phase closes.
	Deadlines collections.KeySet[collections.Pair[int64, uint64]]
	// Programs holds inline programs while their job is open.
	Programs collections.Map[uint64, []byte]
}

// NewKeeper creates the keeper. authority is the fallback authority; bondDenom
// is the denom escrow and prices are in.
func NewKeeper(
	cdc codec.BinaryCodec, storeService corestore.KVStoreService, addressCodec address.Codec,
	authority, bondDenom string, providers types.ProviderKeeper, storage types.StorageKeeper,
	bank types.BankKeeper, accounts types.AccountKeeper,
) *Keeper {
	if _, err := addressCodec.StringToBytes(authority); err != nil {
		panic(fmt.Errorf("invalid compute authority %q: %w", authority, err))
	}
	if accounts.GetModuleAddress(types.ModuleName) == nil {
		panic("the compute module account is not set")
	}
	sb := collections.NewSchemaBuilder(storeService)
	ref := collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)
	k := &Keeper{
		cdc: cdc, addressCodec: addressCodec, authority: authority, bondDenom: bondDenom,
		providers: providers, storage: storage, bank: bank, accounts: accounts,
		Params:         collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		NextJobID:      collections.NewSequence(sb, types.NextJobIDKey, "next_job_id"),
		Jobs:           collections.NewMap(sb, types.JobsKey, "jobs", collections.Uint64Key, codec.CollValue[types.Job](cdc)),
		JobsByOwner:    collections.NewKeySet(sb, types.JobsByOwnerKey, "jobs_by_owner", ref),
		JobsByProvider: collections.NewKeySet(sb, types.JobsByProviderKey, "jobs_by_provider", ref),
		OpenByProvider: collections.NewKeySet(sb, types.OpenByProviderKey, "open_by_provider", ref),
		Deadlines: collections.NewKeySet(sb, types.DeadlinesKey, "deadlines",
			collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		Programs: collections.NewMap(sb, types.ProgramsKey, "programs", collections.Uint64Key, collections.BytesValue),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// BondDenom is the denom of escrows and prices.
func (k *Keeper) BondDenom() string { return k.bondDenom }

// ModuleAddress is the escrow account.
func (k *Keeper) ModuleAddress() sdk.AccAddress { return k.accounts.GetModuleAddress(types.ModuleName) }

// Logger returns a module logger.
func (k *Keeper) Logger(ctx context.Context) log.Logger {
	return sdk.UnwrapSDKContext(ctx).Logger().With("module", "x/"+types.ModuleName)
}

// GetJob returns a job or ErrJobNotFound.
func (k *Keeper) GetJob(ctx context.Context, id uint64) (types.Job, error) {
	j, err := k.Jobs.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return j, errorsmod.Wrapf(types.ErrJobNotFound, "job %d", id)
	}
	return j, err
}
