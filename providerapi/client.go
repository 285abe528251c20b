package providerapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/stratusnet/stratus/merkle"
)

// APIError is a provider's error response: its HTTP status, the machine
// code (one of the Code constants) and the human message. It is also the
// JSON body the server writes.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("provider answered %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("provider answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Largest JSON bodies the client reads: errors and status are small; a
// proof carries one chunk.
const (
	maxErrorBody = 64 << 10
	maxJSONBody  = 64 << 20
)

// Client calls providers' HTTP APIs. The SDK and peer replication use it.
// With a Signer every request is signed for the provider it goes to;
// without one it is anonymous and reaches public data only.
type Client struct {
	HTTP   *http.Client
	Signer Signer
	// Now is the clock signatures are dated by (nil: time.Now).
	Now func() time.Time
}

// NewClient returns a Client using hc (nil: http.DefaultClient) that signs
// with signer (nil: anonymous).
func NewClient(hc *http.Client, signer Signer) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{HTTP: hc, Signer: signer}
}

// Upload sends size bytes from r as deal id's data. It asks the provider
// to confirm with 100-continue first, so a refused upload (unassigned,
// unknown deal, wrong size, busy) costs no body bytes when the client's
// Transport waits for it (ExpectContinueTimeout > 0, as in
// http.DefaultTransport and HTTPClient).
func (c *Client) Upload(ctx context.Context, t Target, id uint64, r io.Reader, size uint64) error {
	return c.UploadFrom(ctx, t, id, r, size, 0)
}

// UploadFrom resumes an upload of deal id (size bytes in all) at offset:
// r carries the bytes from offset on, and the provider must hold the ones
// before (UploadState). Offset 0 is a whole upload.
func (c *Client) UploadFrom(ctx context.Context, t Target, id uint64, r io.Reader, size, offset uint64) error {
	if offset >= size && size > 0 {
		return fmt.Errorf("providerapi: resuming deal %d at byte %d of %d", id, offset, size)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.url(DealPath(id)), io.NopCloser(r))
	if err != nil {
		return err
	}
	req.ContentLength = int64(size - offset)
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Expect", "100-continue")
	if offset > 0 {
		req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, size-1, size))
	}
	resp, err := c.do(req, t)
	if err != nil {
		return err
	}
	defer drain(resp)
	var stored StoredDeal
	if err := decodeJSON(resp, &stored); err != nil {
		return err
	}
	if stored.DealID != id || stored.Size != size {
		return fmt.Errorf("providerapi: provider confirmed deal %d of %d bytes, uploaded deal %d of %d bytes", stored.DealID, stored.Size, id, size)
	}
	return nil
}

// UploadState asks a provider how many bytes of deal id a stopped upload
// left with it: the offset to resume from.
func (c *Client) UploadState(ctx context.Context, t Target, id uint64) (UploadState, error) {
	var st UploadState
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url(DealPath(id)+"/upload"), nil)
	if err != nil {
		return st, err
	}
	resp, err := c.do(req, t)
	if err != nil {
		return st, err
	}
	defer drain(resp)
	if err := decodeJSON(resp, &st); err != nil {
		return st, err
	}
	if st.DealID != id || st.Offset > st.Size {
		return st, fmt.Errorf("providerapi: asked about deal %d's upload, provider answered deal %d at %d of %d bytes", id, st.DealID, st.Offset, st.Size)
	}
	return st, nil
}

// Download writes deal id's bytes to w. The caller verifies them against
// the deal's root (merkle.Root) before trusting them.
func (c *Client) Download(ctx context.Context, t Target, id uint64, w io.Writer) error {
	return c.get(ctx, t, DealPath(id), w, fmt.Sprintf("deal %d", id))
}

// DownloadParity downloads parity shard of erasure-coded deal id from the
// provider that encoded it (the holder of shard 0), for the provider
// assigned that shard.
func (c *Client) DownloadParity(ctx context.Context, t Target, id uint64, shard int, w io.Writer) error {
	return c.get(ctx, t, ParityPath(id, shard), w, fmt.Sprintf("deal %d parity shard %d", id, shard))
}

// DownloadJobInput is Download for an executor of job: it may fetch the
// job's program and input deals, private ones included.
func (c *Client) DownloadJobInput(ctx context.Context, t Target, id, job uint64, w io.Writer) error {
	return c.get(ctx, t, DealPath(id)+"?job="+strconv.FormatUint(job, 10), w, fmt.Sprintf("deal %d (for job %d)", id, job))
}

type awaitUploadKey struct{}

// AwaitUpload marks ctx so that a Download made with it asks the provider
// to wait for an upload not started yet (HeaderAwaitUpload).
func AwaitUpload(ctx context.Context) context.Context {
	return context.WithValue(ctx, awaitUploadKey{}, true)
}

// AwaitsUpload says whether ctx was marked by AwaitUpload.
func AwaitsUpload(ctx context.Context) bool { return ctx.Value(awaitUploadKey{}) != nil }

// get writes the body of a GET of path to w, checking it is complete.
func (c *Client) get(ctx context.Context, t Target, path string, w io.Writer, what string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url(path), nil)
	if err != nil {
		return err
	}
	if AwaitsUpload(ctx) {
		req.Header.Set(HeaderAwaitUpload, "1")
	}
	resp, err := c.do(req, t)
	if err != nil {
		return err
	}
	defer drain(resp)
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return fmt.Errorf("providerapi: downloading %s: %w", what, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("%w: %s: %d of %d bytes", ErrShortResponse, what, n, resp.ContentLength)
	}
	return nil
}

// DownloadRange writes length bytes of deal id starting at offset to w.
func (c *Client) DownloadRange(ctx context.Context, t Target, id, offset, length uint64, w io.Writer) error {
	if length == 0 {
		return fmt.Errorf("providerapi: downloading deal %d: empty range at %d", id, offset)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url(DealPath(id)), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	resp, err := c.do(req, t)
	if err != nil {
		return err
	}
	defer drain(resp)
	body := resp.Body
	if resp.StatusCode == http.StatusOK { // the whole deal: skip to the range
		if _, err := io.CopyN(io.Discard, body, int64(offset)); err != nil {
			return fmt.Errorf("providerapi: downloading deal %d: %w", id, err)
		}
	}
	n, err := io.Copy(w, io.LimitReader(body, int64(length)))
	if err != nil {
		return fmt.Errorf("providerapi: downloading deal %d: %w", id, err)
	}
	if uint64(n) != length {
		return fmt.Errorf("%w: deal %d bytes %d-%d: got %d of %d", ErrShortResponse, id, offset, offset+length-1, n, length)
	}
	return nil
}

// Proof fetches leaf of deal id with its audit path and the provider's
// stated root and leaf count. It does not verify the proof: the caller
// checks it against the deal's on-chain root with merkle.VerifyProof.
func (c *Client) Proof(ctx context.Context, t Target, id, leaf uint64) (leafData []byte, path []merkle.Hash, root merkle.Hash, leaves uint64, err error) {
	u := t.url(DealPath(id) + "/proof?leaf=" + strconv.FormatUint(leaf, 10))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, root, 0, err
	}
	resp, err := c.do(req, t)
	if err != nil {
		return nil, nil, root, 0, err
	}
	defer drain(resp)
	var p Proof
	if err := decodeJSON(resp, &p); err != nil {
		return nil, nil, root, 0, err
	}
	if p.DealID != id || p.LeafIndex != leaf {
		return nil, nil, root, 0, fmt.Errorf("providerapi: asked for deal %d leaf %d, provider answered deal %d leaf %d", id, leaf, p.DealID, p.LeafIndex)
	}
	if root, err = parseHash(p.Root); err != nil {
		return nil, nil, root, 0, fmt.Errorf("providerapi: proof root: %w", err)
	}
	path = make([]merkle.Hash, len(p.AuditPath))
	for i, h := range p.AuditPath {
		if path[i], err = parseHash(h); err != nil {
			return nil, nil, root, 0, fmt.Errorf("providerapi: proof audit path[%d]: %w", i, err)
		}
	}
	return p.Leaf, path, root, p.Leaves, nil
}

// Status fetches a provider's GET /v1/status.
func (c *Client) Status(ctx context.Context, t Target) (Status, error) {
	var st Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url(PathStatus), nil)
	if err != nil {
		return st, err
	}
	resp, err := c.do(req, t)
	if err != nil {
		return st, err
	}
	defer drain(resp)
	return st, decodeJSON(resp, &st)
}

// do signs req for t's provider (with a Signer), sends it and turns a
// non-2xx answer into an *APIError.
func (c *Client) do(req *http.Request, t Target) (*http.Response, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	if c.Signer != nil {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		if err := SignRequest(req, c.Signer, t.Provider, now()); err != nil {
			return nil, err
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer drain(resp)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	apiErr := &APIError{Status: resp.StatusCode}
	if json.Unmarshal(body, apiErr) != nil || apiErr.Message == "" {
		// Not our JSON (a proxy, an old daemon): keep what it said.
		apiErr.Code = ""
		apiErr.Message = string(bytes.TrimSpace(body))
		if apiErr.Message == "" {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
	}
	return nil, apiErr
}

func decodeJSON(resp *http.Response, v any) error {
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSONBody)).Decode(v); err != nil {
		return fmt.Errorf("providerapi: reading the provider's answer to %s %s: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// drain lets the connection be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
}

func parseHash(s string) (merkle.Hash, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return merkle.Hash{}, err
	}
	return merkle.HashFromBytes(b)
}

// JobOutput writes the output archive of job id to w. The caller verifies
// it against the job's agreed output root before trusting it.
func (c *Client) JobOutput(ctx context.Context, t Target, id uint64, w io.Writer) error {
	return c.get(ctx, t, JobOutputPath(id), w, fmt.Sprintf("job %d's output", id))
}
