package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/writeback"
)

type oneDeal struct{ d server.DealInfo }

func (o oneDeal) DealInfo(_ context.Context, id uint64) (server.DealInfo, error) {
	if id != o.d.ID {
		return server.DealInfo{}, server.ErrUnknownDeal
	}
	return o.d, nil
}

func (oneDeal) JobInfo(context.Context, uint64) (server.JobInfo, error) {
	return server.JobInfo{}, server.ErrUnknownJob
}

// holder runs a real provider API holding data as deal 1 of owner; wrap,
// when set, sits in front of it (to corrupt what it sends).
func holder(t *testing.T, name string, owner providerapi.PrivKeySigner, data []byte, wrap func(http.Handler) http.Handler) providerapi.Target {
	t.Helper()
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	root, err := merkle.Root(data, 1024)
	require.NoError(t, err)
	d := server.DealInfo{ID: 1, Owner: sdk.AccAddress(owner.Key.PubKey().Address()).String(), Root: root, Size: uint64(len(data)), ChunkSize: 1024, Assigned: true}
	require.NoError(t, st.Put(1, store.Expect{Root: root, Size: d.Size, ChunkSize: 1024}, bytes.NewReader(data)))
	var h http.Handler = server.New(st, oneDeal{d}, server.Options{Provider: name}).Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return providerapi.Target{Provider: name, URL: ts.URL}
}

// flipping corrupts one byte of every ranged answer it passes on.
func flipping(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusPartialContent && len(body) > 0 {
			body[len(body)/2] ^= 1
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

func TestFetchParallelFromSeveralHolders(t *testing.T) {
	owner := providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()}
	data := make([]byte, 40<<20+123)
	_, err := rand.Read(data)
	require.NoError(t, err)
	root, err := merkle.Root(data, 1024)
	require.NoError(t, err)
	c := &Client{api: providerapi.NewClient(nil, owner)}
	targets := []providerapi.Target{holder(t, "p1", owner, data, nil), holder(t, "p2", owner, data, nil)}

	t.Run("byte-exact, with the verified bytes passed on in order", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x")
		var sink bytes.Buffer
		require.NoError(t, c.fetchParallel(context.Background(), targets, 1, uint64(len(data)), 1024, root, path, &sink))
		require.True(t, bytes.Equal(data, sink.Bytes()))
		// What was passed on is freed from the waiting room, where the
		// file system punches holes.
		if canPunch(t, filepath.Dir(path)) {
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Len(t, got, len(data))
			require.True(t, bytes.Equal(make([]byte, len(data)), got), "the waiting room still holds bytes passed on")
		}
	})
	t.Run("byte-exact, into the file when nothing is passed on", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x")
		require.NoError(t, c.fetchParallel(context.Background(), targets, 1, uint64(len(data)), 1024, root, path, nil))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got))
	})
	t.Run("a holder that is down costs a retry, not the download", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		path := filepath.Join(t.TempDir(), "x")
		ts := []providerapi.Target{{Provider: "gone", URL: down.URL}, targets[0]}
		require.NoError(t, c.fetchParallel(context.Background(), ts, 1, uint64(len(data)), 1024, root, path, nil))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got))
	})
	t.Run("bad bytes from one holder fail the root check", func(t *testing.T) {
		bad := holder(t, "p3", owner, data, flipping)
		err := c.fetchParallel(context.Background(), []providerapi.Target{targets[0], bad}, 1, uint64(len(data)), 1024, root, filepath.Join(t.TempDir(), "x"), nil)
		require.ErrorIs(t, err, ErrVerify)
	})
	t.Run("ranges are the owner's", func(t *testing.T) {
		other := &Client{api: providerapi.NewClient(nil, providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()})}
		err := other.fetchParallel(context.Background(), targets, 1, uint64(len(data)), 1024, root, filepath.Join(t.TempDir(), "x"), nil)
		var apiErr *providerapi.APIError
		require.True(t, errors.As(err, &apiErr), "%v", err)
		require.Equal(t, http.StatusForbidden, apiErr.Status)
	})
	t.Run("a range is verified while it arrives, not once whole", func(t *testing.T) {
		// The holder sends the first 2 MiB of the first range and holds
		// the rest until the verifier has passed 1 MiB on (or 30 s,
		// which would mean it waited for the whole range).
		passed := make(chan struct{})
		released := make(chan bool, 1)
		stalling := holder(t, "p4", owner, data, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.Header.Get("Range"), "bytes=0-") {
					next.ServeHTTP(w, r)
					return
				}
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				body := rec.Body.Bytes()
				_, _ = w.Write(body[:2<<20])
				w.(http.Flusher).Flush()
				select {
				case <-passed:
					released <- true
				case <-time.After(30 * time.Second):
					released <- false
				}
				_, _ = w.Write(body[2<<20:])
			})
		})
		sink := &watchedSink{after: 1 << 20, reached: passed}
		path := filepath.Join(t.TempDir(), "x")
		require.NoError(t, c.fetchParallel(context.Background(), []providerapi.Target{stalling}, 1, uint64(len(data)), 1024, root, path, sink))
		require.True(t, <-released, "nothing of the first range was passed on before the whole range arrived")
		require.True(t, bytes.Equal(data, sink.Bytes()))
	})
	t.Run("cancel stops it", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		err := c.fetchParallel(ctx, targets, 1, uint64(len(data)), 1024, root, filepath.Join(t.TempDir(), "x"), nil)
		require.Error(t, err, "a cancelled download succeeded")
	})
}

// canPunch says whether files in dir can have holes punched.
func canPunch(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.CreateTemp(dir, "probe")
	require.NoError(t, err)
	defer os.Remove(f.Name())
	defer f.Close()
	_, err = f.Write(make([]byte, 8192))
	require.NoError(t, err)
	return writeback.Discard(f, 0, 4096) == nil
}

// countingRequests counts the requests it passes on.
func countingRequests(n *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			next.ServeHTTP(w, r)
		})
	}
}

// The ranges go round the holders: each of two is asked for its share
// (before, the first round could all go to one holder of two).
func TestFetchParallelSpreadsRangesOverHolders(t *testing.T) {
	owner := providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()}
	data := make([]byte, 48<<20)
	_, err := rand.Read(data)
	require.NoError(t, err)
	root, err := merkle.Root(data, 1024)
	require.NoError(t, err)
	c := &Client{api: providerapi.NewClient(nil, owner)}
	var asked [2]atomic.Int64
	var targets []providerapi.Target
	for i := range asked {
		targets = append(targets, holder(t, fmt.Sprintf("p%d", i), owner, data, countingRequests(&asked[i])))
	}
	require.NoError(t, c.fetchParallel(context.Background(), targets, 1, uint64(len(data)), 1024, root, filepath.Join(t.TempDir(), "x"), nil))
	ranges := len(splitRanges(uint64(len(data)), 1024, min(maxStreams, 2*len(targets))))
	for i := range asked {
		require.Equal(t, int64(ranges/len(targets)), asked[i].Load(), "holder %d was not asked for its share of %d ranges", i, ranges)
	}
}

func TestSplitRangesCoversTheDealOnChunkBoundaries(t *testing.T) {
	for _, size := range []uint64{1, 1023, 1024, 8 << 20, 8<<20 + 1, 1 << 30, 1<<30 + 17} {
		rs := splitRanges(size, 1024, 8)
		next := uint64(0)
		for i, r := range rs {
			require.Equal(t, next, r.off)
			require.Positive(t, r.n)
			if i < len(rs)-1 {
				require.Zero(t, r.n%1024, "a range ends on a chunk boundary")
			}
			next += r.n
		}
		require.Equal(t, size, next)
	}
}

// watchedSink keeps what it is written and closes reached once it holds
// after bytes.
type watchedSink struct {
	bytes.Buffer
	after   int
	reached chan struct{}
	closed  bool
}

func (w *watchedSink) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if !w.closed && w.Len() >= w.after {
		w.closed = true
		close(w.reached)
	}
	return n, err
}
