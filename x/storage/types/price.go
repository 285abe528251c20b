package types

import (
	"cosmossdk.io/math"
)

// StorageCost is price × size/GiB × blocks × replicas, exactly, in base units.
func StorageCost(pricePerGiBBlock math.LegacyDec, size, blocks uint64, replicas uint32) math.LegacyDec {
	return pricePerGiBBlock.
		MulInt(math.NewIntFromUint64(size)).
		MulInt(math.NewIntFromUint64(blocks)).
		MulInt64(int64(replicas)).
		QuoInt64(GiB)
}

// EscrowFor is what a deal escrows: the cost at its max price, rounded up.
func EscrowFor(maxPrice math.LegacyDec, size, blocks uint64, replicas uint32) math.Int {
	return StorageCost(maxPrice, size, blocks, replicas).Ceil().TruncateInt()
}

// Earned is what one replica has earned after blocks at its price, rounded
// down; settlement pays the difference to what was already paid, so
// rounding never accumulates.
func Earned(price math.LegacyDec, size, blocks uint64) math.Int {
	return StorageCost(price, size, blocks, 1).TruncateInt()
}
