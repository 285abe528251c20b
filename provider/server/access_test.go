package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
)

// Only the owner uploads: an unsigned or foreign upload is refused before
// any body byte is read, takes no lock and stores nothing.
func TestUploadOnlyByTheOwner(t *testing.T) {
	e := newEnv(t, 1)
	data, _ := e.addDeal(1, 8*chunkSize, true)

	requireError(t, e.doAs(nil, http.MethodPut, "/v1/deals/1", bytes.NewReader(data), int64(len(data))), http.StatusUnauthorized, providerapi.CodeUnauthenticated)
	requireError(t, e.doAs(stranger, http.MethodPut, "/v1/deals/1", bytes.NewReader(data), int64(len(data))), http.StatusForbidden, providerapi.CodeForbidden)
	requireError(t, e.doAs(peer, http.MethodPut, "/v1/deals/1", bytes.NewReader(data), int64(len(data))), http.StatusForbidden, providerapi.CodeForbidden)

	// Through the client: the body is never sent.
	body := &readTracker{r: bytes.NewReader(data)}
	err := providerapi.NewClient(&http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}, stranger).
		Upload(context.Background(), e.target(), 1, body, uint64(len(data)))
	var apiErr *providerapi.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusForbidden, apiErr.Status)
	require.False(t, body.wasRead(), "a refused upload's body was read")
	e.requireNothingStored()
	require.Contains(t, e.scrape(), "\nstratus_provider_bytes_received_total 0\n")

	// None of it held the single upload slot or the deal's lock.
	require.Equal(t, http.StatusCreated, e.put(1, data).status)
}

// A private deal's bytes go to its owner and its providers, and to the
// executors of a job that reads it (with ?job=N); a public deal's to anyone.
func TestDownloadAccess(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 4*chunkSize, true)
	require.Equal(t, http.StatusCreated, e.put(1, data).status)
	e.setDeal(1, func(d *server.DealInfo) { d.Holders, d.Fetchers = []string{testProvider}, []string{addr(peer)} })
	other, _ := e.addDeal(2, 100, true)
	require.Equal(t, http.StatusCreated, e.put(2, other).status)
	e.chain.jobs[3] = server.JobInfo{ID: 3, Owner: addr(stranger), Executors: []string{addr(stranger)}, Reads: []uint64{1}}
	e.chain.jobs[4] = server.JobInfo{ID: 4, Owner: addr(stranger), Executors: []string{addr(stranger)}, Reads: []uint64{2}}

	ok := func(s providerapi.Signer, path string) {
		t.Helper()
		r := e.doAs(s, http.MethodGet, path, nil, 0)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	}
	ok(owner, "/v1/deals/1")
	ok(peer, "/v1/deals/1") // a provider assigned a slot, fetching
	ok(stranger, "/v1/deals/1?job=3")

	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0), http.StatusUnauthorized, providerapi.CodeUnauthenticated)
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	// A job that does not read deal 1 gives no access to it, nor does an
	// unknown job, nor a job the signer does not execute.
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1?job=4", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1?job=99", nil, 0), http.StatusNotFound, providerapi.CodeUnknownJob)
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/2?job=4", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1?job=x", nil, 0), http.StatusBadRequest, providerapi.CodeBadJobID)
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1?job=3", nil, 0), http.StatusUnauthorized, providerapi.CodeUnauthenticated)

	// A provider or an executor gets the whole deal, never a part: a Range
	// would let a provider that kept only the Merkle tree fetch the one leaf
	// it is challenged on. The owner may ask for ranges.
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/1", nil, 0, "Range", "bytes=0-1023"), http.StatusForbidden, providerapi.CodeRangeNotAllowed)
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1?job=3", nil, 0, "Range", "bytes=0-1023"), http.StatusForbidden, providerapi.CodeRangeNotAllowed)
	r := e.doAs(owner, http.MethodGet, "/v1/deals/1", nil, 0, "Range", "bytes=0-1023")
	require.Equal(t, http.StatusPartialContent, r.status)
	require.Equal(t, data[:1024], r.body)

	// Signing the path does not let a signature cover another deal.
	h := authorization(t, owner, http.MethodGet, "/v1/deals/2", 0)
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", h), http.StatusUnauthorized, providerapi.CodeBadSignature)

	e.setDeal(1, func(d *server.DealInfo) { d.Public = true })
	ok(nil, "/v1/deals/1")
	ok(stranger, "/v1/deals/1")
	// A signed read of a public deal uses no nonce: replaying it is
	// harmless, and recording it would let anyone fill the replay cache.
	h = authorization(t, stranger, http.MethodGet, "/v1/deals/1", 0)
	for range 2 {
		require.Equal(t, http.StatusOK, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", h).status)
	}
	r = e.doAs(peer, http.MethodGet, "/v1/deals/1", nil, 0, "Range", "bytes=0-1023")
	require.Equal(t, http.StatusPartialContent, r.status, "a public deal's ranges are anyone's")
}

// The proof endpoint of a private deal answers its owner only, so it is no
// oracle for a provider that does not hold the data.
func TestProofsOnlyForTheOwner(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 4*chunkSize, true)
	require.Equal(t, http.StatusCreated, e.put(1, data).status)
	e.setDeal(1, func(d *server.DealInfo) { d.Holders = []string{testProvider, addr(peer)} })

	r := e.do(http.MethodGet, "/v1/deals/1/proof?leaf=1", nil, 0)
	require.Equal(t, http.StatusOK, r.status)
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/1/proof?leaf=1", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1/proof?leaf=1", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1/proof?leaf=1", nil, 0), http.StatusUnauthorized, providerapi.CodeUnauthenticated)
	require.Contains(t, e.scrape(), "\nstratus_provider_proofs_served_total 1\n")

	// Public deals too: anyone may read one, but a provider that deleted it
	// must not answer its samples from a peer's proofs (found in review).
	e.setDeal(1, func(d *server.DealInfo) { d.Public = true })
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1/proof?leaf=1", nil, 0), http.StatusUnauthorized, providerapi.CodeUnauthenticated)
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/1/proof?leaf=1", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/v1/deals/1/proof?leaf=1", nil, 0).status)
}

// A captured signed request cannot be sent again, nor later, nor to
// another provider; a forged or malformed one is refused. None of them
// reads anything.
func TestSignatureAttacksRefused(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 4*chunkSize, true)
	require.Equal(t, http.StatusCreated, e.put(1, data).status)

	// Replay: the same header twice.
	h := authorization(t, owner, http.MethodGet, "/v1/deals/1", 0)
	require.Equal(t, http.StatusOK, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", h).status)
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", h), http.StatusUnauthorized, providerapi.CodeReplayed)

	// Expired and future-dated signatures.
	for _, skew := range []time.Duration{-2 * providerapi.MaxClockSkew, 2 * providerapi.MaxClockSkew} {
		req, err := http.NewRequest(http.MethodGet, e.url+"/v1/deals/1", nil)
		require.NoError(t, err)
		require.NoError(t, providerapi.SignRequest(req, owner, testProvider, time.Now().Add(skew)))
		requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", req.Header.Get("Authorization")),
			http.StatusUnauthorized, providerapi.CodeExpiredSignature)
	}

	// Signed for another provider.
	req, err := http.NewRequest(http.MethodGet, e.url+"/v1/deals/1", nil)
	require.NoError(t, err)
	require.NoError(t, providerapi.SignRequest(req, owner, "stratus1another", time.Now()))
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", req.Header.Get("Authorization")),
		http.StatusUnauthorized, providerapi.CodeBadSignature)

	// The owner's key with a stranger's signature: the key names the signer.
	ownerHdr := authorization(t, owner, http.MethodGet, "/v1/deals/1", 0)
	strangerHdr := authorization(t, stranger, http.MethodGet, "/v1/deals/1", 0)
	forged := ownerHdr[:strings.Index(ownerHdr, "sig=")] + strangerHdr[strings.Index(strangerHdr, "sig="):]
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", forged), http.StatusUnauthorized, providerapi.CodeBadSignature)

	// An upload signed for another length.
	r := e.doAs(nil, http.MethodPut, "/v1/deals/1", bytes.NewReader(data), int64(len(data)),
		"Authorization", authorization(t, owner, http.MethodPut, "/v1/deals/1", int64(len(data))+1))
	requireError(t, r, http.StatusUnauthorized, providerapi.CodeBadSignature)

	for _, bad := range []string{"Bearer x", providerapi.AuthScheme + " key=AAA", providerapi.AuthScheme + " "} {
		requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", bad), http.StatusUnauthorized, providerapi.CodeBadSignature)
	}
	require.Contains(t, e.scrape(), fmt.Sprintf("\nstratus_provider_bytes_served_total %d\n", len(data)))
}

// An owner's upload that stalls is cut off after the grace period, and it
// frees the deal's lock and the upload slot: the next upload succeeds.
func TestStalledUploadIsCutOff(t *testing.T) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	e := &env{t: t, store: st, chain: &fakeChain{deals: map[uint64]server.DealInfo{}, jobs: map[uint64]server.JobInfo{}}, metrics: metrics.New()}
	srv := server.New(st, e.chain, server.Options{
		Provider: testProvider, Metrics: e.metrics, MaxConcurrentUploads: 1,
		UploadGrace: 300 * time.Millisecond, MinUploadRate: 1 << 20,
	})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	data, _ := e.addDeal(1, 64*chunkSize, true)

	// Headers and one chunk, then nothing.
	conn := dialServer(t, e.url)
	_, err = fmt.Fprintf(conn, "PUT /v1/deals/1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nAuthorization: %s\r\n\r\n",
		len(data), authorization(t, owner, http.MethodPut, "/v1/deals/1", int64(len(data))))
	require.NoError(t, err)
	_, err = conn.Write(data[:chunkSize])
	require.NoError(t, err)
	requireError(t, readResponse(t, conn), http.StatusRequestTimeout, providerapi.CodeTooSlow)
	require.False(t, st.Has(1))

	require.Equal(t, http.StatusCreated, e.put(1, data).status)
	var buf bytes.Buffer
	require.NoError(t, providerapi.NewClient(nil, owner).Download(context.Background(), e.target(), 1, &buf))
	require.Equal(t, data, buf.Bytes())
}

// setDeal changes a deal on the fake chain.
func (e *env) setDeal(id uint64, change func(*server.DealInfo)) {
	e.chain.mu.Lock()
	defer e.chain.mu.Unlock()
	d := e.chain.deals[id]
	change(&d)
	e.chain.deals[id] = d
}

// A stranger asking for a range of a private deal is refused as a
// stranger, not told about ranges.
func TestStrangerRangeIsForbidden(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 4*chunkSize, true)
	require.Equal(t, http.StatusCreated, e.put(1, data).status)
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1", nil, 0, "Range", "bytes=0-9"), http.StatusForbidden, providerapi.CodeForbidden)
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Range", "bytes=0-9"), http.StatusUnauthorized, providerapi.CodeUnauthenticated)
}

// A provider with a committed replica may fetch the deal again to repair
// its copy, but only RepairFetchesPerHour times an hour from one peer: a
// provider that deleted its replicas and fetched each sampled deal from
// peers would need many more. The budget refills over the hour.
func TestRepairFetchesAreRationed(t *testing.T) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	now := time.Now()
	clock := func() time.Time { return now }
	e := &env{t: t, store: st, chain: &fakeChain{deals: map[uint64]server.DealInfo{}, jobs: map[uint64]server.JobInfo{}}, metrics: metrics.New(), now: clock}
	srv := server.New(st, e.chain, server.Options{Provider: testProvider, RepairFetchesPerHour: 2, Now: clock})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	for id := uint64(1); id <= 4; id++ {
		data, _ := e.addDeal(id, 2*chunkSize, true)
		require.Equal(t, http.StatusCreated, e.put(id, data).status)
		e.setDeal(id, func(d *server.DealInfo) { d.Holders = []string{testProvider, addr(peer)} })
	}
	// Refused requests cost the holder nothing (found in review: a refused
	// Range, or a replayed request, used to spend a repair).
	for range 3 {
		requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/1", nil, 0, "Range", "bytes=0-9"), http.StatusForbidden, providerapi.CodeRangeNotAllowed)
	}
	h := authorization(t, peer, http.MethodGet, "/v1/deals/1", 0)
	require.Equal(t, http.StatusOK, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", h).status)
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1", nil, 0, "Authorization", h), http.StatusUnauthorized, providerapi.CodeReplayed)
	require.Equal(t, http.StatusOK, e.doAs(peer, http.MethodGet, "/v1/deals/2", nil, 0).status)
	r := e.doAs(peer, http.MethodGet, "/v1/deals/3", nil, 0)
	requireError(t, r, http.StatusTooManyRequests, providerapi.CodeRepairLimit)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	// The owner is not rationed.
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/v1/deals/3", nil, 0).status)

	now = now.Add(30 * time.Minute) // one token back
	require.Equal(t, http.StatusOK, e.doAs(peer, http.MethodGet, "/v1/deals/3", nil, 0).status)
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/4", nil, 0), http.StatusTooManyRequests, providerapi.CodeRepairLimit)

	// The encoder of an erasure-coded deal (shard 0's committed holder,
	// while a parity slot is assigned) fetches the other data shards as a
	// duty, whatever its repair budget; once the parity slots commit it is
	// a holder like any other again.
	e.setDeal(4, func(d *server.DealInfo) { d.Encoder = addr(peer) })
	for range 3 {
		require.Equal(t, http.StatusOK, e.doAs(peer, http.MethodGet, "/v1/deals/4", nil, 0).status)
	}
	e.setDeal(4, func(d *server.DealInfo) { d.Encoder = "" })
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/4", nil, 0), http.StatusTooManyRequests, providerapi.CodeRepairLimit)
}

// An upload cut halfway keeps its bytes; the owner asks where to resume
// and sends only the rest. Nobody else learns the offset.
func TestResumedUploadSendsOnlyTheRest(t *testing.T) {
	e := newEnv(t, 0)
	data, deal := e.addDeal(1, 64*chunkSize+5, true)
	half := len(data) / 2

	conn := dialServer(t, e.url)
	_, err := fmt.Fprintf(conn, "PUT /v1/deals/1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nAuthorization: %s\r\n\r\n",
		len(data), authorization(t, owner, http.MethodPut, "/v1/deals/1", int64(len(data))))
	require.NoError(t, err)
	_, err = conn.Write(data[:half])
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	requireError(t, readResponse(t, conn), http.StatusBadRequest, providerapi.CodeTruncated)
	require.False(t, e.store.Has(1))

	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1/upload", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1/upload", nil, 0), http.StatusUnauthorized, providerapi.CodeUnauthenticated)
	st, err := e.client.UploadState(context.Background(), e.target(), 1)
	require.NoError(t, err)
	require.Equal(t, providerapi.UploadState{DealID: 1, Size: deal.Size, Offset: uint64(half)}, st)

	// Resuming past what is held, or with a malformed range, is refused.
	r := e.do(http.MethodPut, "/v1/deals/1", bytes.NewReader(data[half+10:]), int64(len(data)-half-10),
		"Content-Range", fmt.Sprintf("bytes %d-%d/%d", half+10, len(data)-1, len(data)))
	requireError(t, r, http.StatusRequestedRangeNotSatisfiable, providerapi.CodeBadRange)
	r = e.do(http.MethodPut, "/v1/deals/1", bytes.NewReader(data[half:]), int64(len(data)-half), "Content-Range", "bytes 5-6/7")
	requireError(t, r, http.StatusBadRequest, providerapi.CodeBadRange)

	require.NoError(t, e.client.UploadFrom(context.Background(), e.target(), 1, bytes.NewReader(data[half:]), deal.Size, st.Offset))
	require.True(t, e.store.Has(1))
	require.NoError(t, e.store.Verify(1))
	var buf bytes.Buffer
	require.NoError(t, e.client.Download(context.Background(), e.target(), 1, &buf))
	require.Equal(t, data, buf.Bytes())
	// Every byte crossed the wire once.
	require.Contains(t, e.scrape(), fmt.Sprintf("\nstratus_provider_bytes_received_total %d\n", len(data)))
	st, err = e.client.UploadState(context.Background(), e.target(), 1)
	require.NoError(t, err)
	require.True(t, st.Stored)
}

// A staged parity shard goes to the provider assigned that shard and to
// the owner only; a provider assigned another shard, a stranger and an
// unsigned request are refused, and nothing staged is a 404.
func TestParityOnlyForItsShard(t *testing.T) {
	e := newEnv(t, 0)
	e.addDeal(1, 4*chunkSize, true)
	e.setDeal(1, func(d *server.DealInfo) {
		d.Erasure = true
		d.Fetchers = []string{addr(peer), addr(stranger)}
		d.ShardFetchers = map[string]int{addr(peer): 4, addr(stranger): 5}
	})
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/1/parity/4", nil, 0), http.StatusNotFound, providerapi.CodeNotStored)
	shard := bytes.Repeat([]byte("parity"), 100)
	require.NoError(t, os.WriteFile(e.store.StagedShardPath(1, 4), shard, 0o600))

	r := e.doAs(peer, http.MethodGet, "/v1/deals/1/parity/4", nil, 0)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.Equal(t, shard, r.body)
	require.Equal(t, http.StatusOK, e.doAs(owner, http.MethodGet, "/v1/deals/1/parity/4", nil, 0).status)
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1/parity/4", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/deals/1/parity/4", nil, 0), http.StatusUnauthorized, providerapi.CodeUnauthenticated)
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/1/parity/x", nil, 0), http.StatusBadRequest, providerapi.CodeBadShard)
}

// signalWriter collects a download and says when it holds at least want
// bytes.
type signalWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	want    int
	reached chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	before := w.buf.Len()
	w.buf.Write(p)
	if before < w.want && w.buf.Len() >= w.want {
		close(w.reached)
	}
	return len(p), nil
}

// heldUpload starts the owner's upload of deal 1 (data) through a pipe
// and sends its first n bytes; the test writes the rest to pw. uploaded
// gets the upload's result.
func heldUpload(t *testing.T, e *env, data []byte, n int) (pw *io.PipeWriter, uploaded chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })
	uploaded = make(chan error, 1)
	hc := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	go func() {
		uploaded <- providerapi.NewClient(hc, owner).Upload(context.Background(), e.target(), 1, pr, uint64(len(data)))
	}()
	_, err := pw.Write(data[:n])
	require.NoError(t, err)
	return pw, uploaded
}

// peerFetch starts the peer's download of deal 1 and waits until it holds
// at least n bytes; fetched gets the download's result.
func peerFetch(t *testing.T, e *env, n int) (got *signalWriter, fetched chan error) {
	t.Helper()
	got = &signalWriter{want: n, reached: make(chan struct{})}
	fetched = make(chan error, 1)
	go func() {
		fetched <- providerapi.NewClient(http.DefaultClient, peer).Download(context.Background(), e.target(), 1, got)
	}()
	select {
	case <-got.reached:
	case err := <-fetched:
		t.Fatalf("the fetch ended before the upload did: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatalf("%d bytes of the upload did not reach the replicating provider while the upload ran", n)
	}
	return got, fetched
}

// A provider assigned another slot of the deal gets the owner's upload
// while it arrives, not after: the first half reaches it before the owner
// has sent the second. Nobody else does, and without an upload running it
// is told the deal is not stored, as before.
func TestAssignedFetcherFollowsTheUpload(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 64*chunkSize, true)
	e.setDeal(1, func(d *server.DealInfo) { d.Fetchers = []string{addr(peer)} })
	requireError(t, e.doAs(peer, http.MethodGet, "/v1/deals/1", nil, 0), http.StatusNotFound, providerapi.CodeNotStored)

	half := len(data) / 2
	pw, uploaded := heldUpload(t, e, data, half)
	// The stranger is refused before anything is streamed to it.
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	got, fetched := peerFetch(t, e, half)
	require.Empty(t, e.onStoredCalls(), "the upload is not stored yet")
	// A HEAD is answered at once, not held until the upload ends.
	head := e.doAs(peer, http.MethodHead, "/v1/deals/1", nil, 0)
	require.Equal(t, http.StatusOK, head.status)
	require.Equal(t, "true", head.header.Get(providerapi.HeaderUploadInProgress))
	require.Equal(t, fmt.Sprint(len(data)), head.header.Get("Content-Length"))

	_, err := pw.Write(data[half:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.NoError(t, <-uploaded)
	require.NoError(t, <-fetched)
	require.Equal(t, data, got.buf.Bytes())
	require.Equal(t, []uint64{1}, e.onStoredCalls())
}

// A provider assigned the deal that asks before the owner has started the
// upload, and asks to wait (its first try), waits for it
// (Options.UploadWait) and follows it, instead of being told the deal is
// not stored and asking again a block later. A later try, which does not
// ask, is answered at once.
func TestFetchBeforeTheUploadWaitsForIt(t *testing.T) {
	e := newEnvWith(t, func(o *server.Options) { o.UploadWait = 20 * time.Second })
	data, _ := e.addDeal(1, 64*chunkSize, true)
	e.setDeal(1, func(d *server.DealInfo) { d.Fetchers = []string{addr(peer)} })
	peerClient := providerapi.NewClient(http.DefaultClient, peer)

	start := time.Now()
	err := peerClient.Download(context.Background(), e.target(), 1, io.Discard)
	var apiErr *providerapi.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, http.StatusNotFound, apiErr.Status, "a try that does not ask to wait")
	require.Less(t, time.Since(start), 10*time.Second, "a try that does not ask to wait was held")

	got := &signalWriter{want: len(data), reached: make(chan struct{})}
	fetched := make(chan error, 1)
	go func() {
		fetched <- peerClient.Download(providerapi.AwaitUpload(context.Background()), e.target(), 1, got)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.store.AwaitingUploads() == 0 {
		select {
		case err := <-fetched:
			t.Fatalf("the fetch ended before any upload started: %v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "the fetch never waited for the upload")
		time.Sleep(5 * time.Millisecond)
	}
	// A stranger is not held: refused at once, even asking to wait.
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/deals/1", nil, 0, providerapi.HeaderAwaitUpload, "1"), http.StatusForbidden, providerapi.CodeForbidden)

	pw, uploaded := heldUpload(t, e, data, len(data)/2)
	_, err = pw.Write(data[len(data)/2:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.NoError(t, <-uploaded)
	require.NoError(t, <-fetched)
	require.Equal(t, data, got.buf.Bytes())
	require.Zero(t, e.store.AwaitingUploads())
}

// When the upload being followed fails its root check, the replicating
// provider's download fails too: it never ends cleanly on bytes the deal
// does not hold.
func TestFollowedUploadThatFailsCutsTheFetch(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 64*chunkSize, true)
	e.setDeal(1, func(d *server.DealInfo) { d.Fetchers = []string{addr(peer)} })
	pw, uploaded := heldUpload(t, e, data, chunkSize)
	got, fetched := peerFetch(t, e, chunkSize)

	bad := bytes.Clone(data[chunkSize:])
	bad[len(bad)-1] ^= 1
	_, err := pw.Write(bad)
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.Error(t, <-uploaded)
	require.Error(t, <-fetched, "the fetch of a failed upload ended cleanly")
	require.Less(t, got.buf.Len(), len(data), "the whole body of a failed upload was sent")
	e.requireNothingStored()
}
