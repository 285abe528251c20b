package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/stratusnet/stratus/writeback"
)

// Following an upload. While the owner's upload of a deal arrives, the
// providers assigned the deal's other slots may read it as it lands
// (Follow) instead of waiting for it to be whole, stored and committed:
// replication then overlaps the upload rather than following it (ADR 010,
// "Replication follows the upload").
//
// What a follower reads is what the provider has written, not yet checked
// against the root: the root covers the whole file, so nothing shorter can
// be checked. The follower's own store checks every byte it receives
// against the chain's root before it keeps any, exactly as for a fetch of a
// stored copy, so bytes the upload later fails on are never kept or
// committed by anyone; the reader ends with an error as soon as the upload
// fails.

// ErrNoUpload: no upload of the deal is in progress here (or it is for
// other bytes than those expected).
var ErrNoUpload = errors.New("store: no upload of the deal in progress")

// growing is an upload in progress: how many of its bytes are on disk,
// and how it ended.
type growing struct {
	path   string
	expect Expect

	mu   sync.Mutex
	n    uint64        // bytes of the deal written to path
	end  bool          // the upload returned
	err  error         // why it failed (nil: stored)
	wake chan struct{} // closed and replaced when n or end changes
}

func (g *growing) state() (n uint64, end bool, err error, wake <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n, g.end, g.err, g.wake
}

// add counts k more bytes on disk; finish records how the upload ended.
// Both wake the followers.
func (g *growing) add(k uint64)     { g.update(func() { g.n += k }) }
func (g *growing) finish(err error) { g.update(func() { g.end, g.err = true, err }) }

func (g *growing) update(change func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	change()
	close(g.wake)
	g.wake = make(chan struct{})
}

// maxFailedFollows is how many failed uploads of one deal are offered to
// followers; later uploads of the deal are not (they wait for the stored
// copy). An upload that sent bytes the deal does not hold counts them all
// at once.
const maxFailedFollows = 2

// startUpload records that deal id's upload into path runs, holding
// offset bytes already. Once an upload of a deal has sent bytes the deal
// does not hold, or maxFailedFollows uploads of it have failed in any way
// (cut short, too slow), later uploads of it are not offered to
// followers: an owner cannot make the providers copy a bad or abandoned
// upload to each other again and again (ADR 013). The count lives in
// memory: a restart forgets it, and a stored deal drops it. It returns
// nil when the upload is not offered.
func (s *Store) startUpload(id uint64, path string, expect Expect, offset uint64) *growing {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed[id] >= maxFailedFollows {
		return nil
	}
	g := &growing{path: path, expect: expect, n: offset, wake: make(chan struct{})}
	if s.live == nil {
		s.live = map[uint64]*growing{}
	}
	s.live[id] = g
	if s.started != nil {
		close(s.started)
		s.started = nil
	}
	return g
}

// AwaitingUploads is how many AwaitUpload calls are waiting now.
func (s *Store) AwaitingUploads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.awaiting
}

// AwaitUpload waits up to wait for an upload of deal id to run here,
// offered to followers, and says whether one does. A provider assigned a
// slot sees the deal in the same block as its owner, and often asks for
// the upload before the owner has started it: waiting here saves it a
// round of its loop (a block, on a busy machine) with most of the file
// already sent.
//
// It also says true when the deal is stored here by then (an upload that
// started and ended while this waited): the caller opens the stored copy.
func (s *Store) AwaitUpload(ctx context.Context, id uint64, wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	s.mu.Lock()
	s.awaiting++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.awaiting--
		s.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		_, ok := s.live[id]
		if s.started == nil {
			s.started = make(chan struct{})
		}
		started := s.started
		s.mu.Unlock()
		if ok || s.Has(id) {
			return true
		}
		select {
		case <-started:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// endUpload records how deal id's upload ended (g nil: it was not
// offered), waking its followers.
func (s *Store) endUpload(id uint64, g *growing, err error) {
	s.mu.Lock()
	if g != nil && s.live[id] == g {
		delete(s.live, id)
	}
	switch {
	case err == nil:
		delete(s.failed, id)
	default:
		if s.failed == nil {
			s.failed = map[uint64]int{}
		}
		s.failed[id]++
		if errors.Is(err, ErrRootMismatch) || errors.Is(err, ErrTooLarge) {
			s.failed[id] = maxFailedFollows
		}
	}
	s.mu.Unlock()
	if g != nil {
		g.finish(err)
	}
}

// growingWriter writes to w and counts each write into g, so followers see
// the bytes once they are in the file.
type growingWriter struct {
	w io.Writer
	g *growing
}

func (x *growingWriter) Write(p []byte) (int, error) {
	k, err := x.w.Write(p)
	if k > 0 {
		x.g.add(uint64(k))
	}
	return k, err
}

// Follow opens the upload of deal id in progress, for bytes matching
// expect, to be read from its start as it arrives: reads wait for bytes
// not yet written, end with io.EOF after expect.Size bytes once the upload
// is stored (the last read waits for the upload's root check), and fail as
// soon as the upload fails or ctx ends. It returns
// ErrNoUpload when no such upload runs. The caller verifies what it reads.
func (s *Store) Follow(ctx context.Context, id uint64, expect Expect) (io.ReadCloser, error) {
	s.mu.Lock()
	g := s.live[id]
	s.mu.Unlock()
	if g == nil || g.expect != expect {
		return nil, fmt.Errorf("%w: deal %d", ErrNoUpload, id)
	}
	f, err := os.Open(g.path)
	if err != nil {
		// It was just stored (renamed away) or dropped.
		return nil, fmt.Errorf("%w: deal %d: %v", ErrNoUpload, id, err)
	}
	return &follower{ctx: ctx, f: f, g: g, size: expect.Size}, nil
}

type follower struct {
	ctx     context.Context
	f       *os.File
	g       *growing
	off     uint64
	size    uint64
	dropped int64 // where this follower's reads may still be in the page cache
}

func (r *follower) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, end, err, wake := r.g.state()
		if end && err != nil {
			return 0, fmt.Errorf("store: the upload being followed stopped at byte %d of %d: %w", n, r.size, err)
		}
		// (receive writes one byte past the size before it refuses it.)
		ready := min(n, r.size)
		if !end && ready == r.size {
			// The last byte waits for the root check, so a reader that
			// counts bytes cannot finish on an upload about to fail.
			ready--
		}
		if r.off < ready {
			// The open file is the upload's even after it is renamed into
			// place: reads keep going to the same bytes.
			want := min(uint64(len(p)), ready-r.off)
			k, rerr := r.f.ReadAt(p[:want], int64(r.off))
			r.off += uint64(k)
			// Behind the stretch the upload's writer keeps in the page
			// cache, what this follower read is dropped again: a follower
			// that fell behind reads from disk, and must not fill memory.
			r.dropped = writeback.DropUpTo(r.f, r.dropped, min(int64(r.off), int64(n)-writeback.Keep))
			if k > 0 {
				return k, nil
			}
			if rerr == nil {
				rerr = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("store: reading the upload being followed: %w", rerr)
		}
		if end {
			// Stored: a clean end, only now that the upload passed its
			// root check.
			if r.off >= r.size {
				return 0, io.EOF
			}
			return 0, fmt.Errorf("store: the upload being followed ended at byte %d of %d: %w", n, r.size, ErrTruncated)
		}
		select {
		case <-wake:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

func (r *follower) Close() error { return r.f.Close() }
