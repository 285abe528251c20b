package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
)

const chunkSize = 1024

// testProvider is the provider's address, which requests are signed for.
const testProvider = "stratus1provider"

// The accounts of the tests: the deals' owner, another user, and another
// provider.
var (
	owner    = providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()}
	stranger = providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()}
	peer     = providerapi.PrivKeySigner{Key: secp256k1.GenPrivKey()}
)

// addr is a signer's account address.
func addr(s providerapi.PrivKeySigner) string {
	return sdk.AccAddress(s.Key.PubKey().Address()).String()
}

// authorization is the Authorization header of a request signed by s.
func authorization(t *testing.T, s providerapi.Signer, method, path string, contentLength int64) string {
	t.Helper()
	req, err := http.NewRequest(method, "http://x"+path, nil)
	require.NoError(t, err)
	req.ContentLength = contentLength
	require.NoError(t, providerapi.SignRequest(req, s, testProvider, time.Now()))
	return req.Header.Get("Authorization")
}

// fakeChain answers DealInfo and JobInfo from maps.
type fakeChain struct {
	mu    sync.Mutex
	deals map[uint64]server.DealInfo
	jobs  map[uint64]server.JobInfo
}

func (c *fakeChain) JobInfo(_ context.Context, id uint64) (server.JobInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.jobs[id]
	if !ok {
		return server.JobInfo{}, fmt.Errorf("job %d: %w", id, server.ErrUnknownJob)
	}
	return j, nil
}

func (c *fakeChain) DealInfo(_ context.Context, id uint64) (server.DealInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.deals[id]
	if !ok {
		return server.DealInfo{}, fmt.Errorf("deal %d: %w", id, server.ErrUnknownDeal)
	}
	return d, nil
}

// env is a provider server on 127.0.0.1 over a fresh store, with a fake
// chain and metrics.
type env struct {
	t       *testing.T
	url     string
	store   *store.Store
	chain   *fakeChain
	metrics *metrics.Metrics
	client  *providerapi.Client

	mu     sync.Mutex
	stored []uint64 // OnStored calls

	// now, when set, is the clock requests are signed by (the server's).
	now func() time.Time
}

func newEnv(t *testing.T, maxUploads int) *env {
	t.Helper()
	return newEnvWith(t, func(o *server.Options) { o.MaxConcurrentUploads = maxUploads })
}

// newEnvWith is newEnv with the server's options changed by set.
func newEnvWith(t *testing.T, set func(*server.Options)) *env {
	t.Helper()
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	e := &env{
		t:       t,
		store:   st,
		chain:   &fakeChain{deals: map[uint64]server.DealInfo{}, jobs: map[uint64]server.JobInfo{}},
		metrics: metrics.New(),
	}
	opts := server.Options{
		Provider: testProvider,
		Moniker:  "test-provider",
		Version:  "v0.0.0-test",
		Metrics:  e.metrics,
		OnStored: func(id uint64) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.stored = append(e.stored, id)
		},
		UsageRefresh: -1, // the tests scrape right after changes
		// A fetch of a deal nobody uploads is told so quickly.
		UploadWait: 200 * time.Millisecond,
	}
	set(&opts)
	srv := server.New(st, e.chain, opts)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	// Like http.DefaultTransport, wait a while for 100-continue.
	e.client = providerapi.NewClient(&http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}, owner)
	return e
}

// addDeal puts a deal of size random bytes on the fake chain and returns
// its data.
func (e *env) addDeal(id uint64, size int, assigned bool) ([]byte, server.DealInfo) {
	e.t.Helper()
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(id, uint64(size)))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	root, err := merkle.Root(data, chunkSize)
	require.NoError(e.t, err)
	d := server.DealInfo{ID: id, Owner: addr(owner), Root: root, Size: uint64(size), ChunkSize: chunkSize, Assigned: assigned}
	e.chain.mu.Lock()
	e.chain.deals[id] = d
	e.chain.mu.Unlock()
	return data, d
}

// target is the test provider.
func (e *env) target() providerapi.Target {
	return providerapi.Target{Provider: testProvider, URL: e.url}
}

func (e *env) onStoredCalls() []uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]uint64(nil), e.stored...)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request signed by the deals' owner with body (contentLength
// -1: chunked) and headers.
func (e *env) do(method, path string, body io.Reader, contentLength int64, headers ...string) response {
	e.t.Helper()
	return e.doAs(owner, method, path, body, contentLength, headers...)
}

// doAs is do signed by signer (nil: not signed).
func (e *env) doAs(signer providerapi.Signer, method, path string, body io.Reader, contentLength int64, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	require.NoError(e.t, err)
	if body != nil {
		req.ContentLength = contentLength
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if signer != nil {
		now := time.Now
		if e.now != nil {
			now = e.now
		}
		require.NoError(e.t, providerapi.SignRequest(req, signer, testProvider, now()))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) put(id uint64, data []byte) response {
	e.t.Helper()
	return e.do(http.MethodPut, fmt.Sprintf("/v1/deals/%d", id), bytes.NewReader(data), int64(len(data)))
}

// requireError checks a JSON error response with status and code and a
// human message.
func requireError(t *testing.T, r response, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	var body map[string]string
	require.NoError(t, json.Unmarshal(r.body, &body), "body: %s", r.body)
	require.Equal(t, code, body["code"], "body: %s", r.body)
	require.NotEmpty(t, body["error"])
}

// requireNothingStored checks the store holds no deal.
func (e *env) requireNothingStored() {
	e.t.Helper()
	ids, err := e.store.List()
	require.NoError(e.t, err)
	require.Empty(e.t, ids)
	require.Empty(e.t, e.onStoredCalls())
}

func (e *env) scrape() string {
	e.t.Helper()
	r := e.do(http.MethodGet, "/metrics", nil, 0)
	require.Equal(e.t, http.StatusOK, r.status)
	return string(r.body)
}

func TestUploadThenDownloadRangesAndProofs(t *testing.T) {
	e := newEnv(t, 0)
	data, deal := e.addDeal(7, 100*chunkSize+123, true) // 101 leaves, the last short

	r := e.put(7, data)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var stored providerapi.StoredDeal
	require.NoError(t, json.Unmarshal(r.body, &stored))
	require.Equal(t, providerapi.StoredDeal{DealID: 7, Root: deal.Root.String(), Size: deal.Size}, stored)
	require.Equal(t, []uint64{7}, e.onStoredCalls())
	require.True(t, e.store.Has(7))

	t.Run("download whole", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v1/deals/7", nil, 0)
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, data, r.body)
		require.Equal(t, "application/octet-stream", r.header.Get("Content-Type"))
		require.Equal(t, `"`+deal.Root.String()+`"`, r.header.Get("ETag"))

		var buf bytes.Buffer
		require.NoError(t, e.client.Download(context.Background(), e.target(), 7, &buf))
		require.Equal(t, data, buf.Bytes())
	})

	t.Run("ranges", func(t *testing.T) {
		n := len(data)
		for _, tc := range []struct {
			rng        string
			start, end int // want data[start:end]
		}{
			{"bytes=0-99", 0, 100},
			{"bytes=1000-2999", 1000, 3000},
			{"bytes=-500", n - 500, n},
			{fmt.Sprintf("bytes=%d-", n-1), n - 1, n},
		} {
			r := e.do(http.MethodGet, "/v1/deals/7", nil, 0, "Range", tc.rng)
			require.Equal(t, http.StatusPartialContent, r.status, tc.rng)
			require.Equal(t, data[tc.start:tc.end], r.body, tc.rng)
			require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end-1, n), r.header.Get("Content-Range"))
		}

		var buf bytes.Buffer
		require.NoError(t, e.client.DownloadRange(context.Background(), e.target(), 7, 5000, 20000, &buf))
		require.Equal(t, data[5000:25000], buf.Bytes())

		r := e.do(http.MethodGet, "/v1/deals/7", nil, 0, "Range", fmt.Sprintf("bytes=%d-", n))
		requireError(t, r, http.StatusRequestedRangeNotSatisfiable, providerapi.CodeBadRange)
		err := e.client.DownloadRange(context.Background(), e.target(), 7, uint64(n), 10, io.Discard)
		var apiErr *providerapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, providerapi.CodeBadRange, apiErr.Code)
	})

	t.Run("etag revalidation", func(t *testing.T) {
		r := e.do(http.MethodGet, "/v1/deals/7", nil, 0, "If-None-Match", `"`+deal.Root.String()+`"`)
		require.Equal(t, http.StatusNotModified, r.status)
		require.Empty(t, r.body)
	})

	t.Run("proofs verify against the chain's root", func(t *testing.T) {
		leaves := merkle.LeafCount(deal.Size, chunkSize)
		require.Equal(t, uint64(101), leaves)
		for _, i := range []uint64{0, 1, 15, 16, 50, leaves - 2, leaves - 1} {
			leaf, path, root, n, err := e.client.Proof(context.Background(), e.target(), 7, i)
			require.NoError(t, err, "leaf %d", i)
			require.Equal(t, deal.Root, root)
			require.Equal(t, leaves, n)
			lo := int(i) * chunkSize
			require.Equal(t, data[lo:min(lo+chunkSize, len(data))], leaf)
			require.NoError(t, merkle.VerifyProof(deal.Root, leaves, i, leaf, path), "leaf %d", i)
			// The check has teeth: a different leaf does not verify.
			bad := append([]byte(nil), leaf...)
			bad[0] ^= 1
			require.ErrorIs(t, merkle.VerifyProof(deal.Root, leaves, i, bad, path), merkle.ErrRootMismatch)
		}

		r := e.do(http.MethodGet, "/v1/deals/7/proof?leaf=3", nil, 0)
		require.Equal(t, http.StatusOK, r.status)
		var raw map[string]any
		require.NoError(t, json.Unmarshal(r.body, &raw))
		for _, k := range []string{"deal_id", "leaf_index", "leaves", "root", "leaf", "audit_path"} {
			require.Contains(t, raw, k)
		}
		require.Equal(t, deal.Root.String(), raw["root"])
	})

	t.Run("bad proof requests", func(t *testing.T) {
		requireError(t, e.do(http.MethodGet, "/v1/deals/7/proof?leaf=101", nil, 0), http.StatusBadRequest, providerapi.CodeLeafOutOfRange)
		requireError(t, e.do(http.MethodGet, "/v1/deals/7/proof?leaf=x", nil, 0), http.StatusBadRequest, providerapi.CodeBadLeaf)
		requireError(t, e.do(http.MethodGet, "/v1/deals/7/proof?leaf=-1", nil, 0), http.StatusBadRequest, providerapi.CodeBadLeaf)
		requireError(t, e.do(http.MethodGet, "/v1/deals/7/proof", nil, 0), http.StatusBadRequest, providerapi.CodeBadLeaf)
		requireError(t, e.do(http.MethodGet, "/v1/deals/8/proof?leaf=0", nil, 0), http.StatusNotFound, providerapi.CodeUnknownDeal)
		requireError(t, e.do(http.MethodGet, "/v1/deals/x/proof?leaf=0", nil, 0), http.StatusBadRequest, providerapi.CodeBadDealID)
		_, _, _, _, err := e.client.Proof(context.Background(), e.target(), 7, 101)
		var apiErr *providerapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, providerapi.APIError{Status: 400, Code: providerapi.CodeLeafOutOfRange, Message: apiErr.Message}, *apiErr)
		require.Contains(t, apiErr.Message, "101 leaves")
	})

	t.Run("download of a deal not stored", func(t *testing.T) {
		e.addDeal(8, 10, true)
		requireError(t, e.do(http.MethodGet, "/v1/deals/8", nil, 0), http.StatusNotFound, providerapi.CodeNotStored)
		err := e.client.Download(context.Background(), e.target(), 8, io.Discard)
		var apiErr *providerapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusNotFound, apiErr.Status)
		require.Equal(t, providerapi.CodeNotStored, apiErr.Code)
	})
}

func TestClientUploadAndReuploadOfAStoredDeal(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(3, 5000, true)

	require.NoError(t, e.client.Upload(context.Background(), e.target(), 3, bytes.NewReader(data), uint64(len(data))))
	require.True(t, e.store.Has(3))
	require.Equal(t, []uint64{3}, e.onStoredCalls())

	// Again, raw: 200 and the same answer, and the chain loop is not told twice.
	r := e.put(3, data)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var stored providerapi.StoredDeal
	require.NoError(t, json.Unmarshal(r.body, &stored))
	require.Equal(t, uint64(3), stored.DealID)
	require.Equal(t, []uint64{3}, e.onStoredCalls())
	require.NoError(t, e.client.Upload(context.Background(), e.target(), 3, bytes.NewReader(data), uint64(len(data))))

	var buf bytes.Buffer
	require.NoError(t, e.client.Download(context.Background(), e.target(), 3, &buf))
	require.Equal(t, data, buf.Bytes())
}

func TestRejectedUploadsKeepNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   func(data []byte) []byte
		length func(data []byte) int64 // -1: chunked, so the server only learns the size by reading
		status int
		code   string
	}{
		{
			name:   "wrong data of the right size",
			body:   func(d []byte) []byte { b := bytes.Clone(d); b[len(b)/2] ^= 0xff; return b },
			length: func(d []byte) int64 { return int64(len(d)) },
			status: http.StatusUnprocessableEntity, code: providerapi.CodeRootMismatch,
		},
		{
			// Chunked, so the length is unknown until the end: refused, as
			// the signature covers the length.
			name:   "truncated chunked body",
			body:   func(d []byte) []byte { return d[:len(d)-10] },
			length: func([]byte) int64 { return -1 },
			status: http.StatusLengthRequired, code: providerapi.CodeLengthRequired,
		},
		{
			name:   "too long chunked body",
			body:   func(d []byte) []byte { return append(bytes.Clone(d), make([]byte, 10)...) },
			length: func([]byte) int64 { return -1 },
			status: http.StatusLengthRequired, code: providerapi.CodeLengthRequired,
		},
		{
			name:   "correct data followed by one extra byte, declared",
			body:   func(d []byte) []byte { return append(bytes.Clone(d), 0) },
			length: func(d []byte) int64 { return int64(len(d)) + 1 },
			status: http.StatusRequestEntityTooLarge, code: providerapi.CodeTooLarge,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 0)
			data, _ := e.addDeal(1, 20*chunkSize+7, true)
			body := tc.body(data)
			r := e.do(http.MethodPut, "/v1/deals/1", bytes.NewReader(body), tc.length(data))
			requireError(t, r, tc.status, tc.code)
			e.requireNothingStored()
			requireError(t, e.do(http.MethodGet, "/v1/deals/1", nil, 0), http.StatusNotFound, providerapi.CodeNotStored)
			require.Contains(t, e.scrape(), "\nstratus_provider_uploads_total{result=\"rejected\"} 1\n")

			// The failed upload left nothing in the way of the right one.
			require.Equal(t, http.StatusCreated, e.put(1, data).status)
		})
	}
}

// A client that stops sending mid-body (Content-Length promised the full
// size) is told its upload was truncated, and nothing is kept.
func TestConnectionClosedMidUploadKeepsNothing(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 20*chunkSize, true)
	conn := dialServer(t, e.url)
	_, err := fmt.Fprintf(conn, "PUT /v1/deals/1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nAuthorization: %s\r\n\r\n", len(data), authorization(t, owner, http.MethodPut, "/v1/deals/1", int64(len(data))))
	require.NoError(t, err)
	_, err = conn.Write(data[:len(data)/2])
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())

	resp := readResponse(t, conn)
	requireError(t, resp, http.StatusBadRequest, providerapi.CodeTruncated)
	e.requireNothingStored()
}

func dialServer(t *testing.T, url string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	return conn
}

func readResponse(t *testing.T, conn net.Conn) response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no response: the server must answer without the body")
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// A Content-Length that differs from the deal's size is refused from the
// headers alone: the test sends no body at all, so a server that tried to
// read it would never answer.
func TestContentLengthMismatchRefusedBeforeReadingTheBody(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 20*chunkSize, true)
	for _, tc := range []struct {
		length int
		status int
		code   string
	}{
		{len(data) + 1, http.StatusRequestEntityTooLarge, providerapi.CodeTooLarge},
		{len(data) - 1, http.StatusBadRequest, providerapi.CodeSizeMismatch},
		{1 << 40, http.StatusRequestEntityTooLarge, providerapi.CodeTooLarge},
	} {
		conn := dialServer(t, e.url)
		_, err := fmt.Fprintf(conn, "PUT /v1/deals/1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nAuthorization: %s\r\n\r\n", tc.length, authorization(t, owner, http.MethodPut, "/v1/deals/1", int64(tc.length)))
		require.NoError(t, err)
		resp := readResponse(t, conn)
		requireError(t, resp, tc.status, tc.code)
		require.Contains(t, string(resp.body), fmt.Sprint(tc.length))
	}
	e.requireNothingStored()
	require.Contains(t, e.scrape(), "\nstratus_provider_bytes_received_total 0\n")
}

// readTracker records whether anything read from it.
type readTracker struct {
	r    io.Reader
	mu   sync.Mutex
	read bool
}

func (rt *readTracker) Read(p []byte) (int, error) {
	rt.mu.Lock()
	rt.read = true
	rt.mu.Unlock()
	return rt.r.Read(p)
}

func (rt *readTracker) wasRead() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.read
}

func TestUploadRefusals(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(2, 3000, false) // on chain, assigned to others

	t.Run("unassigned deal is 403 and the client sends no body", func(t *testing.T) {
		requireError(t, e.put(2, data), http.StatusForbidden, providerapi.CodeNotAssigned)
		body := &readTracker{r: bytes.NewReader(data)}
		err := e.client.Upload(context.Background(), e.target(), 2, body, uint64(len(data)))
		var apiErr *providerapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusForbidden, apiErr.Status)
		require.Equal(t, providerapi.CodeNotAssigned, apiErr.Code)
		require.Contains(t, apiErr.Message, "not assigned to this provider")
		require.False(t, body.wasRead(), "the client sent the body of a refused upload")
	})
	t.Run("unknown deal is 404", func(t *testing.T) {
		requireError(t, e.put(99, data), http.StatusNotFound, providerapi.CodeUnknownDeal)
	})
	t.Run("malformed id is 400", func(t *testing.T) {
		for _, id := range []string{"abc", "-1", "1.5", "18446744073709551616"} {
			r := e.do(http.MethodPut, "/v1/deals/"+id, bytes.NewReader(data), int64(len(data)))
			requireError(t, r, http.StatusBadRequest, providerapi.CodeBadDealID)
		}
		requireError(t, e.do(http.MethodGet, "/v1/deals/abc", nil, 0), http.StatusBadRequest, providerapi.CodeBadDealID)
	})
	t.Run("unknown route and method are JSON", func(t *testing.T) {
		requireError(t, e.do(http.MethodGet, "/v1/nothing", nil, 0), http.StatusNotFound, providerapi.CodeNotFound)
		r := e.do(http.MethodDelete, "/v1/deals/2", nil, 0)
		requireError(t, r, http.StatusMethodNotAllowed, providerapi.CodeMethodNotAllowed)
		require.Contains(t, r.header.Get("Allow"), "PUT")
	})
	e.requireNothingStored()
	require.Contains(t, e.scrape(), "\nstratus_provider_uploads_total{result=\"rejected\"} 7\n")
}

func TestConcurrentUploadLimit(t *testing.T) {
	e := newEnv(t, 1)
	first, _ := e.addDeal(1, 8*chunkSize, true)
	second, _ := e.addDeal(2, 8*chunkSize, true)

	// The client waits for 100-continue, which the server sends when it
	// starts reading the body: once the pipe is read, the first upload
	// holds the only slot.
	hc := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	client := providerapi.NewClient(hc, owner)
	pr, pw := io.Pipe()
	// On failure, end the held upload so the server can shut down.
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })
	done := make(chan error, 1)
	go func() { done <- client.Upload(context.Background(), e.target(), 1, pr, uint64(len(first))) }()
	_, err := pw.Write(first[:chunkSize])
	require.NoError(t, err)

	requireError(t, e.put(2, second), http.StatusServiceUnavailable, providerapi.CodeBusy)
	r := e.put(2, second)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	require.NotEmpty(t, r.header.Get("Retry-After"))
	require.False(t, e.store.Has(2))

	_, err = pw.Write(first[chunkSize:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)

	// The slot is free again.
	require.Equal(t, http.StatusCreated, e.put(2, second).status)
	require.Equal(t, []uint64{1, 2}, e.onStoredCalls())
}

// Two uploads of one deal at once: the store needs them serialised, so the
// second is refused while the first runs.
func TestSecondUploadOfTheSameDealWhileOneRunsIsConflict(t *testing.T) {
	e := newEnv(t, 4)
	data, _ := e.addDeal(1, 8*chunkSize, true)
	hc := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	pr, pw := io.Pipe()
	// On failure, end the held upload so the server can shut down.
	t.Cleanup(func() { pw.CloseWithError(io.ErrClosedPipe) })
	done := make(chan error, 1)
	go func() {
		done <- providerapi.NewClient(hc, owner).Upload(context.Background(), e.target(), 1, pr, uint64(len(data)))
	}()
	_, err := pw.Write(data[:chunkSize])
	require.NoError(t, err)

	requireError(t, e.put(1, data), http.StatusConflict, providerapi.CodeUploadInProgress)

	_, err = pw.Write(data[chunkSize:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)
	require.Equal(t, []uint64{1}, e.onStoredCalls())
}

func TestMetricsAfterUploadDownloadAndProof(t *testing.T) {
	e := newEnv(t, 0)
	data, _ := e.addDeal(1, 10*chunkSize+5, true)
	require.Equal(t, http.StatusCreated, e.put(1, data).status)
	requireError(t, e.put(1, data[:100]), http.StatusBadRequest, providerapi.CodeSizeMismatch)
	require.Equal(t, http.StatusPartialContent, e.do(http.MethodGet, "/v1/deals/1", nil, 0, "Range", "bytes=0-99").status)
	require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/v1/deals/1/proof?leaf=2", nil, 0).status)

	text := e.scrape()
	for _, line := range []string{
		`stratus_provider_uploads_total{result="stored"} 1`,
		`stratus_provider_uploads_total{result="rejected"} 1`,
		fmt.Sprintf("stratus_provider_bytes_received_total %d", len(data)),
		"stratus_provider_deals_stored 1",
		fmt.Sprintf("stratus_provider_bytes_stored %d", len(data)),
		"stratus_provider_bytes_served_total 100",
		"stratus_provider_proofs_served_total 1",
	} {
		require.Contains(t, text, "\n"+line+"\n", "scrape lacks %q", line)
	}

	// The gauges follow the store, not just uploads: a deal the chain loop
	// deletes drops out at the next scrape.
	require.NoError(t, e.store.Delete(1))
	text = e.scrape()
	require.Contains(t, text, "\nstratus_provider_deals_stored 0\n")
	require.Contains(t, text, "\nstratus_provider_bytes_stored 0\n")
}

func TestStatus(t *testing.T) {
	e := newEnv(t, 0)
	a, _ := e.addDeal(1, 3000, true)
	b, _ := e.addDeal(2, 5000, true)
	require.Equal(t, http.StatusCreated, e.put(1, a).status)
	require.Equal(t, http.StatusCreated, e.put(2, b).status)

	r := e.do(http.MethodGet, "/v1/status", nil, 0)
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	require.JSONEq(t, `{"provider":"stratus1provider","moniker":"test-provider","version":"v0.0.0-test","deals_stored":2,"bytes_stored":8000}`, string(r.body))

	st, err := e.client.Status(context.Background(), providerapi.Target{Provider: testProvider, URL: e.url + "/"})
	require.NoError(t, err)
	require.Equal(t, providerapi.Status{Provider: "stratus1provider", Moniker: "test-provider", Version: "v0.0.0-test", DealsStored: 2, BytesStored: 8000}, st)
}

func TestNoMetricsRouteWithoutMetrics(t *testing.T) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	ts := httptest.NewServer(server.New(st, &fakeChain{}, server.Options{}).Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestJobOutputRoute(t *testing.T) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	archive := filepath.Join(t.TempDir(), "output.tar")
	content := bytes.Repeat([]byte("0123456789"), 500)
	require.NoError(t, os.WriteFile(archive, content, 0o600))
	chain := &fakeChain{jobs: map[uint64]server.JobInfo{}}
	for _, id := range []uint64{5, 7, 8, 9} {
		chain.jobs[id] = server.JobInfo{ID: id, Owner: addr(owner), Public: id == 9}
	}
	ts := httptest.NewServer(server.New(st, chain, server.Options{
		Provider: testProvider,
		JobOutput: func(_ context.Context, id uint64) (string, bool, error) {
			if id == 5 {
				return "", false, fmt.Errorf("job 5 is JOB_STATUS_COMMITTING: %w", server.ErrJobNotSettled)
			}
			return archive, id == 7 || id == 9, nil
		},
	}).Handler())
	defer ts.Close()
	e := &env{t: t, url: ts.URL}

	var buf bytes.Buffer
	require.NoError(t, providerapi.NewClient(nil, owner).JobOutput(context.Background(), e.target(), 7, &buf))
	require.Equal(t, content, buf.Bytes())
	r := e.do(http.MethodGet, "/v1/jobs/7/output", nil, 0, "Range", "bytes=10-19")
	require.Equal(t, http.StatusPartialContent, r.status)
	require.Equal(t, "0123456789", string(r.body))
	requireError(t, e.do(http.MethodGet, "/v1/jobs/7/output", nil, 0, "Range", "bytes=999999-"), http.StatusRequestedRangeNotSatisfiable, providerapi.CodeBadRange)
	requireError(t, e.do(http.MethodGet, "/v1/jobs/8/output", nil, 0), http.StatusNotFound, providerapi.CodeNoJobOutput)
	// Blind until the verdict: an open job's output is refused to everyone.
	requireError(t, e.do(http.MethodGet, "/v1/jobs/5/output", nil, 0), http.StatusForbidden, providerapi.CodeJobNotSettled)
	requireError(t, e.do(http.MethodGet, "/v1/jobs/x/output", nil, 0), http.StatusBadRequest, providerapi.CodeBadJobID)
	requireError(t, e.do(http.MethodGet, "/v1/jobs/0/output", nil, 0), http.StatusBadRequest, providerapi.CodeBadJobID)
	requireError(t, e.do(http.MethodGet, "/v1/jobs/10/output", nil, 0), http.StatusNotFound, providerapi.CodeUnknownJob)
	// A private job's output goes to its owner only; a public job's to anyone.
	requireError(t, e.doAs(nil, http.MethodGet, "/v1/jobs/7/output", nil, 0), http.StatusUnauthorized, providerapi.CodeUnauthenticated)
	requireError(t, e.doAs(stranger, http.MethodGet, "/v1/jobs/7/output", nil, 0), http.StatusForbidden, providerapi.CodeForbidden)
	buf.Reset()
	require.NoError(t, providerapi.NewClient(nil, nil).JobOutput(context.Background(), e.target(), 9, &buf))
	require.Equal(t, content, buf.Bytes())
	var apiErr *providerapi.APIError
	err = providerapi.NewClient(nil, stranger).JobOutput(context.Background(), e.target(), 7, &buf)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusForbidden, apiErr.Status)
}

func TestNoJobRoutesWithoutJobOutput(t *testing.T) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	ts := httptest.NewServer(server.New(st, &fakeChain{}, server.Options{}).Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/v1/jobs/1/output")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
