package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key and escrow account name.
	ModuleName = "compute"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

// Collection prefixes. Each is one collection of the keeper's schema.
var (
	ParamsKey         = collections.NewPrefix(0)
	NextJobIDKey      = collections.NewPrefix(1)
	JobsKey           = collections.NewPrefix(2)
	JobsByOwnerKey    = collections.NewPrefix(3)
	JobsByProviderKey = collections.NewPrefix(4)
	OpenByProviderKey = collections.NewPrefix(5)
	DeadlinesKey      = collections.NewPrefix(6)
	ProgramsKey       = collections.NewPrefix(7)
)
