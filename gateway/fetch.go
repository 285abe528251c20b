package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// A GET of an object not in the cache starts one fetch of its deal into
// the cache; every reader of the object shares it. The SDK reports the
// file it decrypts into and how much of it is in place from the start
// (decrypted and authenticated as the owner's, not yet checked against
// the deal's root), so a range is served as soon as its bytes have
// arrived instead of after the whole deal. The last byte of every
// response waits for the fetch to end well: a fetch that fails after some
// bytes were served ends those responses with an error, and so does one
// that succeeded into another file than the one they read (the SDK's
// ranged get failed the root check and a whole download made the object),
// so a client never completes a response on bytes the check disowned.

// fetch is one deal being fetched into the cache.
type fetch struct {
	mu   sync.Mutex
	cond *sync.Cond
	// path is the file being written (empty until the SDK names it) and
	// done how many of its bytes are final.
	path string
	done int64
	// finished is set when the fetch ended, with err; on success the
	// whole object is at the cache path.
	finished bool
	err      error
	// final is the object's file, on success: a reader of another file
	// (one the SDK gave up) must not finish on it.
	final os.FileInfo
}

func (b *Backend) cached(deal uint64) string {
	return filepath.Join(b.opts.Dir, "cache", fmt.Sprintf("deal-%d", deal))
}

// openCached opens the cached copy of deal, marking it recently read.
func (b *Backend) openCached(deal uint64) (*os.File, error) {
	path := b.cached(deal)
	f, err := os.Open(path)
	if err == nil {
		now := time.Now()
		_ = os.Chtimes(path, now, now) // recently read: trimmed last
	}
	return f, err
}

// startFetch returns the fetch of deal in progress, or starts one. The
// fetch outlives the request that started it (others may be reading it).
func (b *Backend) startFetch(ctx context.Context, deal uint64) *fetch {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.fetching[deal]; ok {
		return f
	}
	f := &fetch{}
	f.cond = sync.NewCond(&f.mu)
	b.fetching[deal] = f
	go func() {
		path := b.cached(deal)
		tmp := path + fmt.Sprintf(".%d.part", time.Now().UnixNano())
		err := b.store.Get(context.WithoutCancel(ctx), deal, tmp, func(p string, done int64) {
			f.mu.Lock()
			f.path, f.done = p, done
			f.mu.Unlock()
			f.cond.Broadcast()
		})
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			os.Remove(tmp)
			err = fmt.Errorf("fetching deal %d: %w", deal, err)
		}
		var final os.FileInfo
		if err == nil {
			final, err = os.Stat(path)
			b.trimCache(path)
		}
		b.mu.Lock()
		delete(b.fetching, deal)
		b.mu.Unlock()
		f.mu.Lock()
		f.finished, f.err, f.final = true, err, final
		f.mu.Unlock()
		f.cond.Broadcast()
	}()
	return f
}

// Fetching is how many deals are being fetched into the cache now (a
// fetch ends after its last bytes were served: it still renames its file
// into the cache and trims the cache).
func (b *Backend) Fetching() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.fetching)
}

// wait blocks until the fetch has more than off bytes in place, or ended.
// It returns the bytes in place, whether it ended, and its error.
func (f *fetch) wait(off int64) (done int64, path string, finished bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.done <= off && !f.finished {
		f.cond.Wait()
	}
	return f.done, f.path, f.finished, f.err
}

// open returns the whole object's bytes, waiting for its fetch.
func (b *Backend) open(ctx context.Context, obj Object) (*os.File, error) {
	if obj.Deal == 0 {
		return os.Open(os.DevNull)
	}
	for {
		f, err := b.openCached(obj.Deal)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
		// Wait for the fetch to end; then the cache has it (unless it was
		// trimmed meanwhile: fetch again).
		if _, _, _, err := b.startFetch(ctx, obj.Deal).wait(math.MaxInt64); err != nil {
			return nil, err
		}
	}
}

// openRange returns length bytes of the object from start: from the cache,
// or from its fetch as they arrive.
func (b *Backend) openRange(ctx context.Context, obj Object, start, length int64) (io.ReadCloser, error) {
	if obj.Deal == 0 || length == 0 {
		return http.NoBody, nil
	}
	for {
		if f, err := b.openCached(obj.Deal); err == nil {
			return readCloser{io.NewSectionReader(f, start, length), f}, nil
		}
		ft := b.startFetch(ctx, obj.Deal)
		_, path, finished, err := ft.wait(0)
		if err != nil {
			return nil, err
		}
		if finished || path == "" {
			continue // in the cache now (or trimmed: fetch again)
		}
		f, err := os.Open(path)
		if err != nil {
			// Renamed into the cache meanwhile: let the fetch end (it
			// renames, then trims) rather than spin.
			if _, _, _, err := ft.wait(math.MaxInt64); err != nil {
				return nil, err
			}
			continue
		}
		return &growing{ft: ft, f: f, off: start, end: start + length}, nil
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// growing reads [off, end) of a file a fetch is writing, waiting for each
// byte to be in place, and for the last one until the fetch ended well
// into this very file. The open file stays readable when the fetch
// renames it into the cache, or removes it after failing (then the read
// fails).
type growing struct {
	ft       *fetch
	f        *os.File
	off, end int64
}

// errFetchRestarted ends a response whose bytes came from a file the
// fetch did not keep.
var errFetchRestarted = errors.New("the object's fetch started over after these bytes were sent (a provider sent bytes that failed the deal's root check); retry the GET")

func (g *growing) Read(p []byte) (int, error) {
	if g.off >= g.end {
		return 0, io.EOF
	}
	upTo := g.off
	if g.off == g.end-1 {
		upTo = math.MaxInt64 // the last byte: wait for the end
	}
	done, _, finished, err := g.ft.wait(upTo)
	if err != nil {
		return 0, err
	}
	if finished {
		if err := g.sameFile(); err != nil {
			return 0, err
		}
		done = g.end
	} else {
		done = min(done, g.end-1)
	}
	n := min(int64(len(p)), min(done, g.end)-g.off)
	if n <= 0 {
		return 0, io.ErrUnexpectedEOF // finished short of the range
	}
	m, err := g.f.ReadAt(p[:n], g.off)
	g.off += int64(m)
	if errors.Is(err, io.EOF) && int64(m) == n {
		err = nil
	}
	return m, err
}

// sameFile checks that the fetch made the object of the file g reads.
func (g *growing) sameFile() error {
	g.ft.mu.Lock()
	final := g.ft.final
	g.ft.mu.Unlock()
	mine, err := g.f.Stat()
	if err != nil {
		return err
	}
	if final == nil || !os.SameFile(mine, final) {
		return errFetchRestarted
	}
	return nil
}

func (g *growing) Close() error { return g.f.Close() }
