// Package merkle is Stratus's one Merkle tree: the RFC 6962 (Certificate
// Transparency) tree hash over fixed-size chunks of a file, SHA-256.
//
//	leaf  = SHA-256(0x00 ‖ chunk)
//	node  = SHA-256(0x01 ‖ left ‖ right)
//	MTH(D[0:n]) splits at k, the largest power of two below n.
//
// The chain verifies proofs with it, providers build trees and proofs with
// it, and clients hash uploads with it, so all three agree by construction.
package merkle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
)

// HashSize is the size of every hash in the tree.
const HashSize = sha256.Size

// DefaultChunkSize is the leaf size deals use unless their params say otherwise.
const DefaultChunkSize = 1024

// Hash is a leaf or node hash.
type Hash [HashSize]byte

// String is the lowercase hex of h.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// HashFromBytes converts a 32-byte slice.
func HashFromBytes(b []byte) (Hash, error) {
	var h Hash
	if len(b) != HashSize {
		return h, fmt.Errorf("%w: %d bytes, want %d", ErrHashLength, len(b), HashSize)
	}
	copy(h[:], b)
	return h, nil
}

// Errors returned by verification and proof construction.
var (
	ErrHashLength     = errors.New("merkle: hash has the wrong length")
	ErrIndexOutOfTree = errors.New("merkle: leaf index out of the tree")
	ErrProofLength    = errors.New("merkle: audit path has the wrong length")
	ErrRootMismatch   = errors.New("merkle: proof does not lead to the root")
	ErrChunkSize      = errors.New("merkle: invalid chunk size")
	ErrLeafSize       = errors.New("merkle: leaf has the wrong size for its index")
)

var emptyRoot = Hash(sha256.Sum256(nil))

// EmptyRoot is MTH of zero leaves: SHA-256 of the empty string.
func EmptyRoot() Hash { return emptyRoot }

// HashLeaf is SHA-256(0x00 ‖ data).
func HashLeaf(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0x00})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// HashChildren is SHA-256(0x01 ‖ left ‖ right).
func HashChildren(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = 0x01
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// LeafCount is how many chunks a file of size bytes has (the last may be short).
func LeafCount(size uint64, chunkSize int) uint64 {
	if chunkSize <= 0 {
		return 0
	}
	cs := uint64(chunkSize)
	return size/cs + min(size%cs, 1)
}

// LeafSize is the size of leaf index in a file of size bytes: chunkSize for
// every leaf but a short last one.
func LeafSize(size uint64, chunkSize int, index uint64) (uint64, error) {
	if chunkSize <= 0 {
		return 0, ErrChunkSize
	}
	n := LeafCount(size, chunkSize)
	if index >= n {
		return 0, fmt.Errorf("%w: leaf %d of %d", ErrIndexOutOfTree, index, n)
	}
	if index == n-1 {
		return size - index*uint64(chunkSize), nil
	}
	return uint64(chunkSize), nil
}

// splitPoint is the largest power of two strictly below n (n ≥ 2).
func splitPoint(n uint64) uint64 {
	return uint64(1) << (bits.Len64(n-1) - 1)
}

// RootOfLeaves is MTH over already-split leaves (of any sizes).
func RootOfLeaves(leaves [][]byte) Hash {
	hashes := make([]Hash, len(leaves))
	for i, l := range leaves {
		hashes[i] = HashLeaf(l)
	}
	return rootOfHashes(hashes)
}

// RootOfSegments is the root of a file hashed in segments: roots[i] is the
// root of segment i alone, every segment but the last holding the same
// power-of-two count of full leaves (the last any count, a short last leaf
// included). The tree over the segment roots, split as RFC 6962 splits
// leaves, is the file's tree: a split of n leaves at the largest power of
// two below n falls on a segment boundary whenever n exceeds one segment.
// A get hashes each range of a deal on its own core and joins them here.
func RootOfSegments(roots []Hash) Hash { return rootOfHashes(roots) }

func rootOfHashes(h []Hash) Hash {
	switch len(h) {
	case 0:
		return emptyRoot
	case 1:
		return h[0]
	}
	k := splitPoint(uint64(len(h)))
	return HashChildren(rootOfHashes(h[:k]), rootOfHashes(h[k:]))
}

// Root is the tree hash of data split into chunkSize leaves.
func Root(data []byte, chunkSize int) (Hash, error) {
	b, err := NewBuilder(chunkSize)
	if err != nil {
		return Hash{}, err
	}
	_, _ = b.Write(data)
	return b.Root(), nil
}

// VerifyProof checks that leafData is leaf index of the tree with root and
// leaves leaves, given its audit path (RFC 9162 §2.1.3.2). It returns nil
// only for a correct proof.
func VerifyProof(root Hash, leaves, index uint64, leafData []byte, path []Hash) error {
	return VerifyProofHash(root, leaves, index, HashLeaf(leafData), path)
}

// VerifyFileProof checks a leaf of a file of size bytes hashed over
// chunkSize leaves: the leaf has the length its index implies, and its path
// leads to root. It is the test the chain applies to a storage proof, and
// the one a provider runs before sending one.
func VerifyFileProof(root Hash, size uint64, chunkSize int, index uint64, leafData []byte, path []Hash) error {
	want, err := LeafSize(size, chunkSize, index)
	if err != nil {
		return err
	}
	if uint64(len(leafData)) != want {
		return fmt.Errorf("%w: %d bytes, want %d", ErrLeafSize, len(leafData), want)
	}
	return VerifyProof(root, LeafCount(size, chunkSize), index, leafData, path)
}

// VerifyProofHash is VerifyProof for a leaf given by its hash.
func VerifyProofHash(root Hash, leaves, index uint64, leafHash Hash, path []Hash) error {
	if index >= leaves {
		return fmt.Errorf("%w: leaf %d of %d", ErrIndexOutOfTree, index, leaves)
	}
	if want := pathLength(index, leaves); len(path) != want {
		return fmt.Errorf("%w: %d hashes, want %d", ErrProofLength, len(path), want)
	}
	fn, sn := index, leaves-1
	r := leafHash
	for _, p := range path {
		if sn == 0 {
			return fmt.Errorf("%w: path longer than the tree", ErrProofLength)
		}
		if fn&1 == 1 || fn == sn {
			r = HashChildren(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = HashChildren(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || r != root {
		return ErrRootMismatch
	}
	return nil
}

// pathLength is the audit path length of leaf index in a tree of n leaves.
func pathLength(index, n uint64) int {
	length := 0
	for n > 1 {
		k := splitPoint(n)
		if index < k {
			n = k
		} else {
			index -= k
			n -= k
		}
		length++
	}
	return length
}
