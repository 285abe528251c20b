package merkle

import (
	"fmt"
)

// ChunkReader returns leaf i's bytes (the short last chunk included).
type ChunkReader func(i uint64) ([]byte, error)

// Tree is a built tree: its root, and the nodes of every level from
// KeepFrom up (Levels[0] is level KeepFrom). Nodes below KeepFrom are
// recomputed from the chunks, so a proof reads at most 2^KeepFrom chunks
// plus log2(leaves) kept hashes.
type Tree struct {
	Root      Hash
	Size      uint64
	ChunkSize int
	KeepFrom  int
	Levels    [][]Hash
}

// Leaves is the number of leaves.
func (t *Tree) Leaves() uint64 { return LeafCount(t.Size, t.ChunkSize) }

// KeptNode returns a kept node (level ≥ KeepFrom) from memory.
func (t *Tree) KeptNode(level int, index uint64) (Hash, error) {
	l := level - t.KeepFrom
	if t.KeepFrom < 0 || l < 0 || l >= len(t.Levels) || index >= uint64(len(t.Levels[l])) {
		return Hash{}, fmt.Errorf("merkle: node %d at level %d is not kept", index, level)
	}
	return t.Levels[l][index], nil
}

// Proof returns the audit path of leaf index, reading chunks with read only
// below KeepFrom.
func (t *Tree) Proof(index uint64, read ChunkReader) ([]Hash, error) {
	return Prove(Shape{Size: t.Size, ChunkSize: t.ChunkSize, KeepFrom: t.KeepFrom}, t.KeptNode, read, index)
}

// Shape is what a proof needs to know of a tree besides its nodes.
type Shape struct {
	Size      uint64
	ChunkSize int
	// KeepFrom is the lowest level whose nodes keptNode can return (-1: none).
	KeepFrom int
}

// KeptNodeReader returns the kept node at (level ≥ KeepFrom, index).
type KeptNodeReader func(level int, index uint64) (Hash, error)

type prover struct {
	shape Shape
	kept  KeptNodeReader
	read  ChunkReader
}

// node returns the root of the perfect subtree at level, index (covering
// leaves [index·2^level, (index+1)·2^level)).
func (p prover) node(level int, index uint64) (Hash, error) {
	if p.shape.KeepFrom >= 0 && level >= p.shape.KeepFrom {
		return p.kept(level, index)
	}
	if level == 0 {
		chunk, err := p.read(index)
		if err != nil {
			return Hash{}, fmt.Errorf("reading chunk %d: %w", index, err)
		}
		want, err := LeafSize(p.shape.Size, p.shape.ChunkSize, index)
		if err != nil {
			return Hash{}, err
		}
		if uint64(len(chunk)) != want {
			return Hash{}, fmt.Errorf("%w: chunk %d has %d bytes, want %d", ErrLeafSize, index, len(chunk), want)
		}
		return HashLeaf(chunk), nil
	}
	l, err := p.node(level-1, 2*index)
	if err != nil {
		return Hash{}, err
	}
	r, err := p.node(level-1, 2*index+1)
	if err != nil {
		return Hash{}, err
	}
	return HashChildren(l, r), nil
}

// rangeHash is MTH of leaves [lo, hi), where lo is a multiple of the largest
// power of two not above hi-lo (true of every range an audit path needs).
func (p prover) rangeHash(lo, hi uint64) (Hash, error) {
	// Decompose into perfect aligned subtrees, largest first, then fold from the right.
	var parts []Hash
	for lo < hi {
		level := 0
		for {
			next := uint64(1) << (level + 1)
			if lo%next != 0 || lo+next > hi {
				break
			}
			level++
		}
		h, err := p.node(level, lo>>level)
		if err != nil {
			return Hash{}, err
		}
		parts = append(parts, h)
		lo += uint64(1) << level
	}
	if len(parts) == 0 {
		return emptyRoot, nil
	}
	r := parts[len(parts)-1]
	for i := len(parts) - 2; i >= 0; i-- {
		r = HashChildren(parts[i], r)
	}
	return r, nil
}

// Prove returns the audit path of leaf index of a tree of the given shape:
// kept levels come from kept, lower ones are recomputed from chunks read
// with read, so a proof reads at most 2^KeepFrom chunks and one kept node
// per level above.
func Prove(shape Shape, kept KeptNodeReader, read ChunkReader, index uint64) ([]Hash, error) {
	if shape.ChunkSize <= 0 {
		return nil, ErrChunkSize
	}
	p := prover{shape: shape, kept: kept, read: read}
	n := LeafCount(shape.Size, shape.ChunkSize)
	if index >= n {
		return nil, fmt.Errorf("%w: leaf %d of %d", ErrIndexOutOfTree, index, n)
	}
	// Walk down from the root, collecting siblings, then reverse: the path
	// runs from the leaf up.
	var path []Hash
	lo, hi := uint64(0), n
	for hi-lo > 1 {
		k := splitPoint(hi - lo)
		var sib Hash
		var err error
		if index < lo+k {
			sib, err = p.rangeHash(lo+k, hi)
			hi = lo + k
		} else {
			sib, err = p.rangeHash(lo, lo+k)
			lo += k
		}
		if err != nil {
			return nil, err
		}
		path = append(path, sib)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, nil
}

// ProofFromData builds the audit path of leaf index straight from data.
func ProofFromData(data []byte, chunkSize int, index uint64) (leaf []byte, path []Hash, err error) {
	b, err := NewBuilder(chunkSize)
	if err != nil {
		return nil, nil, err
	}
	_, _ = b.Write(data)
	t := b.Tree()
	read := func(i uint64) ([]byte, error) {
		start := i * uint64(chunkSize)
		return data[start:min(start+uint64(chunkSize), uint64(len(data)))], nil
	}
	path, err = t.Proof(index, read)
	if err != nil {
		return nil, nil, err
	}
	leaf, _ = read(index)
	return leaf, path, nil
}
