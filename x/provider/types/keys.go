package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, store key, router key and the name of
	// the module account that escrows stakes.
	ModuleName = "provider"
	// StoreKey is the KV store key of the module.
	StoreKey = ModuleName
)

var (
	// ParamsKey holds the module Params.
	ParamsKey = collections.NewPrefix(0)
	// ProvidersKey holds providers keyed by address.
	ProvidersKey = collections.NewPrefix(1)
	// ProvidersByStatusKey indexes providers by (status, address).
	ProvidersByStatusKey = collections.NewPrefix(2)
	// ProvidersByUnbondingKey indexes providers by (unbonding_until, address).
	ProvidersByUnbondingKey = collections.NewPrefix(3)
	// SlotCountKey holds how many providers are in the pick tree.
	SlotCountKey = collections.NewPrefix(4)
	// SlotProviderKey maps a dense slot (1-based) to the provider in it.
	SlotProviderKey = collections.NewPrefix(5)
	// ProviderSlotKey maps a provider to its slot.
	ProviderSlotKey = collections.NewPrefix(6)
	// SlotWeightKey holds each slot's own weight (the provider's stake).
	SlotWeightKey = collections.NewPrefix(7)
	// TreeKey holds the Fenwick tree of slot weights (node i = sum of the
	// weights of slots (i - lowbit(i), i]).
	TreeKey = collections.NewPrefix(8)
	// PastFaultsKey holds the faults of providers that left.
	PastFaultsKey = collections.NewPrefix(9)
)
