package gateway

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/versity/versitygw/s3err"

	"github.com/stratusnet/stratus/writeback"
)

// The gateway's disk under --dir is bounded two ways (docs/s3.md):
//
//   - the spool (bodies being received, multipart parts kept until their
//     upload completes or is aborted, and the SDK's staging of each deal
//     being made: Storage.Staging) takes at most Options.SpoolBytes: a
//     request that would go over is refused with 503 SlowDown before or
//     while its body is read, and whatever it wrote is dropped; an object
//     that could never fit gets 400 EntityTooLarge;
//   - the cache of fetched objects is trimmed to Options.CacheBytes after
//     each fetch, least recently read first (a reader holding a trimmed
//     file keeps reading it: the file is only unlinked).

// errSpoolFull is the answer when the spool is full.
func errSpoolFull(limit int64) error {
	return s3err.APIError{Code: "SlowDown", HTTPStatusCode: http.StatusServiceUnavailable,
		Description: fmt.Sprintf("The gateway's spool is full (%d bytes, --spool-bytes): retry later, or complete or abort multipart uploads in progress.", limit)}
}

// budget counts bytes against a limit (0: no limit).
type budget struct {
	mu          sync.Mutex
	used, limit int64
}

// fits says whether n more bytes would stay within the limit now.
func (b *budget) fits(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit <= 0 || b.used+n <= b.limit
}

// take charges n bytes, or nothing and false if that goes over the limit.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit > 0 && b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
}

// Used is the bytes charged now.
func (b *budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// charged is a writer into the spool: every byte written is charged to
// the budget first, and refused with errSpoolFull past its limit.
type charged struct {
	w       io.Writer
	b       *budget
	charged int64
}

func (c *charged) Write(p []byte) (int, error) {
	if !c.b.take(int64(len(p))) {
		return 0, errSpoolFull(c.b.limit)
	}
	c.charged += int64(len(p))
	return c.w.Write(p)
}

// release gives back what c charged (its file is gone).
func (c *charged) release() {
	c.b.give(c.charged)
	c.charged = 0
}

// spoolWriter returns a charged writer into f, a new spool file; a known length is charged
// up front, so a body that cannot fit is refused before it is read.
func (b *Backend) spoolWriter(f *os.File, length *int64) (*charged, error) {
	// The bytes wait on disk, not in memory (ADR 016).
	c := &charged{w: writeback.NewWriter(f, 0), b: &b.spool}
	if length != nil && !b.spool.fits(*length) {
		return nil, errSpoolFull(b.spool.limit) // the writes charge as they land
	}
	return c, nil
}

// errTooLarge is the answer for an object that can never be stored
// within the spool's bound: its bytes and the staging of its deal.
func errTooLarge(size, stage, limit int64) error {
	return s3err.APIError{Code: "EntityTooLarge", HTTPStatusCode: http.StatusBadRequest,
		Description: fmt.Sprintf("An object of %d bytes needs %d bytes of the gateway's disk while its deal is made (the object, then its sealed copy and shards), more than its operator allows (--spool-bytes %d). Store it in smaller objects, in a bucket whose stratus:scheme or stratus:replicas tag stages less, or ask the operator to raise --spool-bytes.", size, size+stage, limit)}
}

// fitsEver checks that an object of size bytes in bucket (or a multipart
// upload that has reached size bytes) could be stored within the spool's
// bound at all, when it is the only thing in it.
func (b *Backend) fitsEver(bucket string, size int64) error {
	if b.spool.limit <= 0 {
		return nil
	}
	t, err := b.bucketTerms(bucket)
	if err != nil {
		return err
	}
	if stage := b.store.Staging(size, t); size+stage > b.spool.limit {
		return errTooLarge(size, stage, b.spool.limit)
	}
	return nil
}

// SpoolUsed is the bytes the spool holds now.
func (b *Backend) SpoolUsed() int64 { return b.spool.Used() }

// chargeParts charges the parts of uploads left by an earlier run.
func (b *Backend) chargeParts() error {
	var n int64
	err := filepath.WalkDir(filepath.Join(b.opts.Dir, "parts"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	b.spool.mu.Lock()
	b.spool.used += n // over the limit or not, it is on disk
	b.spool.mu.Unlock()
	return err
}

// trimCache deletes the least recently read cached objects until the
// cache holds at most CacheBytes, never keep (the copy just fetched).
func (b *Backend) trimCache(keep string) {
	if b.opts.CacheBytes <= 0 {
		return
	}
	entries, err := os.ReadDir(filepath.Join(b.opts.Dir, "cache"))
	if err != nil {
		return
	}
	type file struct {
		path string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		files = append(files, file{filepath.Join(b.opts.Dir, "cache", e.Name()), info.Size(), info.ModTime()})
		total += info.Size()
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	for _, f := range files {
		if total <= b.opts.CacheBytes {
			return
		}
		// Never a fetch in progress: its ".part" target, or the SDK's
		// temporary files beside it (".stratus-get-*").
		if f.path == keep || filepath.Ext(f.path) == ".part" || strings.HasPrefix(filepath.Base(f.path), ".") {
			continue
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}
