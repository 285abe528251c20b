package erasure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// quickStalls makes Collect judge stalls and lags in milliseconds for
// the test, as it does in seconds for real holders.
func quickStalls(t *testing.T) {
	a, c := stallAfter, stallCheck
	t.Cleanup(func() { stallAfter, stallCheck = a, c })
	stallAfter, stallCheck = 200*time.Millisecond, 20*time.Millisecond
}

// serve is a holder that sends data.
func serve(data []byte) FetchShard {
	return func(ctx context.Context, w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}

// Collect stops at the k fastest good shards, never uses a bad one, and
// leaves no temporary files behind.
func TestCollectUsesOnlyVerifiedShards(t *testing.T) {
	quickStalls(t)
	s := Scheme{K: 4, M: 2}
	file := randomBytes(100_003, 7)
	shards, roots := encode(t, s, file)
	corrupt := append([]byte(nil), shards[1]...)
	corrupt[500] ^= 1
	long := append(append([]byte(nil), shards[4]...), 0)
	slowStarted := make(chan struct{})
	slow := func(ctx context.Context, w io.Writer) error {
		close(slowStarted)
		<-ctx.Done() // a holder that never answers until the read is done
		return ctx.Err()
	}

	for _, tc := range []struct {
		name    string
		fetch   []FetchShard
		failed  []int
		tooFew  bool
		waitFor chan struct{}
	}{
		{"all good", []FetchShard{serve(shards[0]), serve(shards[1]), serve(shards[2]), serve(shards[3]), serve(shards[4]), serve(shards[5])}, nil, false, nil},
		{"m bad: one corrupt, one too long", []FetchShard{serve(shards[0]), serve(corrupt), serve(shards[2]), serve(shards[3]), serve(long), serve(shards[5])}, []int{1, 4}, false, nil},
		{"a holder down, one missing, one stalls", []FetchShard{slow, nil, serve(shards[2]), serve(shards[3]), serve(shards[4]), serve(shards[5])}, []int{1}, false, slowStarted},
		{"m + 1 bad", []FetchShard{serve(shards[0]), serve(corrupt), nil, serve(shards[3]), serve(long), serve(shards[5])}, []int{1, 2, 4}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			got, err := Collect(context.Background(), s, uint64(len(file)), 1024, roots, tc.fetch, dir)
			left, _ := os.ReadDir(dir)
			if tc.tooFew {
				require.ErrorIs(t, err, ErrTooFewShards)
				require.ErrorIs(t, err, ErrBadShard)
				require.Empty(t, left, "nothing left on disk")
				return
			}
			require.NoError(t, err)
			if tc.waitFor != nil {
				<-tc.waitFor
			}
			for _, i := range tc.failed {
				require.Error(t, got.Failed[i], "shard %d", i)
				require.NotContains(t, got.Have(), i, "a bad shard is never used")
			}
			require.Len(t, got.Have(), s.K)
			var out bytes.Buffer
			require.NoError(t, got.Decode(&out))
			require.Equal(t, file, out.Bytes())
			for i := range s.N() {
				var b bytes.Buffer
				require.NoError(t, got.Rebuild(i, &b))
				require.Equal(t, shards[i], b.Bytes(), "shard %d rebuilt", i)
			}
			got.Close()
			left, _ = os.ReadDir(dir)
			require.Empty(t, left)
		})
	}
}

// A holder's error is reported with its shard.
func TestCollectNamesEveryFailure(t *testing.T) {
	s := Scheme{K: 2, M: 1}
	file := randomBytes(5000, 3)
	shards, roots := encode(t, s, file)
	down := func(context.Context, io.Writer) error { return errors.New("connection refused") }
	_, err := Collect(context.Background(), s, uint64(len(file)), 1024, roots, []FetchShard{down, serve(shards[1]), down}, t.TempDir())
	require.ErrorIs(t, err, ErrTooFewShards)
	require.ErrorContains(t, err, "shard 0: connection refused")
	require.ErrorContains(t, err, "shard 2: connection refused")
}

// Every scheme the default params allow (k ≤ 12, m ≤ 6, k + m ≤ 16)
// round-trips at the padding edges (1 byte, an exact multiple of k, one
// byte over), through Collect and Decode, with m shards erased (the first
// m, the last m, and m drawn at random) or m shards corrupted, which their
// roots refuse.
func TestEverySchemeTheParamsAllowRoundTrips(t *testing.T) {
	p := storagetypes.DefaultParams()
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 2; k <= int(p.MaxDataShards); k++ {
		for m := 0; m <= int(p.MaxParityShards) && k+m <= int(p.MaxReplicas); m++ {
			s := Scheme{K: k, M: m}
			for _, size := range []int{k, 7 * k * chunk, 7*k*chunk + 1, 1} {
				if size < k {
					continue // the chain refuses more data shards than bytes
				}
				file := randomBytes(size, uint64(k*100+m))
				shards, roots := encode(t, s, file)
				patterns := [][]int{seq(0, m), seq(s.N()-m, m), rng.Perm(s.N())[:m]}
				for pi, lost := range patterns {
					for _, corrupt := range []bool{false, true} {
						fetch := make([]FetchShard, s.N())
						for i := range fetch {
							fetch[i] = serve(shards[i])
						}
						for _, i := range lost {
							if corrupt {
								bad := bytes.Clone(shards[i])
								bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
								fetch[i] = serve(bad)
							} else {
								fetch[i] = nil
							}
						}
						got, err := Collect(context.Background(), s, uint64(size), chunk, roots, fetch, t.TempDir())
						require.NoError(t, err, "%s size %d pattern %d corrupt %v", s, size, pi, corrupt)
						for _, i := range lost {
							require.NotContains(t, got.Have(), i)
						}
						var out bytes.Buffer
						require.NoError(t, got.Decode(&out))
						require.True(t, bytes.Equal(file, out.Bytes()), "%s size %d lost %v corrupt %v", s, size, lost, corrupt)
						got.Close()
					}
				}
			}
		}
	}
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// counted wraps fetchers so a test can see which shards were asked for.
type counted struct {
	mu    sync.Mutex
	asked []int
}

func (c *counted) wrap(fetch []FetchShard) []FetchShard {
	out := make([]FetchShard, len(fetch))
	for i, f := range fetch {
		if f == nil {
			continue
		}
		out[i] = func(ctx context.Context, w io.Writer) error {
			c.mu.Lock()
			c.asked = append(c.asked, i)
			c.mu.Unlock()
			return f(ctx, w)
		}
	}
	return out
}

func (c *counted) sorted() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.asked)
	slices.Sort(out)
	return out
}

// Collect fetches the k data shards and nothing else while their holders
// are healthy, and one more shard for each holder that fails, stalls or
// lags: the bytes moved are the file's, not n/k of it.
func TestCollectFetchesDataShardsFirst(t *testing.T) {
	quickStalls(t)

	s := Scheme{K: 4, M: 3}
	file := randomBytes(200_000, 11)
	shards, roots := encode(t, s, file)
	good := func() []FetchShard {
		f := make([]FetchShard, s.N())
		for i := range f {
			f[i] = serve(shards[i])
		}
		return f
	}
	corrupt := bytes.Clone(shards[2])
	corrupt[10] ^= 1
	// stall sends nothing until the read is over; lag sends a tenth of its
	// shard and then nothing.
	stall := func(ctx context.Context, _ io.Writer) error { <-ctx.Done(); return ctx.Err() }
	lag := func(i int) FetchShard {
		return func(ctx context.Context, w io.Writer) error {
			if _, err := w.Write(shards[i][:len(shards[i])/10]); err != nil {
				return err
			}
			<-ctx.Done()
			return ctx.Err()
		}
	}

	for _, tc := range []struct {
		name   string
		change func(f []FetchShard)
		asked  []int
		have   []int
	}{
		{"healthy: the data shards only", func([]FetchShard) {}, []int{0, 1, 2, 3}, []int{0, 1, 2, 3}},
		{"a data shard without a holder: the first parity shard instead", func(f []FetchShard) { f[1] = nil }, []int{0, 2, 3, 4}, []int{0, 2, 3, 4}},
		{"a corrupt data shard: one parity shard more", func(f []FetchShard) { f[2] = serve(corrupt) }, []int{0, 1, 2, 3, 4}, []int{0, 1, 3, 4}},
		{"a lagging holder: one spare", func(f []FetchShard) { f[3] = lag(3) }, []int{0, 1, 2, 3, 4}, []int{0, 1, 2, 4}},
		{"a lagging holder when the others took a while: one spare", func(f []FetchShard) {
			f[0] = lag(0)
			for i := 1; i < 4; i++ {
				f[i] = func(ctx context.Context, w io.Writer) error {
					half := len(shards[i]) * 6 / 10
					if _, err := w.Write(shards[i][:half]); err != nil {
						return err
					}
					time.Sleep(2 * stallCheck)
					_, err := w.Write(shards[i][half:])
					return err
				}
			}
		}, []int{0, 1, 2, 3, 4}, []int{1, 2, 3, 4}},
		{"three holders stall: a spare for each", func(f []FetchShard) {
			f[0], f[1], f[2] = stall, stall, stall
		}, []int{0, 1, 2, 3, 4, 5, 6}, []int{3, 4, 5, 6}},
		{"a holder stalls and its spare's holder is down: another spare", func(f []FetchShard) {
			f[3] = stall
			f[4] = func(context.Context, io.Writer) error { return errors.New("connection refused") }
		}, []int{0, 1, 2, 3, 4, 5}, []int{0, 1, 2, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fetch := good()
			tc.change(fetch)
			var c counted
			got, err := Collect(context.Background(), s, uint64(len(file)), 1024, roots, c.wrap(fetch), t.TempDir())
			require.NoError(t, err)
			defer got.Close()
			require.Equal(t, tc.asked, c.sorted())
			require.Equal(t, tc.have, got.Have())
			var out bytes.Buffer
			require.NoError(t, got.Decode(&out))
			require.Equal(t, file, out.Bytes())
		})
	}

	// A shard named first (a provider's own copy) is tried before the
	// data shards, and takes the place of the last of them.
	t.Run("a local parity shard first", func(t *testing.T) {
		var c counted
		got, err := Collect(context.Background(), s, uint64(len(file)), 1024, roots, c.wrap(good()), t.TempDir(), 5)
		require.NoError(t, err)
		defer got.Close()
		require.Equal(t, []int{0, 1, 2, 5}, c.sorted())
		var out bytes.Buffer
		require.NoError(t, got.Decode(&out))
		require.Equal(t, file, out.Bytes())
	})

	// A holder that keeps sending, but far slower than the others, is
	// never stalled: it gets a spare once it lags, long before it would
	// have finished.
	t.Run("a holder trickles", func(t *testing.T) {
		trickle := func(ctx context.Context, w io.Writer) error {
			for off := 0; off < len(shards[1]); off += 100 {
				if _, err := w.Write(shards[1][off:min(off+100, len(shards[1]))]); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
			return nil
		}
		fetch := good()
		fetch[1] = trickle
		var c counted
		begun := time.Now()
		got, err := Collect(context.Background(), s, uint64(len(file)), 1024, roots, c.wrap(fetch), t.TempDir())
		require.NoError(t, err)
		defer got.Close()
		require.Less(t, time.Since(begun), time.Second, "the trickle alone takes 2.5 s")
		require.Equal(t, []int{0, 1, 2, 3, 4}, c.sorted())
		require.Equal(t, []int{0, 2, 3, 4}, got.Have())
	})

	// When every holder first asked stalls, nothing arrives to set off the
	// spares: they start once the stalled downloads have sent nothing for
	// stallAfter.
	t.Run("every first holder stalls", func(t *testing.T) {
		s := Scheme{K: 2, M: 2}
		shards, roots := encode(t, s, file)
		var c counted
		begun := time.Now()
		got, err := Collect(context.Background(), s, uint64(len(file)), 1024, roots,
			c.wrap([]FetchShard{stall, stall, serve(shards[2]), serve(shards[3])}), t.TempDir())
		require.NoError(t, err)
		defer got.Close()
		require.GreaterOrEqual(t, time.Since(begun), stallAfter, "the spares waited for the stall")
		require.Equal(t, []int{0, 1, 2, 3}, c.sorted())
		require.Equal(t, []int{2, 3}, got.Have())
		var out bytes.Buffer
		require.NoError(t, got.Decode(&out))
		require.Equal(t, file, out.Bytes())
	})
}
