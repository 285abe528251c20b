package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/writeback"
)

// Resumable uploads. An owner's upload that stops early (client killed,
// connection cut, too slow) keeps the bytes that arrived in
// partial/<id>.data, with partial/<id>.json naming the deal's root, size
// and chunk size. The next upload of the deal may start at that offset:
// the kept prefix is hashed again from disk, the rest streams in, and the
// whole is verified against the root as for any upload. A partial upload
// is dropped once it is older than its time to live or when partial
// uploads together exceed their space budget (PrunePartials), and whenever
// the bytes turn out not to match the deal.

// ErrOffsetMismatch: an upload asked to resume at an offset the provider
// does not hold.
var ErrOffsetMismatch = errors.New("store: no partial upload at that offset")

type partialMeta struct {
	Root      string `json:"root"`
	Size      uint64 `json:"size"`
	ChunkSize int    `json:"chunk_size"`
}

func (s *Store) partialPaths(id uint64) (data, meta string) {
	base := filepath.Join(s.dir, "partial", strconv.FormatUint(id, 10))
	return base + ".data", base + ".json"
}

// Partial returns how many bytes of deal id a stopped upload left, for an
// upload expecting expect (0 when none, or when what is kept was for other
// bytes).
func (s *Store) Partial(id uint64, expect Expect) uint64 {
	data, metaPath := s.partialPaths(id)
	bz, err := os.ReadFile(metaPath)
	if err != nil {
		return 0
	}
	var m partialMeta
	if json.Unmarshal(bz, &m) != nil || m.Root != expect.Root.String() || m.Size != expect.Size || m.ChunkSize != expect.ChunkSize {
		return 0
	}
	info, err := os.Stat(data)
	if err != nil || uint64(info.Size()) >= expect.Size {
		return 0
	}
	return uint64(info.Size())
}

// DropPartial removes what a stopped upload of deal id left.
func (s *Store) DropPartial(id uint64) {
	data, meta := s.partialPaths(id)
	_ = os.Remove(data)
	_ = os.Remove(meta)
}

// PutFrom is Put for an upload that starts at offset: the first offset
// bytes are those a stopped upload left (Partial), and r carries the rest.
// Offset 0 starts afresh. When r ends early, the bytes received are kept
// for a later resume and the error wraps ErrTruncated (or r's error); when
// the data cannot match the deal, nothing is kept.
func (s *Store) PutFrom(id uint64, expect Expect, offset uint64, r io.Reader) (err error) {
	if expect.Size == 0 || expect.ChunkSize <= 0 {
		return ErrBadExpect
	}
	if meta, err := s.Stat(id); err == nil && meta.Root == expect.Root && meta.Size == expect.Size {
		s.DropPartial(id)
		return nil
	}
	if held := s.Partial(id, expect); offset > held {
		return fmt.Errorf("%w: asked to resume at byte %d, holding %d", ErrOffsetMismatch, offset, held)
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "partial"), 0o750); err != nil {
		return err
	}
	dataPath, metaPath := s.partialPaths(id)
	if offset == 0 {
		s.DropPartial(id)
		bz, _ := json.Marshal(partialMeta{Root: expect.Root.String(), Size: expect.Size, ChunkSize: expect.ChunkSize})
		if err := os.WriteFile(metaPath, bz, 0o640); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(dataPath, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(int64(offset)); err != nil {
		return err
	}
	b, err := merkle.NewBuilderKeeping(expect.ChunkSize, KeepFrom)
	if err != nil {
		return err
	}
	// The kept prefix is hashed again from disk: nothing of the tree is
	// trusted across uploads.
	if _, err := io.Copy(b, io.NewSectionReader(f, 0, int64(offset))); err != nil {
		return fmt.Errorf("store: reading the partial upload: %w", err)
	}
	if _, err := f.Seek(int64(offset), io.SeekStart); err != nil {
		return err
	}
	// From here the upload can be followed (Follow) until it returns.
	// Followers read it from the page cache while they keep up.
	fw := writeback.NewWriter(f, int64(offset))
	var w io.Writer = fw
	g := s.startUpload(id, dataPath, expect, offset)
	if g != nil {
		fw.Keeping(writeback.Keep)
		w = &growingWriter{w: w, g: g}
	}
	defer func() { s.endUpload(id, g, err) }()
	tree, err := receive(w, b, r, offset, expect)
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrRootMismatch):
		s.DropPartial(id) // these bytes can never become the deal
		return err
	case err != nil:
		// Keep what arrived for a resume; fsync so the offset reported
		// later is on disk.
		_ = f.Sync()
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if g == nil {
		// Nobody follows it: nothing left to keep. (A followed upload's
		// last Keep bytes stay for the followers still reading them.)
		fw.Finish()
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := s.install(id, func(tmp string) (*merkle.Tree, error) {
		return tree, os.Rename(dataPath, filepath.Join(tmp, "data"))
	}); err != nil {
		return err
	}
	_ = os.Remove(metaPath)
	return nil
}

// PrunePartials drops partial uploads older than maxAge and then, oldest
// first, as many as it takes to bring their bytes under maxBytes. Deals
// for which busy says true (an upload of them is running) are neither
// dropped nor counted. It returns how many it dropped.
func (s *Store) PrunePartials(maxAge time.Duration, maxBytes uint64, now time.Time, busy func(id uint64) bool) (int, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, "partial"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	type partial struct {
		id   uint64
		size uint64
		mod  time.Time
	}
	var parts []partial
	var total uint64
	dropped := 0
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".data")
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil || (busy != nil && busy(id)) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if now.Sub(info.ModTime()) > maxAge {
			s.DropPartial(id)
			dropped++
			continue
		}
		parts = append(parts, partial{id, uint64(info.Size()), info.ModTime()})
		total += uint64(info.Size())
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].mod.Before(parts[j].mod) })
	for _, p := range parts {
		if total <= maxBytes {
			break
		}
		s.DropPartial(p.id)
		total -= p.size
		dropped++
	}
	return dropped, nil
}
