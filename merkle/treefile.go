package merkle

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The tree file keeps a built tree's upper levels on disk so a proof reads
// one node per level with ReadAt instead of loading the file:
//
//	magic "STRTREE1" | size u64 | chunk u32 | keepFrom i32 | root [32] | levels u32 |
//	count u64 × levels | hashes of level keepFrom, keepFrom+1, ... (32 bytes each)
//
// Integers are big-endian.
var treeMagic = [8]byte{'S', 'T', 'R', 'T', 'R', 'E', 'E', '1'}

// ErrTreeFile is returned for a tree file that is not one, or is damaged.
var ErrTreeFile = errors.New("merkle: bad tree file")

const treeHeaderFixed = 8 + 8 + 4 + 4 + HashSize + 4

// maxTreeLevels bounds the level count read from a file (2^64 leaves).
const maxTreeLevels = 65

// WriteTo writes the tree's shape, root and kept levels.
func (t *Tree) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	var n int64
	write := func(b []byte) error {
		m, err := bw.Write(b)
		n += int64(m)
		return err
	}
	var hdr [treeHeaderFixed]byte
	copy(hdr[:8], treeMagic[:])
	binary.BigEndian.PutUint64(hdr[8:], t.Size)
	binary.BigEndian.PutUint32(hdr[16:], uint32(t.ChunkSize))
	binary.BigEndian.PutUint32(hdr[20:], uint32(int32(t.KeepFrom)))
	copy(hdr[24:], t.Root[:])
	binary.BigEndian.PutUint32(hdr[24+HashSize:], uint32(len(t.Levels)))
	if err := write(hdr[:]); err != nil {
		return n, err
	}
	var cnt [8]byte
	for _, l := range t.Levels {
		binary.BigEndian.PutUint64(cnt[:], uint64(len(l)))
		if err := write(cnt[:]); err != nil {
			return n, err
		}
	}
	for _, l := range t.Levels {
		for _, h := range l {
			if err := write(h[:]); err != nil {
				return n, err
			}
		}
	}
	return n, bw.Flush()
}

// TreeFile reads kept nodes of a tree file on demand.
type TreeFile struct {
	Shape
	Root    Hash
	r       io.ReaderAt
	offsets []int64 // start of each kept level
	counts  []uint64
}

// OpenTreeFile reads the header of a tree file.
func OpenTreeFile(r io.ReaderAt) (*TreeFile, error) {
	var hdr [treeHeaderFixed]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrTreeFile, err)
	}
	if [8]byte(hdr[:8]) != treeMagic {
		return nil, fmt.Errorf("%w: wrong magic", ErrTreeFile)
	}
	tf := &TreeFile{r: r}
	tf.Size = binary.BigEndian.Uint64(hdr[8:])
	tf.ChunkSize = int(binary.BigEndian.Uint32(hdr[16:]))
	tf.KeepFrom = int(int32(binary.BigEndian.Uint32(hdr[20:])))
	copy(tf.Root[:], hdr[24:24+HashSize])
	levels := binary.BigEndian.Uint32(hdr[24+HashSize:])
	if tf.ChunkSize <= 0 || tf.KeepFrom < -1 || levels > maxTreeLevels || (tf.KeepFrom < 0 && levels > 0) {
		return nil, fmt.Errorf("%w: bad shape", ErrTreeFile)
	}
	counts := make([]byte, 8*int(levels))
	if _, err := r.ReadAt(counts, treeHeaderFixed); err != nil && len(counts) > 0 {
		return nil, fmt.Errorf("%w: level counts: %v", ErrTreeFile, err)
	}
	off := int64(treeHeaderFixed + len(counts))
	for i := range int(levels) {
		c := binary.BigEndian.Uint64(counts[8*i:])
		if c > tf.Size {
			return nil, fmt.Errorf("%w: level %d claims %d nodes", ErrTreeFile, i, c)
		}
		tf.offsets = append(tf.offsets, off)
		tf.counts = append(tf.counts, c)
		off += int64(c) * HashSize
	}
	return tf, nil
}

// Node reads kept node (level, index).
func (tf *TreeFile) Node(level int, index uint64) (Hash, error) {
	l := level - tf.KeepFrom
	if tf.KeepFrom < 0 || l < 0 || l >= len(tf.counts) || index >= tf.counts[l] {
		return Hash{}, fmt.Errorf("merkle: node %d at level %d is not kept", index, level)
	}
	var h Hash
	if _, err := tf.r.ReadAt(h[:], tf.offsets[l]+int64(index)*HashSize); err != nil {
		return Hash{}, fmt.Errorf("%w: node %d/%d: %v", ErrTreeFile, level, index, err)
	}
	return h, nil
}

// Proof returns the audit path of leaf index, reading chunks with read.
func (tf *TreeFile) Proof(index uint64, read ChunkReader) ([]Hash, error) {
	return Prove(tf.Shape, tf.Node, read, index)
}
