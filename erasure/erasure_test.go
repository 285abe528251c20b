package erasure

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/merkle"
)

const chunk = 1024

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encode returns the n shards of file and their roots.
func encode(t testing.TB, s Scheme, file []byte) ([][]byte, []merkle.Hash) {
	t.Helper()
	bufs := make([]*bytes.Buffer, s.N())
	out := make([]io.Writer, s.N())
	for i := range bufs {
		bufs[i] = &bytes.Buffer{}
		out[i] = bufs[i]
	}
	roots, err := Encode(s, bytes.NewReader(file), uint64(len(file)), chunk, out)
	require.NoError(t, err)
	shards := make([][]byte, s.N())
	for i, b := range bufs {
		shards[i] = b.Bytes()
		require.Len(t, shards[i], int(ShardSize(uint64(len(file)), s.K)))
		root, err := merkle.Root(shards[i], chunk)
		require.NoError(t, err)
		require.Equal(t, root, roots[i], "shard %d's root", i)
	}
	return shards, roots
}

// subsets calls f with every subset of {0..n-1} of size r.
func subsets(n, r int, f func([]int)) {
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == r {
			f(cur)
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, nil)
}

// Any k of the n shards give the file back byte for byte, whichever m are
// lost, and any lost shard is rebuilt to its own root.
func TestAnyKShardsRebuildTheFile(t *testing.T) {
	for _, s := range []Scheme{{4, 2}, {6, 3}, {3, 0}, {1, 2}, {2, 1}} {
		for _, size := range []int{0, 1, 4095, 100_003} {
			file := randomBytes(size, uint64(size)+uint64(s.K))
			shards, roots := encode(t, s, file)
			subsets(s.N(), s.M, func(lost []int) {
				have := make([]io.Reader, s.N())
				fill := make([]io.Writer, s.N())
				rebuilt := map[int]*bytes.Buffer{}
				for i := range have {
					have[i] = bytes.NewReader(shards[i])
				}
				for _, i := range lost {
					have[i] = nil
					rebuilt[i] = &bytes.Buffer{}
					fill[i] = rebuilt[i]
				}
				require.NoError(t, Rebuild(s, uint64(size), have, fill), "%s size %d lost %v", s, size, lost)
				for i, b := range rebuilt {
					root, err := merkle.Root(b.Bytes(), chunk)
					require.NoError(t, err)
					require.Equal(t, roots[i], root, "%s size %d: rebuilt shard %d", s, size, i)
				}
				data := make([]io.Reader, s.K)
				for i := range data {
					if b, ok := rebuilt[i]; ok {
						data[i] = bytes.NewReader(b.Bytes())
					} else {
						data[i] = bytes.NewReader(shards[i])
					}
				}
				var got bytes.Buffer
				require.NoError(t, Join(s, uint64(size), data, &got))
				require.True(t, bytes.Equal(file, got.Bytes()), "%s size %d lost %v", s, size, lost)
			})
		}
	}
}

// k = 1 is replication: every shard is the file, with the file's root.
func TestOneDataShardIsReplication(t *testing.T) {
	file := randomBytes(10_000, 1)
	want, err := merkle.Root(file, chunk)
	require.NoError(t, err)
	shards, roots := encode(t, Scheme{K: 1, M: 2}, file)
	for i := range shards {
		require.Equal(t, file, shards[i])
		require.Equal(t, want, roots[i])
	}
}

// A shard that lies is caught by its root: one flipped byte changes it,
// and a rebuild from it does not produce the lost shard's root.
func TestABadShardIsCaughtByItsRoot(t *testing.T) {
	s := Scheme{K: 4, M: 2}
	file := randomBytes(50_000, 3)
	shards, roots := encode(t, s, file)
	bad := bytes.Clone(shards[1])
	bad[777] ^= 1
	root, err := merkle.Root(bad, chunk)
	require.NoError(t, err)
	require.NotEqual(t, roots[1], root)

	have := []io.Reader{bytes.NewReader(shards[0]), bytes.NewReader(bad), bytes.NewReader(shards[2]), bytes.NewReader(shards[3]), nil, nil}
	var rebuilt bytes.Buffer
	require.NoError(t, Rebuild(s, uint64(len(file)), have, []io.Writer{nil, nil, nil, nil, &rebuilt, nil}))
	root, err = merkle.Root(rebuilt.Bytes(), chunk)
	require.NoError(t, err)
	require.NotEqual(t, roots[4], root, "a parity shard rebuilt from a bad shard fails its root")
}

func TestBadInputIsRefused(t *testing.T) {
	file := randomBytes(1000, 4)
	for _, s := range []Scheme{{0, 2}, {-1, 1}, {4, -1}, {200, 57}} {
		_, err := Encode(s, bytes.NewReader(file), 1000, chunk, make([]io.Writer, max(s.N(), 0)))
		require.ErrorIs(t, err, ErrInvalidScheme, "%+v", s)
	}
	s := Scheme{K: 4, M: 2}
	_, err := Encode(s, bytes.NewReader(file), 1000, chunk, make([]io.Writer, 5))
	require.Error(t, err, "one writer short")
	// A file shorter than it claims to be.
	_, err = Encode(s, bytes.NewReader(file[:900]), 1000, chunk, make([]io.Writer, 6))
	require.Error(t, err)

	shards, _ := encode(t, s, file)
	have := []io.Reader{bytes.NewReader(shards[0]), nil, nil, bytes.NewReader(shards[3]), bytes.NewReader(shards[4]), nil}
	err = Rebuild(s, 1000, have, []io.Writer{nil, &bytes.Buffer{}, nil, nil, nil, nil})
	require.ErrorIs(t, err, ErrTooFewShards, "three of four")
	have[1] = bytes.NewReader(shards[1])
	err = Rebuild(s, 1000, have, []io.Writer{nil, &bytes.Buffer{}, nil, nil, nil, nil})
	require.Error(t, err, "a shard both given and asked for")
}

func TestShardSizeAndOverhead(t *testing.T) {
	require.Equal(t, uint64(1), ShardSize(0, 4))
	require.Equal(t, uint64(3), ShardSize(10, 4))
	require.Equal(t, uint64(25), ShardSize(100, 4))
	require.Equal(t, 1.5, Scheme{K: 6, M: 3}.Overhead())
	require.Equal(t, "3 replicas", Scheme{K: 1, M: 2}.String())
	require.Equal(t, "6+3", Scheme{K: 6, M: 3}.String())
}

// go test ./erasure/ -run '^$' -bench Encode -benchtime 3x
func BenchmarkEncode(b *testing.B) {
	file := randomBytes(64<<20, 5)
	for _, s := range []Scheme{{1, 2}, {4, 2}, {6, 3}, {10, 5}} {
		b.Run(s.String(), func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			out := make([]io.Writer, s.N())
			for i := range out {
				out[i] = io.Discard
			}
			for b.Loop() {
				if _, err := Encode(s, bytes.NewReader(file), uint64(len(file)), chunk, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Decode gives the file back from any k shards, block by block, whichever
// m are missing.
func TestDecodeFromAnyKShards(t *testing.T) {
	defer func(b int) { decodeBlock = b }(decodeBlock)
	decodeBlock = 1000 // several blocks per shard, the last one short
	for _, s := range []Scheme{{4, 2}, {6, 3}, {1, 2}, {3, 0}} {
		for _, size := range []int{1, 5_003, 40_000} {
			file := randomBytes(size, uint64(size)+9)
			shards, _ := encode(t, s, file)
			for lost := 0; lost <= s.M; lost++ {
				subsets(s.N(), lost, func(gone []int) {
					have := make([]io.ReaderAt, s.N())
					for i := range have {
						have[i] = bytes.NewReader(shards[i])
					}
					for _, i := range gone {
						have[i] = nil
					}
					var got bytes.Buffer
					require.NoError(t, Decode(s, uint64(size), have, &got), "%s size %d without %v", s, size, gone)
					require.True(t, bytes.Equal(file, got.Bytes()), "%s size %d without %v", s, size, gone)
				})
			}
		}
	}
	s := Scheme{K: 4, M: 2}
	shards, _ := encode(t, s, randomBytes(1000, 1))
	have := []io.ReaderAt{nil, nil, nil, bytes.NewReader(shards[3]), bytes.NewReader(shards[4]), bytes.NewReader(shards[5])}
	require.ErrorIs(t, Decode(s, 1000, have, io.Discard), ErrTooFewShards)
}

// The code alone, next to a SHA-256 pass over the same bytes (which every
// put and get also makes): parity computed from the k data shards, and a
// decode of the file with m data shards missing, all in memory.
//
//	go test ./erasure/ -run '^$' -bench 'Parity|DecodeMissing|SHA256' -benchtime 20x
func BenchmarkParity(b *testing.B) {
	for _, s := range []Scheme{{4, 2}, {6, 3}, {10, 5}} {
		b.Run(s.String(), func(b *testing.B) {
			file := randomBytes(64<<20, 5)
			shards, _ := encode(b, s, file)
			have := make([]io.Reader, s.N())
			fill := make([]io.Writer, s.N())
			for i := range s.K {
				have[i] = bytes.NewReader(shards[i])
			}
			b.SetBytes(int64(len(file)))
			for b.Loop() {
				for i := range s.K {
					have[i].(*bytes.Reader).Reset(shards[i])
				}
				for i := s.K; i < s.N(); i++ {
					fill[i] = io.Discard
				}
				if err := Rebuild(s, uint64(len(file)), have, fill); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeMissing(b *testing.B) {
	for _, s := range []Scheme{{4, 2}, {6, 3}, {10, 5}} {
		b.Run(s.String(), func(b *testing.B) {
			file := randomBytes(64<<20, 5)
			shards, _ := encode(b, s, file)
			have := make([]io.ReaderAt, s.N())
			for i := s.M; i < s.N(); i++ { // the first m data shards are lost
				have[i] = bytes.NewReader(shards[i])
			}
			b.SetBytes(int64(len(file)))
			for b.Loop() {
				if err := Decode(s, uint64(len(file)), have, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSHA256(b *testing.B) {
	file := randomBytes(64<<20, 5)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		sha256.Sum256(file)
	}
}
