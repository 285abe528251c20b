// Package store keeps a provider's deal data on disk. A deal's bytes are
// streamed into a temporary directory, hashed on the way in, checked
// against the on-chain root and size, fsynced, and only then renamed into
// place: a crash never leaves a half-written deal counted as stored.
//
// Layout under the store directory:
//
//	deals/<id>/data       the (client-encrypted) file
//	deals/<id>/tree       the Merkle tree's upper levels (merkle tree file)
//	tmp/                  uploads in progress; emptied on Open
//	partial/<id>.data     bytes of a stopped upload, kept for a resume
//	partial/<id>.json     the root, size and chunk size they are for
package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/writeback"
)

// KeepFrom is the lowest tree level kept on disk: a proof reads at most
// 2^KeepFrom chunks plus one kept hash per level, and the tree file costs
// about 2/2^KeepFrom hashes per chunk (0.4% of the data at 1 KiB chunks).
const KeepFrom = 4

// Errors a caller (the HTTP API) maps to responses.
var (
	ErrNotFound     = errors.New("store: deal not stored")
	ErrTooLarge     = errors.New("store: more bytes than the deal's size")
	ErrTruncated    = errors.New("store: fewer bytes than the deal's size")
	ErrRootMismatch = errors.New("store: data does not match the deal's merkle root")
	ErrBadExpect    = errors.New("store: invalid expected root, size or chunk size")
)

// Expect is what the chain says a deal's data must be.
type Expect struct {
	Root      merkle.Hash
	Size      uint64
	ChunkSize int
}

// Store is a directory of deals. Its methods are safe for concurrent use
// on different deals; the caller serialises writes to one deal.
type Store struct {
	dir string

	mu       sync.Mutex
	live     map[uint64]*growing // uploads in progress (Follow)
	failed   map[uint64]int      // failed uploads of deals not stored (maxFailedFollows)
	started  chan struct{}       // closed and replaced when an upload starts (AwaitUpload)
	awaiting int                 // AwaitUpload calls waiting
}

// Open opens (creating if needed) the store at dir and removes uploads a
// crash left behind.
func Open(dir string) (*Store, error) {
	for _, d := range []string{filepath.Join(dir, "deals"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	tmp := filepath.Join(dir, "tmp")
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
			return nil, err
		}
	}
	return &Store{dir: dir}, nil
}

// Inspect opens an existing store for reading without touching uploads in
// progress (Open empties tmp/, which would break a running daemon's upload).
func Inspect(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, "deals")); err != nil {
		return nil, fmt.Errorf("no store at %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// StagedShardPath is where this provider keeps parity shard of deal id it
// computed for another slot's provider (ADR 011), until that provider has
// fetched it; in TempDir, so Open clears stale ones.
func (s *Store) StagedShardPath(id uint64, shard int) string {
	return filepath.Join(s.TempDir(), fmt.Sprintf("parity-%d-%d", id, shard))
}

// TempDir is where work in progress goes (shards being collected for a
// rebuild, uploads); Open empties it.
func (s *Store) TempDir() string { return filepath.Join(s.dir, "tmp") }

func (s *Store) dealDir(id uint64) string {
	return filepath.Join(s.dir, "deals", strconv.FormatUint(id, 10))
}

// Put streams exactly expect.Size bytes from r, verifies them against
// expect.Root and stores them as deal id. On any error nothing is kept.
// Putting a deal that is already stored with the same root succeeds
// without reading r.
func (s *Store) Put(id uint64, expect Expect, r io.Reader) error {
	if expect.Size == 0 || expect.ChunkSize <= 0 {
		return ErrBadExpect
	}
	if meta, err := s.Stat(id); err == nil && meta.Root == expect.Root && meta.Size == expect.Size {
		return nil
	}
	return s.install(id, func(tmp string) (*merkle.Tree, error) {
		return writeVerified(filepath.Join(tmp, "data"), expect, r)
	})
}

// install builds deal id in a fresh temporary directory, where fill puts
// the verified data file and returns its tree, writes the tree file, and
// renames the directory into place: a crash leaves nothing half-stored.
func (s *Store) install(id uint64, fill func(tmp string) (*merkle.Tree, error)) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(s.dir, "tmp", fmt.Sprintf("%d-%s", id, hex.EncodeToString(rnd[:])))
	if err := os.Mkdir(tmp, 0o750); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmp)
		}
	}()

	tree, err := fill(tmp)
	if err != nil {
		return err
	}
	if err := WriteFileSync(filepath.Join(tmp, "tree"), tree.WriteTo); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	final := s.dealDir(id)
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	ok = true
	return syncDir(filepath.Dir(final))
}

// writeVerified copies exactly expect.Size bytes into path while building
// the tree, then fsyncs and checks the root.
func writeVerified(path string, expect Expect, r io.Reader) (*merkle.Tree, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := merkle.NewBuilderKeeping(expect.ChunkSize, KeepFrom)
	if err != nil {
		return nil, err
	}
	// The disk writes while the bytes arrive, so the fsync below is short.
	w := writeback.NewWriter(f, 0)
	tree, err := receive(w, b, r, 0, expect)
	if err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	w.Finish() // a new copy is read again only by proofs and repairs
	return tree, f.Close()
}

// receive streams the bytes of the deal from offset on from r into w and
// the builder b (which has hashed the first offset bytes already), and
// checks the whole: exactly expect.Size bytes (ErrTruncated, ErrTooLarge)
// with expect.Root (ErrRootMismatch). A read error is returned wrapped.
func receive(w io.Writer, b *merkle.Builder, r io.Reader, offset uint64, expect Expect) (*merkle.Tree, error) {
	rest := int64(expect.Size - offset)
	// Read one byte past the size to tell "exactly" from "too much".
	n, err := io.Copy(io.MultiWriter(w, b), io.LimitReader(r, rest+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("store: receiving data: %w", err)
	case n > rest:
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, expect.Size)
	case n < rest:
		return nil, fmt.Errorf("%w: %d of %d bytes", ErrTruncated, offset+uint64(n), expect.Size)
	}
	tree := b.Tree()
	if tree.Root != expect.Root {
		return nil, fmt.Errorf("%w: got %s, want %s", ErrRootMismatch, tree.Root, expect.Root)
	}
	return tree, nil
}

// WriteFileSync creates path (which must not exist), fills it with write
// and fsyncs it.
func WriteFileSync(path string, write func(io.Writer) (int64, error)) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Meta describes a stored deal.
type Meta struct {
	Root      merkle.Hash
	Size      uint64
	ChunkSize int
}

// Stat returns a stored deal's root and size (from its tree file header).
func (s *Store) Stat(id uint64) (Meta, error) {
	f, err := os.Open(filepath.Join(s.dealDir(id), "tree"))
	if errors.Is(err, fs.ErrNotExist) {
		return Meta{}, fmt.Errorf("%w: deal %d", ErrNotFound, id)
	} else if err != nil {
		return Meta{}, err
	}
	defer f.Close()
	tf, err := merkle.OpenTreeFile(f)
	if err != nil {
		return Meta{}, err
	}
	return Meta{Root: tf.Root, Size: tf.Size, ChunkSize: tf.ChunkSize}, nil
}

// Has reports whether deal id is stored.
func (s *Store) Has(id uint64) bool {
	_, err := s.Stat(id)
	return err == nil
}

// OpenData opens a stored deal's bytes for reading (ranges included).
func (s *Store) OpenData(id uint64) (*os.File, Meta, error) {
	meta, err := s.Stat(id)
	if err != nil {
		return nil, Meta{}, err
	}
	f, err := os.Open(filepath.Join(s.dealDir(id), "data"))
	if err != nil {
		return nil, Meta{}, err
	}
	return f, meta, nil
}

// Proof returns leaf index of deal id and its audit path, reading at most
// 2^KeepFrom chunks and one kept hash per level.
func (s *Store) Proof(id, index uint64) ([]byte, []merkle.Hash, error) {
	tf, err := os.Open(filepath.Join(s.dealDir(id), "tree"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: deal %d", ErrNotFound, id)
	} else if err != nil {
		return nil, nil, err
	}
	defer tf.Close()
	tree, err := merkle.OpenTreeFile(tf)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.Open(filepath.Join(s.dealDir(id), "data"))
	if err != nil {
		return nil, nil, err
	}
	defer data.Close()
	read := func(i uint64) ([]byte, error) {
		size, err := merkle.LeafSize(tree.Size, tree.ChunkSize, i)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size)
		if _, err := data.ReadAt(buf, int64(i)*int64(tree.ChunkSize)); err != nil {
			return nil, fmt.Errorf("store: deal %d chunk %d: %w", id, i, err)
		}
		return buf, nil
	}
	path, err := tree.Proof(index, read)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := read(index)
	return leaf, path, err
}

// Verify re-hashes a stored deal and checks it still matches its root.
func (s *Store) Verify(id uint64) error {
	f, meta, err := s.OpenData(id)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := merkle.NewBuilder(meta.ChunkSize)
	if err != nil {
		return err
	}
	n, err := io.Copy(b, f)
	if err != nil {
		return err
	}
	if uint64(n) != meta.Size {
		return fmt.Errorf("%w: %d bytes on disk, %d expected", ErrTruncated, n, meta.Size)
	}
	if root := b.Root(); root != meta.Root {
		return fmt.Errorf("%w: deal %d on disk hashes to %s", ErrRootMismatch, id, root)
	}
	return nil
}

// Delete removes a stored deal; deleting a missing deal is not an error.
func (s *Store) Delete(id uint64) error {
	return os.RemoveAll(s.dealDir(id))
}

// List returns the stored deal ids in ascending order.
func (s *Store) List() ([]uint64, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "deals"))
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, e := range entries {
		id, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || !e.IsDir() {
			continue
		}
		if s.Has(id) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// Usage counts the stored deals and their bytes in one pass over the
// store; a deal deleted during the pass is not counted.
func (s *Store) Usage() (deals int, bytes uint64, err error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "deals"))
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		id, perr := strconv.ParseUint(e.Name(), 10, 64)
		if perr != nil || !e.IsDir() {
			continue
		}
		m, err := s.Stat(id)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return 0, 0, err
		}
		deals++
		bytes += m.Size
	}
	return deals, bytes, nil
}
