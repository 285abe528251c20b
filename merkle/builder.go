package merkle

import (
	"fmt"
)

// Builder hashes a stream of bytes into the tree in one pass. It keeps one
// partial chunk and one hash per level of the tree (the roots of the
// completed perfect subtrees, at most log2(leaves) of them), so memory does
// not grow with the file, except for the levels it is asked to keep.
type Builder struct {
	chunkSize int
	keepFrom  int // first level kept in full; -1 keeps none
	buf       []byte
	size      uint64
	leaves    uint64
	stack     []stackEntry
	levels    [][]Hash
}

type stackEntry struct {
	hash  Hash
	level int
}

// NewBuilder hashes chunkSize-byte leaves and keeps no levels.
func NewBuilder(chunkSize int) (*Builder, error) {
	return NewBuilderKeeping(chunkSize, -1)
}

// NewBuilderKeeping also keeps every node at levels keepFrom and above
// (level 0 is the leaf hashes), so Tree can serve proofs reading at most
// 2^keepFrom chunks. keepFrom -1 keeps nothing.
func NewBuilderKeeping(chunkSize, keepFrom int) (*Builder, error) {
	if chunkSize <= 0 {
		return nil, fmt.Errorf("%w: %d", ErrChunkSize, chunkSize)
	}
	if keepFrom < -1 || keepFrom > 63 {
		return nil, fmt.Errorf("merkle: keep level %d out of range", keepFrom)
	}
	return &Builder{chunkSize: chunkSize, keepFrom: keepFrom, buf: make([]byte, 0, chunkSize)}, nil
}

// Write adds p to the stream. It never fails.
func (b *Builder) Write(p []byte) (int, error) {
	n := len(p)
	b.size += uint64(n)
	if len(b.buf) > 0 {
		take := min(b.chunkSize-len(b.buf), len(p))
		b.buf = append(b.buf, p[:take]...)
		p = p[take:]
		if len(b.buf) == b.chunkSize && len(p) > 0 {
			b.addLeaf(b.buf)
			b.buf = b.buf[:0]
		}
	}
	// Whole chunks straight from p, keeping the last (possibly full) chunk
	// buffered: whether it is the final, short-or-full leaf is only known at Root.
	for len(p) > b.chunkSize {
		b.addLeaf(p[:b.chunkSize])
		p = p[b.chunkSize:]
	}
	if len(p) > 0 {
		if len(b.buf) == b.chunkSize {
			b.addLeaf(b.buf)
			b.buf = b.buf[:0]
		}
		b.buf = append(b.buf, p...)
	}
	return n, nil
}

func (b *Builder) addLeaf(chunk []byte) {
	b.leaves++
	b.push(stackEntry{hash: HashLeaf(chunk), level: 0})
}

func (b *Builder) keep(e stackEntry) {
	if b.keepFrom < 0 || e.level < b.keepFrom {
		return
	}
	i := e.level - b.keepFrom
	for len(b.levels) <= i {
		b.levels = append(b.levels, nil)
	}
	b.levels[i] = append(b.levels[i], e.hash)
}

// push adds a perfect subtree and merges equal-height neighbours, as a
// binary counter carries.
func (b *Builder) push(e stackEntry) {
	b.keep(e)
	for len(b.stack) > 0 && b.stack[len(b.stack)-1].level == e.level {
		left := b.stack[len(b.stack)-1]
		b.stack = b.stack[:len(b.stack)-1]
		e = stackEntry{hash: HashChildren(left.hash, e.hash), level: e.level + 1}
		b.keep(e)
	}
	b.stack = append(b.stack, e)
}

// Size is the number of bytes written so far.
func (b *Builder) Size() uint64 { return b.size }

// Leaves is the number of leaves of the data written so far.
func (b *Builder) Leaves() uint64 { return LeafCount(b.size, b.chunkSize) }

// Root returns the tree hash of everything written so far. Writing more
// afterwards is not allowed; call Tree for the kept levels.
func (b *Builder) Root() Hash {
	b.flush()
	if len(b.stack) == 0 {
		return emptyRoot
	}
	// RFC 6962's root folds the perfect subtrees from the right.
	r := b.stack[len(b.stack)-1].hash
	for i := len(b.stack) - 2; i >= 0; i-- {
		r = HashChildren(b.stack[i].hash, r)
	}
	return r
}

func (b *Builder) flush() {
	if len(b.buf) > 0 {
		b.addLeaf(b.buf)
		b.buf = b.buf[:0]
	}
}

// Tree finishes the builder and returns the tree with its kept levels.
func (b *Builder) Tree() *Tree {
	root := b.Root()
	return &Tree{
		Root:      root,
		Size:      b.size,
		ChunkSize: b.chunkSize,
		KeepFrom:  b.keepFrom,
		Levels:    b.levels,
	}
}
