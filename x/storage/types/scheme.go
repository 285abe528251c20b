package types

import (
	errorsmod "cosmossdk.io/errors"

	"github.com/stratusnet/stratus/merkle"
)

// MaxShards is the most slots an erasure-coded deal may have: Reed-Solomon
// over GF(2^8) has 256 distinct evaluation points.
const MaxShards = 256

// Scheme is a deal's code: K data shards and M parity shards in N = K + M
// slots. K = 1 is plain replication: every slot holds the whole file.
type Scheme struct {
	K, M uint32
	// ShardSize is what each slot holds: ceil(size / K) bytes.
	ShardSize uint64
}

// N is the number of slots.
func (s Scheme) N() uint32 { return s.K + s.M }

// Erasure reports whether slots hold different shards (K > 1).
func (s Scheme) Erasure() bool { return s.K > 1 }

// ShardSizeFor is the size of each of k shards of a size-byte file.
func ShardSizeFor(size uint64, k uint32) uint64 {
	if k == 0 {
		return 0
	}
	return size/uint64(k) + min(1, size%uint64(k))
}

// Scheme returns the deal's code the message asks for: replication when
// data_shards, parity_shards, shard_size and shard_roots are all unset,
// otherwise the erasure code they describe, checked against the file size
// and the root count. Bounds set by params are the keeper's to check.
func (m *MsgCreateDeal) Scheme() (Scheme, error) {
	if m.DataShards == 0 && m.ParityShards == 0 && m.ShardSize == 0 && len(m.ShardRoots) == 0 {
		if m.Replicas == 0 {
			return Scheme{}, errorsmod.Wrap(ErrInvalidReplicas, "at least one replica")
		}
		return Scheme{K: 1, M: m.Replicas - 1, ShardSize: m.Size_}, nil
	}
	if m.DataShards == 0 {
		return Scheme{}, errorsmod.Wrap(ErrInvalidScheme, "data_shards must be at least 1")
	}
	n := uint64(m.DataShards) + uint64(m.ParityShards)
	if n > MaxShards {
		return Scheme{}, errorsmod.Wrapf(ErrInvalidScheme, "%d+%d shards, at most %d in all", m.DataShards, m.ParityShards, MaxShards)
	}
	s := Scheme{K: m.DataShards, M: m.ParityShards, ShardSize: ShardSizeFor(m.Size_, m.DataShards)}
	if m.Replicas != 0 && m.Replicas != s.N() {
		return Scheme{}, errorsmod.Wrapf(ErrInvalidScheme, "replicas %d is not data_shards + parity_shards = %d", m.Replicas, s.N())
	}
	if uint64(m.DataShards) > m.Size_ {
		return Scheme{}, errorsmod.Wrapf(ErrInvalidScheme, "%d data shards of a %d-byte file: at most one shard per byte", m.DataShards, m.Size_)
	}
	if m.ShardSize != s.ShardSize {
		return Scheme{}, errorsmod.Wrapf(ErrInvalidScheme, "shard_size %d does not fit a %d-byte file in %d data shards: want %d",
			m.ShardSize, m.Size_, m.DataShards, s.ShardSize)
	}
	if !s.Erasure() {
		if len(m.ShardRoots) != 0 {
			return Scheme{}, errorsmod.Wrap(ErrInvalidScheme, "one data shard is replication: every slot holds the file, named by root; send no shard_roots")
		}
		return s, nil
	}
	if len(m.ShardRoots) != int(s.N()) {
		return Scheme{}, errorsmod.Wrapf(ErrInvalidScheme, "%d shard roots for %d shards", len(m.ShardRoots), s.N())
	}
	for i, r := range m.ShardRoots {
		if len(r) != merkle.HashSize {
			return Scheme{}, errorsmod.Wrapf(ErrInvalidRoot, "shard root %d has %d bytes, want %d", i, len(r), merkle.HashSize)
		}
	}
	return s, nil
}

// Scheme is the deal's code. Deals recorded without one are replicated.
func (d Deal) Scheme() Scheme {
	s := Scheme{K: max(1, d.DataShards), ShardSize: d.ShardSize}
	if d.Replicas > s.K {
		s.M = d.Replicas - s.K
	}
	if s.ShardSize == 0 {
		s.ShardSize = ShardSizeFor(d.Size_, s.K)
	}
	return s
}

// Live says whether the deal is still kept: pending or active, neither
// ended nor cancelled.
func (d Deal) Live() bool {
	return d.Status == DealStatus_DEAL_STATUS_PENDING || d.Status == DealStatus_DEAL_STATUS_ACTIVE
}

// SlotSize is what each slot of the deal holds, and is proven over.
func (d Deal) SlotSize() uint64 { return d.Scheme().ShardSize }

// SlotRoot is the Merkle root a slot holding shard is proven against: the
// shard's own root for an erasure-coded deal, the file's for a replicated
// one. Nil for a shard the deal does not have.
func (d Deal) SlotRoot(shard uint32) []byte {
	if len(d.ShardRoots) == 0 {
		return d.Root
	}
	if int(shard) >= len(d.ShardRoots) {
		return nil
	}
	return d.ShardRoots[shard]
}
