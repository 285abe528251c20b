package client

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/writeback"
)

// Ranged gets (ADR 018). A deal's owner (or anyone, for a public deal)
// may ask providers for byte ranges. getRanges cuts a large deal into
// ranges of a power-of-two count of leaves and downloads them from all
// holders at once; the goroutine that downloads a range also hashes it
// (its own subtree of the deal's tree) and, for a private deal, opens the
// age chunks that start in it and writes their plaintext in place in the
// output. Nothing waits for the ranges before it, so hashing and
// decrypting run on every core, and no ciphertext is kept anywhere.
//
// The ranges' roots join into the deal's root (merkle.RootOfSegments),
// checked before the output is named: a provider that sends bytes other
// than the deal's fails that check, or, for a private deal, the
// authentication of the chunk it touched first (then that range is asked
// of the next holder). A chunk that crosses into the next range is read
// to its end from the same provider: those extra bytes are not hashed by
// this range, but they are authenticated with the chunk, under the key
// from the header that range 0 hashed.

// rangeIdle is how long a try of a range may go without a byte before it
// is given up for the next holder (a variable for tests).
var rangeIdle = 30 * time.Second

// errRangeIdle ends a try whose holder stopped sending.
var errRangeIdle = errors.New("the provider stopped sending")

// Tuning of parallel downloads.
const (
	// parallelMin is the smallest deal fetched in ranges.
	parallelMin = 16 << 20
	// rangeMin is the smallest range.
	rangeMin = 8 << 20
	// maxStreams bounds the downloads at once.
	maxStreams = 8
)

// byteRange is [off, off+n) of a deal.
type byteRange struct{ off, n uint64 }

// splitRanges cuts size bytes into ranges of a power-of-two count of
// whole chunks (each a subtree of the deal's tree), about four per stream
// and at least rangeMin; the last range takes what is left.
func splitRanges(size uint64, chunkSize int, streams int) []byteRange {
	target := max(uint64(rangeMin), size/uint64(4*streams))
	leaves := uint64(1)
	for 2*leaves*uint64(chunkSize) <= target {
		leaves *= 2
	}
	per := leaves * uint64(chunkSize)
	var out []byteRange
	for off := uint64(0); off < size; off += per {
		out = append(out, byteRange{off, min(per, size-off)})
	}
	return out
}

// ageLayout says where an age file's chunks are: its payload starts at
// start (after the header and the nonce) and runs to size.
type ageLayout struct{ start, size, chunks int64 }

func newAgeLayout(start, size int64) (ageLayout, error) {
	payload := size - start
	if payload < chacha20poly1305.Overhead {
		return ageLayout{}, fmt.Errorf("%w: it ends inside its first chunk", ErrDecrypt)
	}
	chunks := (payload + sealedChunk - 1) / sealedChunk
	if !lastChunkFits(int(payload-(chunks-1)*sealedChunk), chunks == 1) {
		return ageLayout{}, fmt.Errorf("%w: it ends inside a chunk", ErrDecrypt)
	}
	return ageLayout{start: start, size: size, chunks: chunks}, nil
}

// first is the first chunk that starts at or after off.
func (l ageLayout) first(off int64) int64 {
	if off <= l.start {
		return 0
	}
	return min(l.chunks, (off-l.start+sealedChunk-1)/sealedChunk)
}

func (l ageLayout) chunkStart(j int64) int64 { return l.start + j*sealedChunk }
func (l ageLayout) chunkLen(j int64) int64   { return min(sealedChunk, l.size-l.chunkStart(j)) }

// chunkNonce is chunk j's nonce.
func (l ageLayout) chunkNonce(j int64) [chacha20poly1305.NonceSize]byte {
	return chunkNonce(j, j == l.chunks-1)
}

// payloadAt is the plaintext offset of chunk j.
func payloadAt(j int64) int64 { return j * payloadChunk }

// rangeKey is the payload key of a private deal, from the header at the
// start of range 0: set by the first try of range 0 that reads a header
// the storage key opens; every other range waits for it.
type rangeKey struct {
	id     age.Identity
	size   int64
	mu     sync.Mutex
	ready  chan struct{}
	head   []byte // the header and nonce, as read
	layout ageLayout
	aead   cipher.AEAD
}

// set reads the header at the start of head, and takes its key once
// prove has checked the header's bytes against the deal's root. A later
// try of range 0 must send the same header.
func (k *rangeKey) set(head []byte, prove func(header []byte) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.head != nil {
		if !bytes.HasPrefix(head, k.head) {
			return fmt.Errorf("%w: the header differs from the one read before", ErrDecrypt)
		}
		return nil
	}
	start, aead, err := payloadKey(head, k.id)
	if err != nil {
		return err
	}
	layout, err := newAgeLayout(int64(start), k.size)
	if err != nil {
		return err
	}
	if err := prove(head[:start]); err != nil {
		return err
	}
	k.head, k.layout, k.aead = bytes.Clone(head[:start]), layout, aead
	close(k.ready)
	return nil
}

// wait returns once the key is set, or ctx ends.
func (k *rangeKey) wait(ctx context.Context) error {
	select {
	case <-k.ready:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// rangedGet is one getRanges in progress.
type rangedGet struct {
	c      *Client
	id     uint64
	root   merkle.Hash
	ranges []byteRange
	size   int64
	chunk  int
	out    *os.File
	key    *rangeKey // nil: a public deal, stored as it is

	mu       sync.Mutex
	hashed   []int64 // per range, the most any try hashed (progress)
	total    int64
	written  []int64 // per range, plaintext bytes in place from its first chunk
	complete []bool
	partial  func(done int64)
	reported int64

	run context.Context // ends when the get fails: stops waits for the key
}

// getRanges downloads deal id (size bytes named by root) from targets in
// ranges into out: for a public deal (key nil) the bytes as they are, for
// a private one their plaintext. It returns ErrVerify when the whole does
// not match the root, and any other error once every target failed a
// range. partial, when set, is told as the output grows how many of its
// bytes are in place from its start (authenticated, not yet checked
// against the root). out holds the deal only when it returns nil.
func (c *Client) getRanges(ctx context.Context, targets []providerapi.Target, id, size uint64, chunkSize int, root merkle.Hash, key age.Identity, out *os.File, partial func(done int64)) error {
	if len(targets) == 0 {
		return errors.New("no provider to download from")
	}
	streams := min(maxStreams, 2*len(targets))
	g := &rangedGet{
		c: c, id: id, root: root, ranges: splitRanges(size, chunkSize, streams), size: int64(size), chunk: chunkSize, out: out,
		partial: partial,
	}
	g.hashed, g.written, g.complete = make([]int64, len(g.ranges)), make([]int64, len(g.ranges)), make([]bool, len(g.ranges))
	if key != nil {
		g.key = &rangeKey{id: key, size: int64(size), ready: make(chan struct{})}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g.run = ctx

	var (
		mu    sync.Mutex
		next  int
		first error
	)
	roots := make([]merkle.Hash, len(g.ranges))
	writers := make([]*writeback.Writer, len(g.ranges))
	var wg sync.WaitGroup
	for range min(streams, len(g.ranges)) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= len(g.ranges) || stop {
					return
				}
				var err error
				// Ranges go round the holders, each moving on to the next
				// holder on failure: one slow or broken holder costs a
				// retry, not the download.
				for try := range len(targets) {
					t := targets[(i+try)%len(targets)]
					var r *rangeTry
					if r, err = g.newTry(i); err == nil {
						err = r.download(ctx, t, id)
					}
					if err == nil {
						roots[i], writers[i] = r.tree.Root(), r.out
						g.done(i)
						break
					}
					if ctx.Err() != nil {
						break
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						r := g.ranges[i]
						first = fmt.Errorf("bytes %d-%d: %w", r.off, r.off+r.n-1, err)
					}
					mu.Unlock()
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if got := merkle.RootOfSegments(roots); got != root {
		return fmt.Errorf("%w: root %s, the deal has %s", ErrVerify, got, root)
	}
	if g.partial == nil {
		for _, w := range writers {
			w.Finish() // written out and dropped from the page cache
		}
	}
	return nil
}

// rangeTry is one try at range i from one holder: it is the writer the
// download goes to.
type rangeTry struct {
	g        *rangedGet
	i        int
	from, to int64 // what is downloaded: the range, and for a private deal the rest of its last chunk
	end      int64 // where the range ends
	pos      int64 // where the next byte belongs
	tree     *merkle.Builder

	// A private deal's chunks j..last-1 start in this range.
	keyed   bool
	head    []byte // range 0: the file's first bytes, until the header is read
	j, last int64
	chunk   []byte // the part of chunk j gathered
	plain   []byte
	written int64 // plaintext bytes written
	out     *writeback.Writer

	idle   *time.Timer // ends the try when its holder stops sending
	holder providerapi.Target
	ctx    context.Context
}

// download runs the try from holder: a holder that sends nothing for
// rangeIdle loses the range to the next one (the time this try waits for
// range 0's key does not count).
func (t *rangeTry) download(ctx context.Context, holder providerapi.Target, id uint64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t.holder, t.ctx = holder, ctx
	t.idle = time.AfterFunc(rangeIdle, func() { cancel(errRangeIdle) })
	defer t.idle.Stop()
	err := t.g.c.api.DownloadRange(ctx, holder, id, uint64(t.from), uint64(t.to-t.from), t)
	if errors.Is(context.Cause(ctx), errRangeIdle) {
		return fmt.Errorf("%w for %s", errRangeIdle, rangeIdle)
	}
	if err != nil {
		return err
	}
	return t.finish()
}

func (g *rangedGet) newTry(i int) (*rangeTry, error) {
	r := g.ranges[i]
	tree, err := merkle.NewBuilder(g.chunk)
	if err != nil {
		return nil, err
	}
	t := &rangeTry{g: g, i: i, from: int64(r.off), to: int64(r.off + r.n), end: int64(r.off + r.n), pos: int64(r.off), tree: tree}
	if g.key == nil {
		t.out = g.writer(int64(r.off))
		return t, nil
	}
	// The chunk that starts last in the range may end in the next one.
	t.to = min(g.size, t.end+sealedChunk)
	return t, nil
}

// writer writes the output from off on.
func (g *rangedGet) writer(off int64) *writeback.Writer {
	w := writeback.NewWriterAt(g.out, off)
	if g.partial != nil {
		// Someone reads the output while it grows (the gateway streams
		// it to its S3 client): keep what it may still be reading.
		w.Keeping(writeback.Keep)
	}
	return w
}

func (t *rangeTry) Write(p []byte) (int, error) {
	if t.idle != nil {
		t.idle.Reset(rangeIdle)
	}
	n := len(p)
	if in := min(int64(n), t.end-t.pos); in > 0 {
		_, _ = t.tree.Write(p[:in])
		t.g.progress(t.i, t.pos+in-t.from)
		if t.g.key == nil {
			if _, err := t.out.Write(p[:in]); err != nil {
				return 0, err
			}
		}
	}
	if t.g.key != nil {
		if err := t.decrypt(p); err != nil {
			return 0, err
		}
	}
	t.pos += int64(n)
	return n, nil
}

// decrypt opens the chunks that start in the range as p, the bytes at
// t.pos, completes them.
func (t *rangeTry) decrypt(p []byte) error {
	pos := t.pos
	if !t.keyed {
		if t.from == 0 {
			// Range 0 starts with the header: gather enough of it.
			t.head = append(t.head, p...)
			if int64(len(t.head)) < min(int64(maxHeader+streamNonce), t.to) {
				return nil
			}
			if err := t.g.key.set(t.head, func(header []byte) error { return t.g.proveHeader(t.ctx, t.holder, header) }); err != nil {
				return err
			}
			p, pos, t.head = t.head, 0, nil
		} else {
			if t.idle != nil {
				t.idle.Stop() // waiting on range 0 is not this holder's fault
			}
			if err := t.g.key.wait(t.g.run); err != nil {
				return err
			}
			if t.idle != nil {
				t.idle.Reset(rangeIdle)
			}
		}
		t.keyed = true
		l := t.g.key.layout
		t.j, t.last = l.first(t.from), l.first(t.end)
		t.out = t.g.writer(payloadAt(t.j))
		t.plain = make([]byte, payloadChunk)
	}
	l, aead := t.g.key.layout, t.g.key.aead
	for len(p) > 0 && t.j < t.last {
		next := l.chunkStart(t.j) + int64(len(t.chunk)) // the byte chunk j needs next
		if pos < next {
			skip := min(next-pos, int64(len(p)))
			p, pos = p[skip:], pos+skip
			continue
		}
		need := l.chunkLen(t.j) - int64(len(t.chunk))
		take := min(need, int64(len(p)))
		sealed := p[:take]
		if len(t.chunk) > 0 || take < need {
			if t.chunk == nil {
				t.chunk = make([]byte, 0, sealedChunk)
			}
			t.chunk = append(t.chunk, sealed...)
			sealed = t.chunk
		}
		p, pos = p[take:], pos+take
		if int64(len(sealed)) < l.chunkLen(t.j) {
			continue
		}
		nonce := l.chunkNonce(t.j)
		plain, err := aead.Open(t.plain[:0], nonce[:], sealed, nil)
		if err != nil {
			return fmt.Errorf("%w: chunk %d fails authentication", ErrDecrypt, t.j)
		}
		if _, err := t.out.Write(plain); err != nil {
			return err
		}
		t.chunk = t.chunk[:0]
		t.j++
		t.written += int64(len(plain))
		t.g.wrote(t.i, t.written)
	}
	return nil
}

// proveHeader checks the leaves holding header (the file's first bytes:
// the age header and the stream nonce) against the deal's root, with
// proofs asked of holder: only then does the key it gives open this deal,
// and not another deal of the same owner that a holder sent instead (which
// would fail every range and cost the whole fallback).
func (g *rangedGet) proveHeader(ctx context.Context, holder providerapi.Target, header []byte) error {
	for leaf := 0; leaf*g.chunk < len(header); leaf++ {
		data, path, _, _, err := g.c.api.Proof(ctx, holder, g.id, uint64(leaf))
		if err != nil {
			return fmt.Errorf("proving the file's header: %w", err)
		}
		if err := merkle.VerifyFileProof(g.root, uint64(g.size), g.chunk, uint64(leaf), data, path); err != nil {
			return fmt.Errorf("%w: the proof of the header's leaf %d: %w", ErrVerify, leaf, err)
		}
		lo, hi := leaf*g.chunk, min((leaf+1)*g.chunk, len(header))
		if !bytes.Equal(data[:hi-lo], header[lo:hi]) {
			return fmt.Errorf("%w: the file's header is not the deal's", ErrVerify)
		}
	}
	return nil
}

// finish checks that the try got everything its range needs.
func (t *rangeTry) finish() error {
	if t.pos != t.to {
		return fmt.Errorf("%w: got %d of %d bytes", providerapi.ErrShortResponse, t.pos-t.from, t.to-t.from)
	}
	if t.g.key != nil && (!t.keyed || t.j != t.last) {
		return fmt.Errorf("%w: the range ends before its chunks do", ErrDecrypt)
	}
	return nil
}

// progress records that a try of range i has hashed n of its bytes.
func (g *rangedGet) progress(i int, n int64) {
	if g.c.OnEvent == nil {
		return
	}
	// Under the lock: events go out in order, each total above the last.
	g.mu.Lock()
	defer g.mu.Unlock()
	if n > g.hashed[i] {
		g.total += n - g.hashed[i]
		g.hashed[i] = n
		g.c.emit(Event{Stage: "download", Done: uint64(g.total), Total: uint64(g.size)})
	}
}

// wrote records that range i's plaintext is in place for n bytes from its
// first chunk.
func (g *rangedGet) wrote(i int, n int64) {
	if g.partial == nil || g.key == nil {
		return
	}
	g.mu.Lock()
	g.written[i] = max(g.written[i], n)
	g.report()
	g.mu.Unlock()
}

// done records that range i is whole.
func (g *rangedGet) done(i int) {
	g.mu.Lock()
	g.complete[i] = true
	if g.partial != nil && g.key != nil {
		g.report()
	}
	g.mu.Unlock()
}

// report tells partial how much of the output is in place from its start,
// when that grew. Called with g.mu held.
func (g *rangedGet) report() {
	l := g.key.layout
	done := int64(0)
	for i, r := range g.ranges {
		start := payloadAt(l.first(int64(r.off)))
		if !g.complete[i] {
			done = start + g.written[i]
			break
		}
		done = payloadAt(l.first(int64(r.off + r.n)))
	}
	done = min(done, l.size-l.start-l.chunks*chacha20poly1305.Overhead)
	if done > g.reported {
		g.reported = done
		g.partial(done)
	}
}
