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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
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

// getTo runs getRanges into a new file and returns what it holds.
func getTo(t *testing.T, c *Client, targets []providerapi.Target, size uint64, root merkle.Hash, key age.Identity, partial func(int64)) ([]byte, error) {
	t.Helper()
	return getToCtx(context.Background(), t, c, targets, size, root, key, partial)
}

func getToCtx(ctx context.Context, t *testing.T, c *Client, targets []providerapi.Target, size uint64, root merkle.Hash, key age.Identity, partial func(int64)) ([]byte, error) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer f.Close()
	if err := c.getRanges(ctx, targets, 1, size, 1024, root, key, f, partial); err != nil {
		return nil, err
	}
	return os.ReadFile(f.Name())
}

func TestGetRangesOfAPublicDeal(t *testing.T) {
	owner := providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()}
	data := make([]byte, 40<<20+123)
	_, err := rand.Read(data)
	require.NoError(t, err)
	root, err := merkle.Root(data, 1024)
	require.NoError(t, err)
	c := &Client{api: providerapi.NewClient(nil, owner)}
	targets := []providerapi.Target{holder(t, "p1", owner, data, nil), holder(t, "p2", owner, data, nil)}

	t.Run("byte-exact", func(t *testing.T) {
		got, err := getTo(t, c, targets, uint64(len(data)), root, nil, nil)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got))
	})
	t.Run("a holder that is down costs a retry, not the download", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		got, err := getTo(t, c, []providerapi.Target{{Provider: "gone", URL: down.URL}, targets[0]}, uint64(len(data)), root, nil, nil)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got))
	})
	t.Run("bad bytes from one holder fail the root check", func(t *testing.T) {
		bad := holder(t, "p3", owner, data, flipping)
		_, err := getTo(t, c, []providerapi.Target{targets[0], bad}, uint64(len(data)), root, nil, nil)
		require.ErrorIs(t, err, ErrVerify)
	})
	t.Run("ranges are the owner's", func(t *testing.T) {
		other := &Client{api: providerapi.NewClient(nil, providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()})}
		_, err := getTo(t, other, targets, uint64(len(data)), root, nil, nil)
		var apiErr *providerapi.APIError
		require.True(t, errors.As(err, &apiErr), "%v", err)
		require.Equal(t, http.StatusForbidden, apiErr.Status)
	})
	t.Run("cancel stops it", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_, err := getToCtx(ctx, t, c, targets, uint64(len(data)), root, nil, nil)
		require.Error(t, err, "a cancelled download succeeded")
	})
}

// sealedDeal is a private deal's ciphertext, plain sealed to id by age,
// and its root.
func sealedDeal(t *testing.T, id *age.X25519Identity, plain []byte) ([]byte, merkle.Hash) {
	t.Helper()
	sealed := sealBytes(t, id, plain)
	root, err := merkle.Root(sealed, 1024)
	require.NoError(t, err)
	return sealed, root
}

func TestGetRangesOfAPrivateDeal(t *testing.T) {
	owner := providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()}
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	c := &Client{api: providerapi.NewClient(nil, owner)}
	// Sizes whose chunks cross the ranges' edges differently: the second
	// ends on a full chunk, the third is just under two ranges.
	for _, size := range []int{40<<20 + 123, 32 << 20, 16<<20 - 3*payloadChunk - 150} {
		plain := randomBytes(uint64(size), size)
		sealed, root := sealedDeal(t, id, plain)
		targets := []providerapi.Target{holder(t, "p1", owner, sealed, nil), holder(t, "p2", owner, sealed, nil)}
		var mu sync.Mutex
		var reports []int64
		got, err := getTo(t, c, targets, uint64(len(sealed)), root, id, func(done int64) {
			mu.Lock()
			reports = append(reports, done)
			mu.Unlock()
		})
		require.NoError(t, err, "%d bytes", size)
		require.True(t, bytes.Equal(plain, got), "%d bytes: the plaintext differs", size)
		require.True(t, slices.IsSorted(reports), "what is in place went back")
		require.Equal(t, int64(size), reports[len(reports)-1], "the last report is not the whole plaintext")
	}

	plain := randomBytes(1, 40<<20+5)
	sealed, root := sealedDeal(t, id, plain)
	good := holder(t, "good", owner, sealed, nil)
	t.Run("what is reported in place is the plaintext", func(t *testing.T) {
		// A reader of the growing output (the gateway) reads up to each
		// report: the 64 KiB below it must already be the plaintext's.
		f, err := os.Create(filepath.Join(t.TempDir(), "out"))
		require.NoError(t, err)
		defer f.Close()
		tail := make([]byte, payloadChunk)
		var bad []int64
		require.NoError(t, c.getRanges(context.Background(), []providerapi.Target{good, holder(t, "p2", owner, sealed, nil)}, 1, uint64(len(sealed)), 1024, root, id, f,
			func(done int64) {
				from := max(0, done-int64(len(tail)))
				n, _ := f.ReadAt(tail[:done-from], from)
				if !bytes.Equal(tail[:n], plain[from:done]) {
					bad = append(bad, done)
				}
			}))
		require.Empty(t, bad, "reported in place before it was")
	})
	t.Run("a range a holder corrupts is asked of the next holder", func(t *testing.T) {
		var asked atomic.Int64
		bad := holder(t, "bad", owner, sealed, func(next http.Handler) http.Handler { return countingRequests(&asked)(flipping(next)) })
		got, err := getTo(t, c, []providerapi.Target{bad, good}, uint64(len(sealed)), root, id, nil)
		require.NoError(t, err)
		require.True(t, bytes.Equal(plain, got))
		require.Positive(t, asked.Load(), "the corrupting holder was never asked")
	})
	t.Run("holders that all corrupt fail it", func(t *testing.T) {
		bad := holder(t, "bad", owner, sealed, flipping)
		_, err := getTo(t, c, []providerapi.Target{bad}, uint64(len(sealed)), root, id, nil)
		require.ErrorIs(t, err, ErrDecrypt)
	})
	t.Run("another file of the same owner fails the root check", func(t *testing.T) {
		// It decrypts (the owner sealed it), chunk for chunk; only the
		// root says it is not this deal.
		other, _ := sealedDeal(t, id, randomBytes(2, len(plain)))
		require.Len(t, other, len(sealed))
		swapped := holder(t, "swapped", owner, other, nil)
		_, err := getTo(t, c, []providerapi.Target{swapped}, uint64(len(sealed)), root, id, nil)
		require.ErrorIs(t, err, ErrVerify)
	})
	t.Run("a first holder serving another file of the owner loses each range to the next", func(t *testing.T) {
		// Its header would give a key that opens none of this deal's
		// chunks: proven against the root first, it is refused, and so is
		// each of its ranges (their chunks fail under the right key).
		other, _ := sealedDeal(t, id, randomBytes(3, len(plain)))
		swapped := holder(t, "swapped", owner, other, nil)
		got, err := getTo(t, c, []providerapi.Target{swapped, good}, uint64(len(sealed)), root, id, nil)
		require.NoError(t, err)
		require.True(t, bytes.Equal(plain, got))
	})
	t.Run("another's key does not open it", func(t *testing.T) {
		stranger, err := age.GenerateX25519Identity()
		require.NoError(t, err)
		_, err = getTo(t, c, []providerapi.Target{good}, uint64(len(sealed)), root, stranger, nil)
		require.ErrorIs(t, err, ErrDecrypt)
	})
	t.Run("a holder that stops sending loses the range to the next", func(t *testing.T) {
		// It sends 1 MiB of the first range and then nothing, until the
		// test ends: the try is given up after rangeIdle, and the range
		// comes from the other holder.
		defer func(d time.Duration) { rangeIdle = d }(rangeIdle)
		rangeIdle = 300 * time.Millisecond
		end := make(chan struct{})
		defer close(end)
		stuck := holder(t, "stuck", owner, sealed, holdingFirstRange(1<<20, func(r *http.Request) bool {
			select {
			case <-end:
			case <-r.Context().Done():
			}
			return false // the rest is never sent
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		got, err := getToCtx(ctx, t, c, []providerapi.Target{stuck, good}, uint64(len(sealed)), root, id, nil)
		require.NoError(t, err)
		require.True(t, bytes.Equal(plain, got))
	})
	t.Run("plaintext is in place while the first range still arrives", func(t *testing.T) {
		// The holder sends the first 2 MiB of the first range and holds
		// the rest until 1 MiB of plaintext is reported in place (or
		// 30 s, which would mean the range was decrypted only whole).
		passed := make(chan struct{})
		released := make(chan bool, 1)
		stalling := holder(t, "p4", owner, sealed, holdingFirstRange(2<<20, func(*http.Request) bool {
			select {
			case <-passed:
				released <- true
			case <-time.After(30 * time.Second):
				released <- false
			}
			return true
		}))
		var once sync.Once
		got, err := getTo(t, c, []providerapi.Target{stalling}, uint64(len(sealed)), root, id, func(done int64) {
			if done >= 1<<20 {
				once.Do(func() { close(passed) })
			}
		})
		require.NoError(t, err)
		require.True(t, <-released, "nothing of the first range was in place before the whole range arrived")
		require.True(t, bytes.Equal(plain, got))
	})
}

// holdingFirstRange answers a request for the first range with its first
// sent bytes, then calls hold and sends the rest only if hold says so.
// Other requests pass.
func holdingFirstRange(sent int, hold func(r *http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
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
			_, _ = w.Write(body[:sent])
			w.(http.Flusher).Flush()
			if hold(r) {
				_, _ = w.Write(body[sent:])
			}
		})
	}
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
func TestGetRangesSpreadsRangesOverHolders(t *testing.T) {
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
	_, err = getTo(t, c, targets, uint64(len(data)), root, nil, nil)
	require.NoError(t, err)
	ranges := len(splitRanges(uint64(len(data)), 1024, min(maxStreams, 2*len(targets))))
	for i := range asked {
		require.Equal(t, int64(ranges/len(targets)), asked[i].Load(), "holder %d was not asked for its share of %d ranges", i, ranges)
	}
}

func TestSplitRangesCoversTheDealInSubtrees(t *testing.T) {
	for _, size := range []uint64{1, 1023, 1024, 8 << 20, 8<<20 + 1, 1 << 30, 1<<30 + 17} {
		rs := splitRanges(size, 1024, 8)
		next := uint64(0)
		for i, r := range rs {
			require.Equal(t, next, r.off)
			require.Positive(t, r.n)
			if i < len(rs)-1 {
				// A power-of-two count of leaves: a subtree of the deal's
				// tree, whose roots merkle.RootOfSegments joins.
				leaves := r.n / 1024
				require.Zero(t, r.n%1024, "a range ends on a chunk boundary")
				require.Zero(t, leaves&(leaves-1), "a range of %d leaves", leaves)
				require.Equal(t, rs[0].n, r.n, "ranges differ in size")
				require.GreaterOrEqual(t, r.n, uint64(rangeMin))
			}
			next += r.n
		}
		require.Equal(t, size, next)
	}
}
