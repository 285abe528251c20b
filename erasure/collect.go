package erasure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/writeback"
)

// FetchShard downloads one shard into w. Collect calls it once per shard
// that has a holder; it must stop when ctx is cancelled.
type FetchShard func(ctx context.Context, w io.Writer) error

// ErrBadShard is wrapped by a shard download whose bytes do not match the
// shard's root or size: its holder served wrong bytes.
var ErrBadShard = errors.New("erasure: shard does not match its root")

// Shards is a set of verified shards on disk, k or more of the n.
type Shards struct {
	Scheme    Scheme
	Size      uint64 // the file's size
	files     []*os.File
	shardSize uint64
	// Failed holds why each shard that was tried could not be used.
	Failed map[int]error
}

// stallAfter is how long a download may send nothing before Collect
// starts another shard beside it; stallCheck is how often it looks.
var (
	stallAfter = 5 * time.Second
	stallCheck = time.Second
)

// Collect downloads the shards of a file of size bytes from their holders
// (fetch[i] downloads shard i, nil when it has no holder), each into a
// temporary file under dir, verifying it against roots[i] as it arrives.
//
// It fetches k shards, data shards first: their bytes are the file's, so a
// healthy read moves the file once and decodes it by copying. It starts
// another shard (the next in order) for each one that fails; for each one
// that has sent nothing for stallAfter; and, once a shard has arrived, for
// each one still short of half its shard after twice the time the fastest
// took (stallCheck at least). So a slow or stalled holder does not hold up
// the read, and no bytes are fetched twice while the holders are healthy.
// Once k shards are verified the rest are stopped. A shard that fails its
// root or size is dropped and never used. With fewer than k good shards
// the error wraps ErrTooFewShards and names every failure. The shards in
// first (a copy held locally) are tried before all others.
func Collect(ctx context.Context, s Scheme, size uint64, chunkSize int, roots []merkle.Hash, fetch []FetchShard, dir string, first ...int) (*Shards, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(roots) != s.N() || len(fetch) != s.N() {
		return nil, fmt.Errorf("erasure: %d roots and %d holders for %d shards", len(roots), len(fetch), s.N())
	}
	out := &Shards{Scheme: s, Size: size, files: make([]*os.File, s.N()), shardSize: ShardSize(size, s.K), Failed: map[int]error{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var order []int // the shards to try, in the order tried
	for _, i := range first {
		if i >= 0 && i < s.N() && fetch[i] != nil && !slices.Contains(order, i) {
			order = append(order, i)
		}
	}
	for i, f := range fetch {
		if f == nil {
			out.Failed[i] = errors.New("no holder")
			continue
		}
		if !slices.Contains(order, i) {
			order = append(order, i)
		}
	}
	type result struct {
		i    int
		file *os.File
		err  error
	}
	type download struct {
		sent   atomic.Int64
		began  time.Time
		last   int64     // sent when last looked at
		since  time.Time // when sent last changed
		spared bool      // another shard was started beside it
	}
	results := make(chan result)
	running := map[int]*download{}
	start := func() bool {
		if len(order) == 0 || ctx.Err() != nil {
			return false
		}
		i := order[0]
		order = order[1:]
		d := &download{began: time.Now(), since: time.Now()}
		running[i] = d
		go func() {
			file, err := out.fetchOne(ctx, i, fetch[i], roots[i], chunkSize, dir, &d.sent)
			results <- result{i, file, err}
		}()
		return true
	}
	// unspared counts the downloads that may still bring a shard of their
	// own: one with a spare beside it is counted through its spare.
	unspared := func() int {
		n := 0
		for _, d := range running {
			if !d.spared {
				n++
			}
		}
		return n
	}
	for range s.K {
		start()
	}
	tick := time.NewTicker(stallCheck)
	defer tick.Stop()
	good := 0
	var fastest time.Duration // the quickest shard to arrive (0: none yet)
	for len(running) > 0 {
		select {
		case r := <-results:
			began := running[r.i].began
			delete(running, r.i)
			if r.err != nil {
				if r.file != nil {
					discard(r.file)
				}
				// A download cut short because k others were faster is no
				// failure of its holder; wrong bytes always are.
				if ctx.Err() == nil || good < s.K || errors.Is(r.err, ErrBadShard) {
					out.Failed[r.i] = r.err
				}
				for good < s.K && good+unspared() < s.K && start() {
				}
				continue
			}
			if good >= s.K {
				discard(r.file) // k others were faster
				continue
			}
			out.files[r.i] = r.file
			if took := time.Since(began); fastest == 0 || took < fastest {
				fastest = max(took, time.Nanosecond)
			}
			if good++; good == s.K {
				cancel()
			}
		case now := <-tick.C:
			if good >= s.K {
				continue
			}
			var slow []*download // chosen before any spare joins running
			for _, d := range running {
				if d.spared {
					continue
				}
				n := d.sent.Load()
				if n != d.last {
					d.last, d.since = n, now
				}
				stalled := now.Sub(d.since) >= stallAfter
				lagging := fastest > 0 && now.Sub(d.began) >= max(stallCheck, 2*fastest) && uint64(n) < out.shardSize/2
				if stalled || lagging {
					slow = append(slow, d)
				}
			}
			for _, d := range slow {
				d.spared = true
				start()
			}
		}
	}
	if good < s.K {
		out.Close()
		errs := make([]error, 0, len(out.Failed))
		for i := range s.N() {
			if err, ok := out.Failed[i]; ok {
				errs = append(errs, fmt.Errorf("shard %d: %w", i, err))
			}
		}
		return nil, fmt.Errorf("%w: %d of %d verified, %d needed: %w", ErrTooFewShards, good, s.N(), s.K, errors.Join(errs...))
	}
	return out, nil
}

func (sh *Shards) fetchOne(ctx context.Context, i int, fetch FetchShard, root merkle.Hash, chunkSize int, dir string, sent *atomic.Int64) (*os.File, error) {
	file, err := os.CreateTemp(dir, fmt.Sprintf("shard-%d-*", i))
	if err != nil {
		return nil, err
	}
	b, err := merkle.NewBuilder(chunkSize)
	if err != nil {
		return file, err
	}
	// A holder that sends more than a shard is cut off at one byte over.
	// Shards wait on disk, not in memory, until all have arrived.
	w := &limitWriter{w: io.MultiWriter(writeback.NewWriter(file, 0), b), left: int64(sh.shardSize) + 1, sent: sent}
	if err := fetch(ctx, w); err != nil {
		return file, err
	}
	if b.Size() != sh.shardSize || b.Root() != root {
		return file, fmt.Errorf("%w: %d bytes, want %d", ErrBadShard, b.Size(), sh.shardSize)
	}
	return file, nil
}

// Have lists the shard indexes present.
func (sh *Shards) Have() []int {
	var out []int
	for i, f := range sh.files {
		if f != nil {
			out = append(out, i)
		}
	}
	return out
}

// Decode writes the file to w from the shards present. A missing data
// shard is rebuilt first, in one pass over k shards, into a temporary
// file beside them: decoding then reads every data shard once, in order.
// (Rebuilt at each offset while decoding, as erasure.Decode does, it
// would read the k shards again for each one missing, from disk.)
func (sh *Shards) Decode(w io.Writer) error {
	have := make([]io.ReaderAt, len(sh.files))
	fill := make([]io.Writer, len(sh.files))
	var dir string
	for _, f := range sh.files {
		if f != nil {
			dir = filepath.Dir(f.Name())
			break
		}
	}
	rebuild := false
	for i := range sh.Scheme.K {
		if sh.files[i] != nil {
			continue
		}
		f, err := os.CreateTemp(dir, fmt.Sprintf("rebuilt-%d-*", i))
		if err != nil {
			return err
		}
		defer discard(f)
		have[i], fill[i], rebuild = writeback.NewReaderAt(f), writeback.NewWriter(f, 0), true
	}
	if rebuild {
		if err := sh.RebuildSome(fill); err != nil {
			return err
		}
	}
	for i, f := range sh.files {
		if f != nil && have[i] == nil {
			have[i] = writeback.NewReaderAt(f) // read once
		}
	}
	return Decode(sh.Scheme, sh.Size, have, w)
}

// Rebuild writes shard i to w from the shards present. The result is not
// verified: the caller checks it against its root.
func (sh *Shards) Rebuild(i int, w io.Writer) error {
	if i < 0 || i >= sh.Scheme.N() {
		return fmt.Errorf("erasure: no shard %d of %d", i, sh.Scheme.N())
	}
	fill := make([]io.Writer, sh.Scheme.N())
	fill[i] = w
	return sh.RebuildSome(fill)
}

// RebuildSome writes every shard i with a writer fill[i] in one pass over
// the shards present (shards present are copied). The results are not
// verified: the caller checks each against its root.
func (sh *Shards) RebuildSome(fill []io.Writer) error {
	if len(fill) != sh.Scheme.N() {
		return fmt.Errorf("erasure: %d writers for %d shards", len(fill), sh.Scheme.N())
	}
	have := make([]io.Reader, len(sh.files))
	missing := make([]io.Writer, len(sh.files))
	rebuild := false
	for j, f := range sh.files {
		if f != nil {
			have[j] = io.NewSectionReader(writeback.NewReaderAt(f), 0, int64(sh.shardSize))
		}
		switch {
		case fill[j] == nil:
		case f != nil:
			if _, err := io.Copy(fill[j], io.NewSectionReader(f, 0, int64(sh.shardSize))); err != nil {
				return err
			}
		default:
			missing[j], rebuild = fill[j], true
		}
	}
	if !rebuild {
		return nil
	}
	return Rebuild(sh.Scheme, sh.Size, have, missing)
}

// Close removes the temporary files.
func (sh *Shards) Close() {
	for i, f := range sh.files {
		if f != nil {
			discard(f)
			sh.files[i] = nil
		}
	}
}

func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// limitWriter fails a write past left bytes, and counts what it took in
// sent.
type limitWriter struct {
	w    io.Writer
	left int64
	sent *atomic.Int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		n, _ := l.w.Write(p[:l.left])
		l.left -= int64(n)
		return n, fmt.Errorf("%w: more bytes than a shard", ErrBadShard)
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	l.sent.Add(int64(n))
	return n, err
}
