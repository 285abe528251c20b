package merkle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"
)

// The Certificate Transparency reference leaves and the roots of their
// first n leaves (RFC 6962 test data used by CT implementations).
var ctLeaves = [][]byte{
	{},
	{0x00},
	{0x10},
	{0x20, 0x21},
	{0x30, 0x31},
	{0x40, 0x41, 0x42, 0x43},
	{0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
	{0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f},
}

var ctRoots = []string{
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // empty tree
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

func TestCertificateTransparencyVectors(t *testing.T) {
	for n := range len(ctRoots) {
		require.Equal(t, ctRoots[n], RootOfLeaves(ctLeaves[:n]).String(), "root of %d leaves", n)
	}
}

func TestHashPrefixes(t *testing.T) {
	data := []byte("stratus")
	require.Equal(t, Hash(sha256.Sum256(append([]byte{0}, data...))), HashLeaf(data))
	l, r := HashLeaf([]byte("l")), HashLeaf([]byte("r"))
	require.Equal(t, Hash(sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))), HashChildren(l, r))
	require.NotEqual(t, HashChildren(l, r), HashChildren(r, l))
}

func randomData(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func chunks(data []byte, chunkSize int) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := min(chunkSize, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// tlogTree hashes leaves with the independent implementation in
// golang.org/x/mod/sumdb/tlog (the Go checksum database's RFC 6962 tree).
func tlogTree(t *testing.T, leaves [][]byte) (tlog.Hash, tlog.HashReader) {
	t.Helper()
	var stored []tlog.Hash
	for i, l := range leaves {
		hs, err := tlog.StoredHashes(int64(i), l, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		require.NoError(t, err)
		stored = append(stored, hs...)
	}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = stored[x]
		}
		return out, nil
	})
	root, err := tlog.TreeHash(int64(len(leaves)), reader)
	require.NoError(t, err)
	return root, reader
}

func TestAgainstIndependentImplementation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, chunkSize := range []int{1, 7, 64, DefaultChunkSize} {
		for _, size := range []int{1, 2, 63, 64, 65, 1000, 1024, 1025, 4096, 5000, 33 * 1024} {
			data := randomData(r, size)
			leaves := chunks(data, chunkSize)
			if len(leaves) > 2000 {
				continue
			}
			want, reader := tlogTree(t, leaves)

			got, err := Root(data, chunkSize)
			require.NoError(t, err)
			require.Equal(t, want[:], got[:], "chunk %d size %d", chunkSize, size)

			// Proofs agree both ways: ours verify with tlog and tlog's with ours.
			for _, idx := range []int{0, len(leaves) / 2, len(leaves) - 1} {
				leaf, path, err := ProofFromData(data, chunkSize, uint64(idx))
				require.NoError(t, err)
				tp := make(tlog.RecordProof, len(path))
				for i, h := range path {
					tp[i] = tlog.Hash(h)
				}
				require.NoError(t, tlog.CheckRecord(tp, int64(len(leaves)), want, int64(idx), tlog.RecordHash(leaf)))

				theirs, err := tlog.ProveRecord(int64(len(leaves)), int64(idx), reader)
				require.NoError(t, err)
				ours := make([]Hash, len(theirs))
				for i, h := range theirs {
					ours[i] = Hash(h)
				}
				require.NoError(t, VerifyProof(got, uint64(len(leaves)), uint64(idx), leaf, ours))
			}
		}
	}
}

func TestStreamingMatchesOneShot(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := randomData(r, 50_000)
	want := RootOfLeaves(chunks(data, DefaultChunkSize))
	for range 20 {
		b, err := NewBuilder(DefaultChunkSize)
		require.NoError(t, err)
		rest := data
		for len(rest) > 0 {
			n := min(len(rest), r.IntN(3000))
			_, _ = b.Write(rest[:n])
			rest = rest[n:]
		}
		require.Equal(t, want, b.Root())
		require.Equal(t, uint64(len(data)), b.Size())
		require.Equal(t, uint64(49), b.Leaves())
	}
}

func TestEmptyAndExactChunks(t *testing.T) {
	root, err := Root(nil, DefaultChunkSize)
	require.NoError(t, err)
	require.Equal(t, EmptyRoot(), root)

	// A file of exactly one chunk is one leaf; one byte more is two.
	one := bytes.Repeat([]byte{7}, DefaultChunkSize)
	root, err = Root(one, DefaultChunkSize)
	require.NoError(t, err)
	require.Equal(t, HashLeaf(one), root)
	root, err = Root(append(one, 8), DefaultChunkSize)
	require.NoError(t, err)
	require.Equal(t, HashChildren(HashLeaf(one), HashLeaf([]byte{8})), root)

	require.Equal(t, uint64(0), LeafCount(0, 1024))
	require.Equal(t, uint64(1), LeafCount(1024, 1024))
	require.Equal(t, uint64(2), LeafCount(1025, 1024))
	sz, err := LeafSize(1025, 1024, 1)
	require.NoError(t, err)
	require.Equal(t, uint64(1), sz)
	_, err = LeafSize(1025, 1024, 2)
	require.ErrorIs(t, err, ErrIndexOutOfTree)

	_, err = NewBuilder(0)
	require.ErrorIs(t, err, ErrChunkSize)
}

func TestProofsForEveryLeafAndKeptLevel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const chunkSize = 16
	for leaves := 1; leaves <= 70; leaves++ {
		data := randomData(r, (leaves-1)*chunkSize+1+r.IntN(chunkSize))
		for _, keep := range []int{-1, 0, 1, 3} {
			b, err := NewBuilderKeeping(chunkSize, keep)
			require.NoError(t, err)
			_, _ = b.Write(data)
			tree := b.Tree()
			require.Equal(t, uint64(leaves), tree.Leaves())
			reads := 0
			read := func(i uint64) ([]byte, error) {
				reads++
				start := i * chunkSize
				return data[start:min(start+chunkSize, uint64(len(data)))], nil
			}
			for idx := range uint64(leaves) {
				reads = 0
				path, err := tree.Proof(idx, read)
				require.NoError(t, err)
				if keep == 0 {
					require.Zero(t, reads, "all levels kept: no chunk reads")
				}
				leaf, _ := read(idx)
				require.NoError(t, VerifyProof(tree.Root, uint64(leaves), idx, leaf, path), "leaves %d idx %d keep %d", leaves, idx, keep)
			}
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	data := randomData(rand.New(rand.NewPCG(7, 8)), 10*1024+100)
	root, err := Root(data, DefaultChunkSize)
	require.NoError(t, err)
	leaf, path, err := ProofFromData(data, DefaultChunkSize, 3)
	require.NoError(t, err)
	require.NoError(t, VerifyProof(root, 11, 3, leaf, path))

	wrongLeaf := bytes.Clone(leaf)
	wrongLeaf[0] ^= 1
	require.ErrorIs(t, VerifyProof(root, 11, 3, wrongLeaf, path), ErrRootMismatch)
	require.ErrorIs(t, VerifyProof(root, 11, 4, leaf, path), ErrRootMismatch)
	require.ErrorIs(t, VerifyProof(root, 11, 11, leaf, path), ErrIndexOutOfTree)
	require.ErrorIs(t, VerifyProof(root, 11, 3, leaf, path[:len(path)-1]), ErrProofLength)
	require.ErrorIs(t, VerifyProof(root, 11, 3, leaf, append(path, path[0])), ErrProofLength)
	bad := append([]Hash(nil), path...)
	bad[1][5] ^= 0x80
	require.ErrorIs(t, VerifyProof(root, 11, 3, leaf, bad), ErrRootMismatch)

	_, err = HashFromBytes(make([]byte, 31))
	require.ErrorIs(t, err, ErrHashLength)
}

func TestTreeProofRejectsShortChunk(t *testing.T) {
	data := randomData(rand.New(rand.NewPCG(9, 10)), 4*64)
	b, err := NewBuilderKeeping(64, 2)
	require.NoError(t, err)
	_, _ = b.Write(data)
	tree := b.Tree()
	_, err = tree.Proof(0, func(i uint64) ([]byte, error) { return data[i*64 : i*64+10], nil })
	require.ErrorIs(t, err, ErrLeafSize)
	boom := errors.New("disk gone")
	_, err = tree.Proof(0, func(uint64) ([]byte, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
	_, err = tree.Proof(4, nil)
	require.ErrorIs(t, err, ErrIndexOutOfTree)
}

// FuzzVerifyNeverAcceptsWrongLeafOrPath: for any data and any single-bit
// change to the leaf or the path, or a different index, verification fails.
func FuzzVerifyNeverAcceptsWrongLeafOrPath(f *testing.F) {
	f.Add([]byte("hello stratus"), uint16(0), uint16(0), uint8(0))
	f.Add(bytes.Repeat([]byte{1}, 300), uint16(7), uint16(40), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, idx uint16, flipAt uint16, mode uint8) {
		const chunkSize = 8
		if len(data) == 0 {
			return
		}
		n := LeafCount(uint64(len(data)), chunkSize)
		index := uint64(idx) % n
		root, err := Root(data, chunkSize)
		require.NoError(t, err)
		leaf, path, err := ProofFromData(data, chunkSize, index)
		require.NoError(t, err)
		require.NoError(t, VerifyProof(root, n, index, leaf, path))

		switch mode % 3 {
		case 0: // flip one bit of the leaf
			bad := bytes.Clone(leaf)
			bit := int(flipAt) % (len(bad) * 8)
			bad[bit/8] ^= 1 << (bit % 8)
			require.Error(t, VerifyProof(root, n, index, bad, path))
		case 1: // flip one bit of the path
			if len(path) == 0 {
				return
			}
			bad := append([]Hash(nil), path...)
			bit := int(flipAt) % (len(bad) * HashSize * 8)
			bad[bit/(HashSize*8)][(bit/8)%HashSize] ^= 1 << (bit % 8)
			require.Error(t, VerifyProof(root, n, index, leaf, bad))
		case 2: // claim another index with a different leaf
			other := (index + 1 + uint64(flipAt)%n) % n
			if other == index {
				return
			}
			otherLeaf, _, err := ProofFromData(data, chunkSize, other)
			require.NoError(t, err)
			if bytes.Equal(otherLeaf, leaf) {
				return
			}
			require.Error(t, VerifyProof(root, n, other, leaf, path))
		}
	})
}

func TestHashString(t *testing.T) {
	h := HashLeaf(nil)
	require.Equal(t, hex.EncodeToString(h[:]), h.String())
}

func TestTreeFileRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, size := range []int{1, 1000, 1024 * 37, 1024*64 + 5} {
		data := randomData(r, size)
		for _, keep := range []int{-1, 0, 2, 4} {
			b, err := NewBuilderKeeping(1024, keep)
			require.NoError(t, err)
			_, _ = b.Write(data)
			tree := b.Tree()
			var buf bytes.Buffer
			_, err = tree.WriteTo(&buf)
			require.NoError(t, err)

			tf, err := OpenTreeFile(bytes.NewReader(buf.Bytes()))
			require.NoError(t, err)
			require.Equal(t, tree.Root, tf.Root)
			require.Equal(t, uint64(size), tf.Size)
			read := func(i uint64) ([]byte, error) {
				return data[i*1024 : min((i+1)*1024, uint64(len(data)))], nil
			}
			n := LeafCount(uint64(size), 1024)
			for _, idx := range []uint64{0, n / 2, n - 1} {
				path, err := tf.Proof(idx, read)
				require.NoError(t, err)
				leaf, _ := read(idx)
				require.NoError(t, VerifyProof(tf.Root, n, idx, leaf, path))
			}
		}
	}
	_, err := OpenTreeFile(bytes.NewReader([]byte("not a tree file at all, no sir, not at all")))
	require.ErrorIs(t, err, ErrTreeFile)
}

func TestVerifyFileProofChecksLengthThenPath(t *testing.T) {
	data := randomData(rand.New(rand.NewPCG(11, 12)), 3*64+10) // last leaf short
	root, err := Root(data, 64)
	require.NoError(t, err)
	size := uint64(len(data))
	leaf, path, err := ProofFromData(data, 64, 3)
	require.NoError(t, err)
	require.NoError(t, VerifyFileProof(root, size, 64, 3, leaf, path))
	require.ErrorIs(t, VerifyFileProof(root, size, 64, 3, append(append([]byte(nil), leaf...), 0), path), ErrLeafSize)
	bad := append([]byte(nil), leaf...)
	bad[0] ^= 1
	require.Error(t, VerifyFileProof(root, size, 64, 3, bad, path))
	require.Error(t, VerifyFileProof(root, size, 64, 4, leaf, path), "no leaf 4 in a 4-leaf file")
}

// Hashing a file in segments of a power-of-two count of leaves and
// joining the segments' roots gives the file's root, for every size
// around the segment edges; a segment of another size does not.
func TestRootOfSegments(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const chunk = 64
	for _, leaves := range []int{1, 2, 4, 16} {
		seg := leaves * chunk
		for _, size := range []int{1, seg - 1, seg, seg + 1, 2 * seg, 3*seg + 7, 5 * seg, 8*seg - 1, 8 * seg, 9*seg + chunk/2, 33 * seg} {
			data := randomData(r, size)
			want, err := Root(data, chunk)
			if err != nil {
				t.Fatal(err)
			}
			var roots []Hash
			for off := 0; off < size; off += seg {
				h, err := Root(data[off:min(off+seg, size)], chunk)
				if err != nil {
					t.Fatal(err)
				}
				roots = append(roots, h)
			}
			if got := RootOfSegments(roots); got != want {
				t.Fatalf("segments of %d leaves, %d bytes: root %s, want %s", leaves, size, got, want)
			}
		}
	}
	// Segments of 3 leaves are not subtrees of the file's tree.
	data := randomData(r, 7*3*chunk)
	want, _ := Root(data, chunk)
	var roots []Hash
	for off := 0; off < len(data); off += 3 * chunk {
		h, _ := Root(data[off:off+3*chunk], chunk)
		roots = append(roots, h)
	}
	if RootOfSegments(roots) == want {
		t.Fatal("segments of 3 leaves joined into the file's root")
	}
}
