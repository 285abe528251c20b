package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key and escrow account name.
	ModuleName = "storage"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

// Collection prefixes. Each is one collection of the keeper's schema.
var (
	ParamsKey             = collections.NewPrefix(0)
	NextDealIDKey         = collections.NewPrefix(1)
	DealsKey              = collections.NewPrefix(2)
	DealsByOwnerKey       = collections.NewPrefix(3)
	DealsByEndKey         = collections.NewPrefix(4)
	ReplicasKey           = collections.NewPrefix(5)
	ReplicasByProviderKey = collections.NewPrefix(6)
	CommitDeadlinesKey    = collections.NewPrefix(7)
	OpenSlotsKey          = collections.NewPrefix(8)
	DenseReplicasKey      = collections.NewPrefix(9)
	DensePositionKey      = collections.NewPrefix(10)
	DenseCountKey         = collections.NewPrefix(11)
	NewReplicasKey        = collections.NewPrefix(12)
	WindowKey             = collections.NewPrefix(13)
	ChallengesKey         = collections.NewPrefix(14)
)
