package merkle

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

const benchSize = 16 << 20

func benchData() []byte {
	return randomData(rand.New(rand.NewPCG(11, 12)), benchSize)
}

// BenchmarkBuild hashes 16 MiB into the tree (1 KiB leaves) in 64 KiB writes,
// as an upload streams.
func BenchmarkBuild(b *testing.B) {
	benchmarkBuild(b, func() rootWriter { bl, _ := NewBuilder(DefaultChunkSize); return bl })
}

// rootWriter is a tree builder: Builder or ParallelBuilder.
type rootWriter interface {
	Write(p []byte) (int, error)
	Root() Hash
}

// benchmarkBuild writes the bench data in 64 KiB pieces into a builder
// from newBuilder and takes its root.
func benchmarkBuild(b *testing.B, newBuilder func() rootWriter) {
	data := benchData()
	b.SetBytes(benchSize)
	for b.Loop() {
		bl := newBuilder()
		for off := 0; off < len(data); off += 64 << 10 {
			_, _ = bl.Write(data[off:min(off+64<<10, len(data))])
		}
		_ = bl.Root()
	}
}

// BenchmarkBuildParallel is BenchmarkBuild through a ParallelBuilder
// (segments hashed on every core).
func BenchmarkBuildParallel(b *testing.B) {
	benchmarkBuild(b, func() rootWriter { bl, _ := NewParallelBuilder(DefaultChunkSize, 0); return bl })
}

// BenchmarkBuildKeepingLeaves also keeps every level (what a provider stores).
func BenchmarkBuildKeepingLeaves(b *testing.B) {
	data := benchData()
	b.SetBytes(benchSize)
	for b.Loop() {
		bl, _ := NewBuilderKeeping(DefaultChunkSize, 0)
		_, _ = bl.Write(data)
		_ = bl.Tree()
	}
}

// BenchmarkSHA256 is the floor: one plain SHA-256 pass over the same bytes.
func BenchmarkSHA256(b *testing.B) {
	data := benchData()
	b.SetBytes(benchSize)
	for b.Loop() {
		_ = sha256.Sum256(data)
	}
}

// BenchmarkVerifyProof is the chain's cost of checking one 1 KiB leaf of a 16 MiB file.
func BenchmarkVerifyProof(b *testing.B) {
	data := benchData()
	root, _ := Root(data, DefaultChunkSize)
	leaf, path, _ := ProofFromData(data, DefaultChunkSize, 12345)
	n := LeafCount(uint64(len(data)), DefaultChunkSize)
	for b.Loop() {
		if err := VerifyProof(root, n, 12345, leaf, path); err != nil {
			b.Fatal(err)
		}
	}
}
