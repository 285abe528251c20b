package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/writeback"
)

// Parallel downloads. A deal's owner (or anyone, for a public deal) may ask
// providers for byte ranges: Get splits a large deal into ranges on chunk
// boundaries and fetches them from all holders at once, each range written
// in place into the temporary file. Behind the downloads, the bytes are
// read back in order as soon as they are contiguous (from the page cache)
// to hash them and, for a private deal, to decrypt them: verifying and
// decrypting overlap the transfer instead of following it. Nothing is
// shown under the output name until the whole file matched the root; a
// mismatch (some provider sent bad bytes) falls back to whole downloads
// from one holder at a time, which tell the bad one.

// Tuning of parallel downloads.
const (
	// parallelMin is the smallest deal fetched in ranges.
	parallelMin = 16 << 20
	// rangeMin is the smallest range.
	rangeMin = 8 << 20
	// maxStreams bounds the downloads at once.
	maxStreams = 8
	// pipeDepth buffers of pipeBuffer bytes sit between verifying a
	// download and decrypting it (8 MiB).
	pipeDepth  = 8
	pipeBuffer = 1 << 20
)

// byteRange is [off, off+n) of a deal.
type byteRange struct{ off, n uint64 }

// splitRanges cuts size bytes into ranges of whole chunks, about four per
// stream.
func splitRanges(size uint64, chunkSize int, streams int) []byteRange {
	per := max(uint64(rangeMin), size/uint64(4*streams))
	per = (per + uint64(chunkSize) - 1) / uint64(chunkSize) * uint64(chunkSize)
	var out []byteRange
	for off := uint64(0); off < size; off += per {
		out = append(out, byteRange{off, min(per, size-off)})
	}
	return out
}

// fetchParallel downloads deal id (size bytes named by root) from targets
// in ranges into path, and writes the verified-in-order bytes to sink as
// they become contiguous (nil: none). It returns ErrVerify when the whole
// does not match the root, and any download error once every target failed
// a range.
func (c *Client) fetchParallel(ctx context.Context, targets []providerapi.Target, id, size uint64, chunkSize int, root merkle.Hash, path string, sink io.Writer) error {
	if len(targets) == 0 {
		return errors.New("no provider to download from")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		return err
	}
	streams := min(maxStreams, 2*len(targets))
	ranges := splitRanges(size, chunkSize, streams)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu   sync.Mutex
		cond = sync.NewCond(&mu)
		done = make([]bool, len(ranges))
		// landed[i] is how far from its start range i is in the file: the
		// verifier reads a range while it arrives, not once it is whole
		// (the first ranges all arrive together, a quarter of the deal).
		landed = make([]int64, len(ranges))
		next   int
		first  error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cond.Broadcast()
		cancel()
	}
	var wg sync.WaitGroup
	for range min(streams, len(ranges)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= len(ranges) || stop {
					return
				}
				r := ranges[i]
				var err error
				// Ranges go round the holders, each moving on to the next
				// holder on failure: one slow or broken holder costs a
				// retry, not the download.
				for try := range len(targets) {
					t := targets[(i+try)%len(targets)]
					err = c.api.DownloadRange(ctx, t, id, r.off, r.n, &landing{
						w: io.NewOffsetWriter(f, int64(r.off)), mu: &mu, cond: cond, landed: &landed[i],
					})
					if err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil {
					fail(fmt.Errorf("bytes %d-%d: %w", r.off, r.off+r.n-1, err))
					return
				}
				mu.Lock()
				done[i] = true
				mu.Unlock()
				cond.Broadcast()
			}
		}()
	}

	// Hash (and pass on) in order, as the ranges land.
	verifier, err := NewVerifier(root, size, chunkSize)
	if err != nil {
		fail(err)
	}
	out := io.Writer(verifier)
	if sink != nil {
		out = io.MultiWriter(verifier, sink)
	}
	out = c.writer(out, size, "download")
	buf := make([]byte, pipeBuffer)
ranges:
	for i, r := range ranges {
		for from := int64(0); from < int64(r.n); {
			// Wait for a buffer's worth of the range, or its end.
			mu.Lock()
			for !done[i] && first == nil && landed[i]-from < pipeBuffer {
				cond.Wait()
			}
			to, err := landed[i], first
			if done[i] {
				to = int64(r.n)
			}
			mu.Unlock()
			if err != nil {
				break ranges
			}
			if _, err := io.CopyBuffer(out, io.NewSectionReader(f, int64(r.off)+from, to-from), buf); err != nil {
				fail(err)
				break ranges
			}
			if sink != nil {
				// A private deal's ciphertext is only a waiting room: once
				// passed on, its pages are freed for the ranges still
				// coming. (A retry of the range from another holder
				// writes over it again; the root still checks it all.)
				_ = writeback.Discard(f, int64(r.off)+from, to-from)
			}
			from = to
		}
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if err := verifier.Check(); err != nil {
		return err
	}
	// A public deal's file becomes the output and must be on disk. A
	// private deal's ciphertext is only where ranges that land out of order
	// wait for their turn, deleted once decrypted: syncing it would write a
	// second copy of the file to disk for nothing.
	if sink == nil {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return f.Close()
}

// landing is one try at a range: it writes at the range's offset and
// raises the range's landed mark (under mu, waking the verifier each
// pipeBuffer) as its bytes are written. A retry starts again from the
// range's start and raises the mark only past where the last try got.
type landing struct {
	w      io.Writer
	n      int64
	mu     *sync.Mutex
	cond   *sync.Cond
	landed *int64
}

func (l *landing) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	before := l.n
	l.n += int64(n)
	if l.n/pipeBuffer != before/pipeBuffer {
		l.mu.Lock()
		*l.landed = max(*l.landed, l.n)
		l.mu.Unlock()
		l.cond.Broadcast()
	}
	return n, err
}
