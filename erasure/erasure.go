// Package erasure splits a deal's ciphertext into k data shards and m
// Reed-Solomon parity shards, each with its own Merkle root, and rebuilds
// the file, or any one shard, from any k of them (issue 13).
//
// The layout is fixed by (k, m, size):
//
//   - every shard is ShardSize(size, k) = ceil(size / k) bytes (1 for an
//     empty file);
//   - data shard i holds bytes [i·S, (i+1)·S) of the file, the last data
//     shard padded with zeros (the true size travels with the deal);
//   - parity shard j is Reed-Solomon over GF(2^8) with the systematic
//     Vandermonde matrix of github.com/klauspost/reedsolomon.
//
// k = 1 is plain replication: every parity shard is a copy of the file,
// so one code path serves replicated and erasure-coded deals.
//
// Nothing here trusts a shard: callers check each shard against its root
// (ShardRoots) before using it, and a rebuilt shard against its slot's root
// before committing it.
package erasure

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/reedsolomon"

	"github.com/stratusnet/stratus/merkle"
)

// MaxShards is the most shards (k + m) a scheme may have: GF(2^8).
const MaxShards = 256

// Scheme is k data shards and m parity shards.
type Scheme struct {
	K, M int
}

// N is the number of shards, one per slot.
func (s Scheme) N() int { return s.K + s.M }

// Overhead is the bytes stored per byte of file.
func (s Scheme) Overhead() float64 { return float64(s.N()) / float64(s.K) }

func (s Scheme) String() string {
	if s.K == 1 {
		return fmt.Sprintf("%d replicas", s.N())
	}
	return fmt.Sprintf("%d+%d", s.K, s.M)
}

// ErrInvalidScheme is a scheme no code can have.
var ErrInvalidScheme = errors.New("erasure: invalid scheme")

// Validate checks 1 ≤ k, 0 ≤ m and k + m ≤ MaxShards.
func (s Scheme) Validate() error {
	if s.K < 1 || s.M < 0 || s.N() > MaxShards {
		return fmt.Errorf("%w: k=%d m=%d (want k ≥ 1, m ≥ 0, k+m ≤ %d)", ErrInvalidScheme, s.K, s.M, MaxShards)
	}
	return nil
}

// ShardSize is the size of every shard of a file of size bytes.
func ShardSize(size uint64, k int) uint64 {
	if size == 0 || k < 1 {
		return 1
	}
	return (size + uint64(k) - 1) / uint64(k)
}

func (s Scheme) stream() (reedsolomon.StreamEncoder, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.K == 1 || s.M == 0 {
		return nil, nil // copies only
	}
	// Concurrent streams: each shard is read, hashed and written in its
	// own goroutine, so hashing n shards uses every core.
	return reedsolomon.NewStream(s.K, s.M, reedsolomon.WithConcurrentStreams(true))
}

// dataShard reads data shard i of file: its bytes, then zeros to size.
func dataShard(file io.ReaderAt, size uint64, k, i int) io.Reader {
	shard := ShardSize(size, k)
	start := min(uint64(i)*shard, size)
	end := min(start+shard, size)
	return io.MultiReader(io.NewSectionReader(file, int64(start), int64(end-start)), zeros(shard-(end-start)))
}

func zeros(n uint64) io.Reader { return io.LimitReader(zeroReader{}, int64(n)) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Encode writes the n shards of file (size bytes) to out (one writer per
// shard; nil skips a shard) and returns every shard's Merkle root with
// chunkSize leaves. It reads the file k times in parallel, once per data
// shard, and holds only the encoder's blocks in memory.
func Encode(s Scheme, file io.ReaderAt, size uint64, chunkSize int, out []io.Writer) ([]merkle.Hash, error) {
	enc, err := s.stream()
	if err != nil {
		return nil, err
	}
	if len(out) != s.N() {
		return nil, fmt.Errorf("erasure: %d writers for %d shards", len(out), s.N())
	}
	builders := make([]*merkle.Builder, s.N())
	sinks := make([]io.Writer, s.N())
	for i := range builders {
		if builders[i], err = merkle.NewBuilder(chunkSize); err != nil {
			return nil, err
		}
		sinks[i] = builders[i]
		if out[i] != nil {
			sinks[i] = io.MultiWriter(builders[i], out[i])
		}
	}
	if enc == nil {
		// Replication: every shard is the file (k = 1), or there is no
		// parity (m = 0): copy each data shard to its sinks.
		for i := 0; i < s.K; i++ {
			w := sinks[i]
			if s.K == 1 {
				w = io.MultiWriter(sinks...)
			}
			if _, err := io.Copy(w, dataShard(file, size, s.K, i)); err != nil {
				return nil, fmt.Errorf("erasure: shard %d: %w", i, err)
			}
		}
	} else {
		data := make([]io.Reader, s.K)
		for i := range data {
			data[i] = io.TeeReader(dataShard(file, size, s.K, i), sinks[i])
		}
		if err := enc.Encode(data, sinks[s.K:]); err != nil {
			return nil, fmt.Errorf("erasure: encoding: %w", err)
		}
	}
	roots := make([]merkle.Hash, s.N())
	want := ShardSize(size, s.K)
	for i, b := range builders {
		if b.Size() != want {
			return nil, fmt.Errorf("erasure: shard %d came out %d bytes, want %d", i, b.Size(), want)
		}
		roots[i] = b.Root()
	}
	return roots, nil
}

// ErrTooFewShards means fewer than k shards were given.
var ErrTooFewShards = errors.New("erasure: fewer than k shards")

// Rebuild writes the shards marked in fill (a writer at index i rebuilds
// shard i) from the shards in have (a reader at index i supplies shard i,
// ShardSize bytes). It needs any k readers. The result is not verified:
// check each rebuilt shard against its slot's root before using it.
func Rebuild(s Scheme, size uint64, have []io.Reader, fill []io.Writer) error {
	enc, err := s.stream()
	if err != nil {
		return err
	}
	if len(have) != s.N() || len(fill) != s.N() {
		return fmt.Errorf("erasure: %d readers and %d writers for %d shards", len(have), len(fill), s.N())
	}
	count := 0
	var first io.Reader
	for i, r := range have {
		if r != nil {
			count++
			if first == nil {
				first = r
			}
			if fill[i] != nil {
				return fmt.Errorf("erasure: shard %d both given and asked for", i)
			}
		}
	}
	if count < s.K {
		return fmt.Errorf("%w: %d of %d needed", ErrTooFewShards, count, s.K)
	}
	shard := int64(ShardSize(size, s.K))
	if enc == nil {
		if s.K == 1 { // any copy is the file
			var targets []io.Writer
			for _, w := range fill {
				if w != nil {
					targets = append(targets, w)
				}
			}
			_, err := io.CopyN(io.MultiWriter(targets...), first, shard)
			return err
		}
		for i, w := range fill { // m = 0: nothing is missing that can be rebuilt
			if w != nil {
				return fmt.Errorf("%w: shard %d has no parity to come from", ErrTooFewShards, i)
			}
		}
		return nil
	}
	valid := make([]io.Reader, s.N())
	for i, r := range have {
		if r != nil {
			valid[i] = io.LimitReader(r, shard)
		}
	}
	if err := enc.Reconstruct(valid, fill); err != nil {
		return fmt.Errorf("erasure: rebuilding: %w", err)
	}
	return nil
}

// Join writes the file (size bytes) from its k data shards, in order,
// dropping the padding. Missing data shards are rebuilt first (Rebuild).
func Join(s Scheme, size uint64, data []io.Reader, w io.Writer) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(data) != s.K {
		return fmt.Errorf("erasure: %d data shards for k=%d", len(data), s.K)
	}
	shard := ShardSize(size, s.K)
	left := size
	for i, r := range data {
		n := min(shard, left)
		if _, err := io.CopyN(w, r, int64(n)); err != nil {
			return fmt.Errorf("erasure: data shard %d: %w", i, err)
		}
		left -= n
	}
	return nil
}

// decodeBlock is how much of each shard Decode reads at a time.
var decodeBlock = 1 << 20

// Decode writes the file (size bytes) to w from any k of its shards:
// have[i] reads shard i, or is nil when that shard is missing. Data shards
// that are present are copied; a missing one is rebuilt block by block from
// k shards that are present. Memory stays at k blocks.
//
// Decode does not verify: check each shard against its root first (a
// download verifies as it goes, then decodes from the verified copies).
func Decode(s Scheme, size uint64, have []io.ReaderAt, w io.Writer) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(have) != s.N() {
		return fmt.Errorf("erasure: %d shards for n=%d", len(have), s.N())
	}
	var present []int
	for i, r := range have {
		if r != nil {
			present = append(present, i)
		}
	}
	if len(present) < s.K {
		return fmt.Errorf("%w: %d of %d needed", ErrTooFewShards, len(present), s.K)
	}
	shard := ShardSize(size, s.K)
	if s.K == 1 { // any copy is the file
		_, err := io.Copy(w, io.NewSectionReader(have[present[0]], 0, int64(size)))
		return err
	}
	var enc reedsolomon.Encoder
	left := size
	// One block per shard, reused: a present data shard is read into its
	// own; a missing one is rebuilt alone (ReconstructSome) from k present
	// blocks.
	back := make([][]byte, s.N())
	buf := make([][]byte, s.N())
	required := make([]bool, s.N())
	block := func(i int, n uint64) []byte {
		if back[i] == nil {
			back[i] = make([]byte, min(uint64(decodeBlock), shard))
		}
		return back[i][:n]
	}
	for j := 0; j < s.K && left > 0; j++ {
		for off := uint64(0); off < shard && left > 0; off += uint64(decodeBlock) {
			n := min(uint64(decodeBlock), shard-off)
			var out []byte
			if have[j] != nil {
				out = block(j, n)
				if _, err := have[j].ReadAt(out, int64(off)); err != nil {
					return fmt.Errorf("erasure: shard %d at %d: %w", j, off, err)
				}
			} else {
				if enc == nil {
					var err error
					if enc, err = reedsolomon.New(s.K, s.M); err != nil {
						return err
					}
				}
				for i := range buf {
					buf[i], required[i] = nil, false
				}
				for _, i := range present[:s.K] {
					buf[i] = block(i, n)
					if _, err := have[i].ReadAt(buf[i], int64(off)); err != nil {
						return fmt.Errorf("erasure: shard %d at %d: %w", i, off, err)
					}
				}
				buf[j], required[j] = block(j, n)[:0], true
				if err := enc.ReconstructSome(buf, required); err != nil {
					return fmt.Errorf("erasure: rebuilding shard %d at %d: %w", j, off, err)
				}
				out = buf[j]
			}
			take := min(n, left)
			if _, err := w.Write(out[:take]); err != nil {
				return err
			}
			left -= take
		}
	}
	return nil
}
