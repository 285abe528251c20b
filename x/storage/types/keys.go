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
	// 9, 10, 11 and 14 held the network-wide sample index and per-deal
	// challenges of the first design; they are not reused.
	NewReplicasKey   = collections.NewPrefix(12)
	WindowKey        = collections.NewPrefix(13)
	HoldingsKey      = collections.NewPrefix(15)
	HoldingPosKey    = collections.NewPrefix(16)
	HoldingCountKey  = collections.NewPrefix(17)
	HoldingTreeKey   = collections.NewPrefix(18)
	DutiesKey        = collections.NewPrefix(19)
	FailedWindowsKey = collections.NewPrefix(20)
	SuspectsKey      = collections.NewPrefix(21)
	SeedAccKey       = collections.NewPrefix(22)
	ReleasesKey      = collections.NewPrefix(23)
)
