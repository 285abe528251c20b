package server

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/writeback"
)

// handleUpload streams an assigned deal's bytes into the store, which
// checks them against the chain's size and root and keeps nothing on
// failure.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	result := metrics.UploadRejected
	defer func() {
		if m := s.opts.Metrics; m != nil {
			m.Uploads.WithLabelValues(result).Inc()
		}
	}()

	// Until the body is streamed into the store, an answer means the body
	// is refused: close the connection instead of letting net/http read
	// what is left of it to keep the connection alive.
	w.Header().Set("Connection", "close")
	// Only the owner uploads: nobody else can take the deal's upload lock
	// or fill an upload slot with it.
	deal, ok := s.ownersAssignedDeal(w, r, "uploading deal %d")
	if !ok {
		return
	}
	id := deal.ID
	// The length is signed; a chunked body would leave the signature
	// covering no length at all.
	if r.ContentLength < 0 {
		s.fail(w, r, http.StatusLengthRequired, providerapi.CodeLengthRequired,
			fmt.Sprintf("an upload of deal %d must give its Content-Length; send the file with its size", id), nil)
		return
	}
	// A resumed upload names where it starts: Content-Range: bytes N-(size-1)/size.
	offset := uint64(0)
	if cr := r.Header.Get("Content-Range"); cr != "" {
		var err error
		if offset, err = providerapi.ParseContentRange(cr, deal.Size); err != nil {
			s.fail(w, r, http.StatusBadRequest, providerapi.CodeBadRange,
				fmt.Sprintf("Content-Range %q: %v; resume with bytes N-%d/%d, N from GET %s/upload", cr, err, deal.Size-1, deal.Size, providerapi.DealPath(id)), err)
			return
		}
	}
	// Refuse a declared wrong size before reading any of the body.
	if cl := r.ContentLength; uint64(cl) != deal.Size-offset {
		if uint64(cl) > deal.Size-offset {
			s.fail(w, r, http.StatusRequestEntityTooLarge, providerapi.CodeTooLarge,
				fmt.Sprintf("Content-Length %d is more than the %d bytes of deal %d from byte %d; send exactly the file the deal was created for", cl, deal.Size-offset, id, offset), nil)
		} else {
			s.fail(w, r, http.StatusBadRequest, providerapi.CodeSizeMismatch,
				fmt.Sprintf("Content-Length %d is less than the %d bytes of deal %d from byte %d; send the whole file the deal was created for", cl, deal.Size-offset, id, offset), nil)
		}
		return
	}
	stored := providerapi.StoredDeal{DealID: id, Root: deal.Root.String(), Size: deal.Size}
	if meta, err := s.store.Stat(id); err == nil && meta.Root == deal.Root && meta.Size == deal.Size {
		result = metrics.UploadStored
		writeJSON(w, http.StatusOK, stored)
		return
	}

	select {
	case s.uploadSlots <- struct{}{}:
		defer func() { <-s.uploadSlots }()
	default:
		w.Header().Set("Retry-After", "10")
		s.fail(w, r, http.StatusServiceUnavailable, providerapi.CodeBusy,
			fmt.Sprintf("the provider is already receiving %d uploads; retry in a few seconds", cap(s.uploadSlots)), nil)
		return
	}
	if !s.claimUpload(id) {
		s.fail(w, r, http.StatusConflict, providerapi.CodeUploadInProgress,
			fmt.Sprintf("deal %d is already being uploaded to this provider; wait for that upload to finish, then check GET /v1/deals/%d", id, id), nil)
		return
	}
	defer s.releaseUpload(id)

	expect := store.Expect{Root: deal.Root, Size: deal.Size, ChunkSize: deal.ChunkSize}
	s.prunePartials()
	// Refuse a resume past what is held before reading any of the body.
	if held := s.store.Partial(id, expect); offset > held {
		s.fail(w, r, http.StatusRequestedRangeNotSatisfiable, providerapi.CodeBadRange,
			fmt.Sprintf("this provider holds %d bytes of deal %d, not %d: resume from GET %s/upload's offset", held, id, offset, providerapi.DealPath(id)), nil)
		return
	}
	w.Header().Del("Connection")
	body := &countingReader{r: s.minRate(w, http.MaxBytesReader(w, r.Body, int64(deal.Size-offset)+1)), m: s.opts.Metrics}
	err := s.store.PutFrom(id, expect, offset, body)
	if err != nil {
		s.failPut(w, r, deal, err)
		return
	}
	if _, _, err := s.refreshGauges(); err != nil {
		s.log.Warn("reading the store for metrics failed", "err", err)
	}
	result = metrics.UploadStored
	s.log.Info("deal stored", "deal", id, "bytes", deal.Size, "root", deal.Root)
	if s.opts.OnStored != nil {
		s.opts.OnStored(id)
	}
	writeJSON(w, http.StatusCreated, stored)
}

// assignedDeal asks the chain for deal id and answers 404/403/503 unless
// the deal exists, is assigned to this provider and can be stored.
func (s *Server) assignedDeal(w http.ResponseWriter, r *http.Request, id uint64) (DealInfo, bool) {
	deal, err := s.chain.DealInfo(r.Context(), id)
	switch {
	case errors.Is(err, ErrUnknownDeal):
		s.fail(w, r, http.StatusNotFound, providerapi.CodeUnknownDeal,
			fmt.Sprintf("the chain has no deal %d; create the deal first, then upload its file", id), err)
		return DealInfo{}, false
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, providerapi.CodeChainUnavailable,
			fmt.Sprintf("the provider could not look up deal %d on the chain; retry shortly", id), err)
		return DealInfo{}, false
	case !deal.Assigned:
		s.fail(w, r, http.StatusForbidden, providerapi.CodeNotAssigned,
			fmt.Sprintf("deal %d is not assigned to this provider (%s); upload it to one of the deal's assigned providers", id, s.opts.Provider), nil)
		return DealInfo{}, false
	case deal.Size == 0 || deal.Size >= math.MaxInt64 || deal.ChunkSize <= 0:
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeBadDeal,
			fmt.Sprintf("the chain reports deal %d with size %d and chunk size %d, which cannot be stored; report this to the network's operators", id, deal.Size, deal.ChunkSize), nil)
		return DealInfo{}, false
	}
	return deal, true
}

// failPut maps a store.Put error to the response.
func (s *Server) failPut(w http.ResponseWriter, r *http.Request, deal DealInfo, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, store.ErrRootMismatch):
		s.fail(w, r, http.StatusUnprocessableEntity, providerapi.CodeRootMismatch,
			fmt.Sprintf("the uploaded bytes do not hash to deal %d's merkle root %s; upload exactly the file the deal was created for (as encrypted by the client)", deal.ID, deal.Root), err)
	case errors.Is(err, store.ErrTooLarge), errors.As(err, &tooBig):
		s.fail(w, r, http.StatusRequestEntityTooLarge, providerapi.CodeTooLarge,
			fmt.Sprintf("the body is longer than deal %d's size of %d bytes; send exactly the file the deal was created for", deal.ID, deal.Size), err)
	case errors.Is(err, errTooSlow):
		s.fail(w, r, http.StatusRequestTimeout, providerapi.CodeTooSlow,
			fmt.Sprintf("the upload of deal %d arrived slower than %d bytes a second after %s and was cut off; upload again over a faster link",
				deal.ID, s.opts.MinUploadRate, s.opts.UploadGrace), err)
	case errors.Is(err, store.ErrTruncated), errors.Is(err, io.ErrUnexpectedEOF):
		s.fail(w, r, http.StatusBadRequest, providerapi.CodeTruncated,
			fmt.Sprintf("the body ended before deal %d's %d bytes; upload the whole file again", deal.ID, deal.Size), err)
	case r.Context().Err() != nil:
		s.fail(w, r, http.StatusBadRequest, providerapi.CodeTruncated,
			fmt.Sprintf("the upload of deal %d was interrupted; upload the whole file again", deal.ID), err)
	case errors.Is(err, store.ErrOffsetMismatch):
		s.fail(w, r, http.StatusRequestedRangeNotSatisfiable, providerapi.CodeBadRange,
			fmt.Sprintf("this provider no longer holds the start of deal %d's upload; resume from GET %s/upload's offset", deal.ID, providerapi.DealPath(deal.ID)), err)
	case errors.Is(err, store.ErrBadExpect):
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeBadDeal,
			fmt.Sprintf("the chain's size or root of deal %d cannot be stored; report this to the network's operators", deal.ID), err)
	default:
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeInternal,
			fmt.Sprintf("storing deal %d failed on the provider; retry later, and the provider's operator should check its disk and logs", deal.ID), err)
	}
}

// claimUpload marks deal id as being uploaded; the store needs writes to
// one deal serialised.
func (s *Server) claimUpload(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploading[id] {
		return false
	}
	s.uploading[id] = true
	return true
}

// uploadRunning says whether an upload of deal id is in progress.
func (s *Server) uploadRunning(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploading[id]
}

func (s *Server) releaseUpload(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.uploading, id)
}

// countingReader counts upload bytes into the metrics as they arrive.
type countingReader struct {
	r io.Reader
	m *metrics.Metrics
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.m != nil && n > 0 {
		c.m.BytesReceived.Add(float64(n))
	}
	return n, err
}

// handleDownload serves a stored deal's bytes; http.ServeContent does
// Range, If-Range and If-None-Match against the root as ETag.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.dealID(w, r)
	if !ok {
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	deal, ok := s.dealInfo(w, r, id)
	if !ok {
		return
	}
	repair, ok := s.mayRead(w, r, c, deal)
	if !ok || (!deal.Public && !s.admit(w, r, c)) {
		return
	}
	f, meta, err := s.store.OpenData(id)
	if errors.Is(err, store.ErrNotFound) && !repair && c.signed() && slices.Contains(deal.Fetchers, c.addr) {
		served, waited := s.serveUpload(w, r, c, deal)
		if served {
			return
		}
		if waited {
			// The upload may have started and ended while this waited.
			f, meta, err = s.store.OpenData(id)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, providerapi.CodeNotStored,
			fmt.Sprintf("this provider does not store deal %d; download it from another of the deal's providers", id), err)
		return
	} else if err != nil {
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeInternal,
			fmt.Sprintf("the provider could not open deal %d; try another of the deal's providers", id), err)
		return
	}
	defer f.Close()
	if repair && !s.takeRepair(w, r, c, deal) {
		return
	}

	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+meta.Root.String()+`"`)
	cw := &countingWriter{ResponseWriter: s.jsonErrors(w, r, func(status int) (string, string) {
		switch status {
		case http.StatusRequestedRangeNotSatisfiable:
			return providerapi.CodeBadRange, fmt.Sprintf("the Range %q is not within deal %d's %d bytes; ask for bytes 0-%d", r.Header.Get("Range"), id, meta.Size, meta.Size-1)
		case http.StatusPreconditionFailed:
			return providerapi.CodePrecondition, fmt.Sprintf("deal %d's ETag is %q, which does not meet the request's preconditions", id, h.Get("ETag"))
		}
		return providerapi.CodeInternal, fmt.Sprintf("the provider could not send deal %d; try another of the deal's providers", id)
	})}
	// The data never changes under an id, so the root is the only validator
	// needed: no Last-Modified.
	// A deal is read whole once in a while (a get, a repair): its pages
	// need not stay in memory.
	http.ServeContent(cw, r, "", time.Time{}, writeback.NewReader(f, 0))
	if m := s.opts.Metrics; m != nil && (cw.status() == http.StatusOK || cw.status() == http.StatusPartialContent) {
		m.BytesServed.Add(float64(cw.n))
	}
}

func (s *Server) handleProof(w http.ResponseWriter, r *http.Request) {
	id, ok := s.dealID(w, r)
	if !ok {
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	deal, ok := s.dealInfo(w, r, id)
	if !ok {
		return
	}
	// Proofs go to the deal's owner only, public deals included: a provider
	// asked to prove a leaf must answer from its own copy, not from a
	// peer's proof endpoint.
	if c.addr != deal.Owner {
		s.deny(w, r, c, fmt.Sprintf("proofs of deal %d", id), "the deal's owner")
		return
	}
	if !s.admit(w, r, c) {
		return
	}
	raw := r.URL.Query().Get("leaf")
	leaf, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, providerapi.CodeBadLeaf,
			fmt.Sprintf("leaf %q is not a chunk index; ask for /v1/deals/%d/proof?leaf=N with N a decimal index from 0", raw, id), err)
		return
	}
	meta, err := s.store.Stat(id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, providerapi.CodeNotStored,
			fmt.Sprintf("this provider does not store deal %d; ask another of the deal's providers", id), err)
		return
	} else if err != nil {
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeInternal,
			fmt.Sprintf("the provider could not read deal %d; ask another of the deal's providers", id), err)
		return
	}
	leaves := merkle.LeafCount(meta.Size, meta.ChunkSize)
	if leaf >= leaves {
		s.fail(w, r, http.StatusBadRequest, providerapi.CodeLeafOutOfRange,
			fmt.Sprintf("deal %d has %d leaves; ask for a leaf from 0 to %d", id, leaves, leaves-1), nil)
		return
	}
	data, path, err := s.store.Proof(id, leaf)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, providerapi.CodeNotStored,
			fmt.Sprintf("this provider no longer stores deal %d; ask another of the deal's providers", id), err)
		return
	} else if err != nil {
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeInternal,
			fmt.Sprintf("the provider could not build a proof of deal %d leaf %d; its operator should check the store with its logs", id, leaf), err)
		return
	}
	hexPath := make([]string, len(path))
	for i, h := range path {
		hexPath[i] = h.String()
	}
	if m := s.opts.Metrics; m != nil {
		m.ProofsServed.Inc()
	}
	writeJSON(w, http.StatusOK, providerapi.Proof{
		DealID:    id,
		LeafIndex: leaf,
		Leaves:    leaves,
		Root:      meta.Root.String(),
		Leaf:      data,
		AuditPath: hexPath,
	})
}

// errTooSlow: an upload fell below Options.MinUploadRate.
var errTooSlow = errors.New("upload below the minimum rate")

// minRate cuts an upload off once its average rate since the grace period
// falls below MinUploadRate: the n-th byte must have arrived by
// start + grace + n/rate. The read deadline enforces it, so a sender that
// stops sending altogether is cut off too, and the deal's upload lock and
// slot are freed.
func (s *Server) minRate(w http.ResponseWriter, body io.Reader) io.Reader {
	return &rateReader{r: body, rc: http.NewResponseController(w), start: time.Now(),
		grace: s.opts.UploadGrace, rate: s.opts.MinUploadRate}
}

type rateReader struct {
	r     io.Reader
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	n     int64
}

func (x *rateReader) Read(p []byte) (int, error) {
	due := x.start.Add(x.grace + time.Duration(float64(x.n)/float64(x.rate)*float64(time.Second)))
	if time.Now().After(due) {
		return 0, errTooSlow
	}
	if err := x.rc.SetReadDeadline(due); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	n, err := x.r.Read(p)
	x.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, errTooSlow
	}
	return n, err
}

// handleUploadState tells the deal's owner how many bytes of a stopped
// upload this provider holds, so the upload can resume from there.
func (s *Server) handleUploadState(w http.ResponseWriter, r *http.Request) {
	deal, ok := s.ownersAssignedDeal(w, r, "the upload of deal %d")
	if !ok {
		return
	}
	id := deal.ID
	s.prunePartials()
	st := providerapi.UploadState{DealID: id, Size: deal.Size}
	if meta, err := s.store.Stat(id); err == nil && meta.Root == deal.Root {
		st.Offset, st.Stored = deal.Size, true
	} else {
		st.Offset = s.store.Partial(id, store.Expect{Root: deal.Root, Size: deal.Size, ChunkSize: deal.ChunkSize})
	}
	writeJSON(w, http.StatusOK, st)
}

// prunePartials drops stopped uploads past their time to live or over
// their space budget.
func (s *Server) prunePartials() {
	if n, err := s.store.PrunePartials(s.opts.PartialTTL, s.opts.PartialMaxBytes, time.Now(), s.uploadRunning); err != nil {
		s.log.Warn("pruning partial uploads failed", "err", err)
	} else if n > 0 {
		s.log.Info("dropped partial uploads", "count", n)
	}
}

// ownersAssignedDeal reads the {id} of a request only the deal's owner may
// make (what names it, with %d for the id), on a deal assigned to this
// provider: the signature is checked, then the chain asked, then the
// signer compared with the owner and the nonce used up. It answers the
// request itself when any of that fails.
func (s *Server) ownersAssignedDeal(w http.ResponseWriter, r *http.Request, what string) (DealInfo, bool) {
	id, ok := s.dealID(w, r)
	if !ok {
		return DealInfo{}, false
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return DealInfo{}, false
	}
	deal, ok := s.assignedDeal(w, r, id)
	if !ok {
		return DealInfo{}, false
	}
	if c.addr != deal.Owner {
		s.deny(w, r, c, fmt.Sprintf(what, id), "the deal's owner "+deal.Owner)
		return DealInfo{}, false
	}
	if !s.admit(w, r, c) {
		return DealInfo{}, false
	}
	return deal, true
}

// handleParity serves a parity shard this provider computed as the
// encoder of an erasure-coded deal (the holder of its shard 0), to the
// provider assigned that shard or to the owner. The shard is checked
// against its root by whoever fetches it, as every shard is.
func (s *Server) handleParity(w http.ResponseWriter, r *http.Request) {
	id, ok := s.dealID(w, r)
	if !ok {
		return
	}
	shard, err := strconv.Atoi(r.PathValue("shard"))
	if err != nil || shard < 0 {
		s.fail(w, r, http.StatusBadRequest, providerapi.CodeBadShard,
			fmt.Sprintf("parity shard %q: want a shard number", r.PathValue("shard")), err)
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	deal, ok := s.dealInfo(w, r, id)
	if !ok {
		return
	}
	if want, assigned := deal.ShardFetchers[c.addr]; !(c.signed() && (c.addr == deal.Owner || (assigned && want == shard))) {
		s.deny(w, r, c, fmt.Sprintf("parity shard %d of deal %d", shard, id), "the provider assigned that shard")
		return
	}
	if !s.admit(w, r, c) {
		return
	}
	f, err := os.Open(s.store.StagedShardPath(id, shard))
	if err != nil {
		s.fail(w, r, http.StatusNotFound, providerapi.CodeNotStored,
			fmt.Sprintf("parity shard %d of deal %d is not staged here (yet); rebuild it from the deal's data shards", shard, id), err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeInternal, "reading the staged shard failed", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	_, _ = io.Copy(w, writeback.NewReader(f, 0)) // read once, by its holder
}

// serveUpload sends a provider assigned another slot of the deal the
// owner's upload to this provider while it arrives (store.Follow), so
// replication overlaps the upload instead of waiting for it to be stored
// and committed. It says served false, having written nothing, when no
// upload of the deal runs here, after waiting for one to start when the
// fetcher asked to (waited; mayAwaitUpload). The fetcher's store checks every byte against the
// root as for any fetch; if the upload fails, the response is cut short,
// and the last byte is only sent once the upload passed its own check.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, c caller, deal DealInfo) (served, waited bool) {
	expect := store.Expect{Root: deal.Root, Size: deal.Size, ChunkSize: deal.ChunkSize}
	rc, err := s.store.Follow(r.Context(), deal.ID, expect)
	if errors.Is(err, store.ErrNoUpload) && s.mayAwaitUpload(r, c, deal) {
		waited = true
		ok := s.store.AwaitUpload(r.Context(), deal.ID, s.opts.UploadWait)
		<-s.uploadWaiters
		if ok {
			rc, err = s.store.Follow(r.Context(), deal.ID, expect)
		}
	}
	if err != nil {
		return false, waited
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatUint(deal.Size, 10))
	h.Set(providerapi.HeaderUploadInProgress, "true")
	if r.Method == http.MethodHead {
		return true, waited // the headers say it all; do not hold the request for the upload
	}
	s.log.Info("sending an upload in progress to a replicating provider", "deal", deal.ID, "to", c.addr)
	n, err := io.Copy(w, rc)
	if m := s.opts.Metrics; m != nil {
		m.BytesServed.Add(float64(n))
	}
	if err != nil {
		// The status line is out: all that is left is to end the response
		// short, which the fetcher sees as a truncated body.
		s.log.Warn("the upload being sent to a replicating provider stopped", "deal", deal.ID, "to", c.addr, "bytes", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return true, waited
}

// mayAwaitUpload says whether a fetch of a deal nobody uploads yet may wait
// for its upload (Options.UploadWait): a GET that asks to
// (HeaderAwaitUpload), its nonce used up like any signed request whose
// signature matters, and a place among the maxUploadWaiters requests
// waiting at once. It takes that place; the caller gives it back.
func (s *Server) mayAwaitUpload(r *http.Request, c caller, deal DealInfo) bool {
	if r.Method != http.MethodGet || s.opts.UploadWait <= 0 || r.Header.Get(providerapi.HeaderAwaitUpload) == "" {
		return false
	}
	if deal.Public && s.verifier.Consume(c.creds) != nil {
		return false // replayed (a private deal's request used its nonce already)
	}
	select {
	case s.uploadWaiters <- struct{}{}:
		return true
	default:
		return false // answered at once, as without the header
	}
}
