package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key and router key.
	ModuleName = "membership"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

var (
	// ParamsKey holds the module Params.
	ParamsKey = collections.NewPrefix(0)
	// MembersKey holds members keyed by (role, address).
	MembersKey = collections.NewPrefix(1)
	// RoleCountKey holds how many members each role has, for the caps in Params.
	RoleCountKey = collections.NewPrefix(2)
)
