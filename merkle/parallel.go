package merkle

import (
	"math/bits"
	"runtime"
)

// segmentBytes bounds the bytes a ParallelBuilder hashes per job: a
// power-of-two count of leaves, a perfect subtree whose root joins the
// tree as one node.
const segmentBytes = 1 << 20

// ParallelBuilder computes the same root as Builder, hashing whole
// segments (a power-of-two count of leaves, at most segmentBytes unless one
// leaf is larger) on other goroutines while the writer
// goes on. It keeps no levels. At most 2 × workers segments are in flight,
// so its memory is bounded (about 2 MiB per worker), and no
// goroutine outlives the segment it hashes: a builder dropped before Root
// leaks nothing.
type ParallelBuilder struct {
	b       *Builder // the tree so far: segment roots pushed in order, then the tail
	segment int      // bytes per segment
	leaves  uint64   // leaves per segment
	buf     []byte   // the segment being filled
	pending []chan Hash
	limit   int
	free    chan []byte
}

// NewParallelBuilder hashes chunkSize-byte leaves with up to workers
// segments hashed at once beside the writer (0: one per CPU).
func NewParallelBuilder(chunkSize, workers int) (*ParallelBuilder, error) {
	b, err := NewBuilder(chunkSize)
	if err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	leaves := 1
	for leaves*2*chunkSize <= segmentBytes {
		leaves *= 2
	}
	return &ParallelBuilder{b: b, segment: leaves * chunkSize, leaves: uint64(leaves), limit: 2 * workers, free: make(chan []byte, 2*workers+1)}, nil
}

// Write adds p to the stream. It never fails.
func (p *ParallelBuilder) Write(data []byte) (int, error) {
	n := len(data)
	for len(data) > 0 {
		if p.buf == nil {
			select {
			case p.buf = <-p.free:
			default:
				p.buf = make([]byte, 0, p.segment)
			}
		}
		take := min(p.segment-len(p.buf), len(data))
		p.buf = append(p.buf, data[:take]...)
		data = data[take:]
		if len(p.buf) == p.segment {
			p.dispatch()
		}
	}
	return n, nil
}

// dispatch hands the full segment to a worker, first pushing the oldest
// results when too many are in flight.
func (p *ParallelBuilder) dispatch() {
	for len(p.pending) >= p.limit {
		p.pushOldest()
	}
	out := make(chan Hash, 1)
	p.pending = append(p.pending, out)
	data, chunkSize, free := p.buf, p.b.chunkSize, p.free
	p.buf = nil
	go func() {
		h, _ := NewBuilder(chunkSize)
		_, _ = h.Write(data)
		out <- h.Root()
		select {
		case free <- data[:0]:
		default:
		}
	}()
}

func (p *ParallelBuilder) pushOldest() {
	h := <-p.pending[0]
	p.pending = p.pending[1:]
	p.b.pushSubtree(h, p.leaves, uint64(p.segment))
}

// Size is the number of bytes written so far.
func (p *ParallelBuilder) Size() uint64 {
	return p.b.size + uint64(len(p.pending)*p.segment+len(p.buf))
}

// Root returns the tree hash of everything written, as Builder's Root
// does. Writing afterwards is not allowed.
func (p *ParallelBuilder) Root() Hash {
	for len(p.pending) > 0 {
		p.pushOldest()
	}
	if len(p.buf) > 0 {
		_, _ = p.b.Write(p.buf)
		p.buf = nil
	}
	return p.b.Root()
}

// pushSubtree adds the root of a perfect subtree of leaves full leaves
// (bytes bytes) to the tree. The tree so far must hold a whole number of
// such subtrees, with no chunk buffered.
func (b *Builder) pushSubtree(h Hash, leaves, bytes uint64) {
	level := bits.Len64(leaves) - 1
	b.leaves += leaves
	b.size += bytes
	b.push(stackEntry{hash: h, level: level})
}
