package server

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/store"
)

// StoredDeal is the body of a successful PUT /v1/deals/{id}.
type StoredDeal struct {
	DealID uint64 `json:"deal_id"`
	Root   string `json:"root"` // hex
	Size   uint64 `json:"size"`
}

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
	id, ok := s.dealID(w, r)
	if !ok {
		return
	}
	deal, ok := s.assignedDeal(w, r, id)
	if !ok {
		return
	}
	// Refuse a declared wrong size before reading any of the body.
	if cl := r.ContentLength; cl >= 0 && uint64(cl) != deal.Size {
		if uint64(cl) > deal.Size {
			s.fail(w, r, http.StatusRequestEntityTooLarge, CodeTooLarge,
				fmt.Sprintf("Content-Length %d is more than deal %d's size of %d bytes; send exactly the file the deal was created for", cl, id, deal.Size), nil)
		} else {
			s.fail(w, r, http.StatusBadRequest, CodeSizeMismatch,
				fmt.Sprintf("Content-Length %d is less than deal %d's size of %d bytes; send the whole file the deal was created for", cl, id, deal.Size), nil)
		}
		return
	}
	stored := StoredDeal{DealID: id, Root: deal.Root.String(), Size: deal.Size}
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
		s.fail(w, r, http.StatusServiceUnavailable, CodeBusy,
			fmt.Sprintf("the provider is already receiving %d uploads; retry in a few seconds", cap(s.uploadSlots)), nil)
		return
	}
	if !s.claimUpload(id) {
		s.fail(w, r, http.StatusConflict, CodeUploadInProgress,
			fmt.Sprintf("deal %d is already being uploaded to this provider; wait for that upload to finish, then check GET /v1/deals/%d", id, id), nil)
		return
	}
	defer s.releaseUpload(id)

	w.Header().Del("Connection")
	body := &countingReader{r: http.MaxBytesReader(w, r.Body, int64(deal.Size)+1), m: s.opts.Metrics}
	err := s.store.Put(id, store.Expect{Root: deal.Root, Size: deal.Size, ChunkSize: deal.ChunkSize}, body)
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
		s.fail(w, r, http.StatusNotFound, CodeUnknownDeal,
			fmt.Sprintf("the chain has no deal %d; create the deal first, then upload its file", id), err)
		return DealInfo{}, false
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, CodeChainUnavailable,
			fmt.Sprintf("the provider could not look up deal %d on the chain; retry shortly", id), err)
		return DealInfo{}, false
	case !deal.Assigned:
		s.fail(w, r, http.StatusForbidden, CodeNotAssigned,
			fmt.Sprintf("deal %d is not assigned to this provider (%s); upload it to one of the deal's assigned providers", id, s.opts.Provider), nil)
		return DealInfo{}, false
	case deal.Size == 0 || deal.Size >= math.MaxInt64 || deal.ChunkSize <= 0:
		s.fail(w, r, http.StatusInternalServerError, CodeBadDeal,
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
		s.fail(w, r, http.StatusUnprocessableEntity, CodeRootMismatch,
			fmt.Sprintf("the uploaded bytes do not hash to deal %d's merkle root %s; upload exactly the file the deal was created for (as encrypted by the client)", deal.ID, deal.Root), err)
	case errors.Is(err, store.ErrTooLarge), errors.As(err, &tooBig):
		s.fail(w, r, http.StatusRequestEntityTooLarge, CodeTooLarge,
			fmt.Sprintf("the body is longer than deal %d's size of %d bytes; send exactly the file the deal was created for", deal.ID, deal.Size), err)
	case errors.Is(err, store.ErrTruncated), errors.Is(err, io.ErrUnexpectedEOF):
		s.fail(w, r, http.StatusBadRequest, CodeTruncated,
			fmt.Sprintf("the body ended before deal %d's %d bytes; upload the whole file again", deal.ID, deal.Size), err)
	case r.Context().Err() != nil:
		s.fail(w, r, http.StatusBadRequest, CodeTruncated,
			fmt.Sprintf("the upload of deal %d was interrupted; upload the whole file again", deal.ID), err)
	case errors.Is(err, store.ErrBadExpect):
		s.fail(w, r, http.StatusInternalServerError, CodeBadDeal,
			fmt.Sprintf("the chain's size or root of deal %d cannot be stored; report this to the network's operators", deal.ID), err)
	default:
		s.fail(w, r, http.StatusInternalServerError, CodeInternal,
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
	f, meta, err := s.store.OpenData(id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, CodeNotStored,
			fmt.Sprintf("this provider does not store deal %d; download it from another of the deal's providers", id), err)
		return
	} else if err != nil {
		s.fail(w, r, http.StatusInternalServerError, CodeInternal,
			fmt.Sprintf("the provider could not open deal %d; try another of the deal's providers", id), err)
		return
	}
	defer f.Close()

	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+meta.Root.String()+`"`)
	cw := &countingWriter{ResponseWriter: s.jsonErrors(w, r, func(status int) (string, string) {
		switch status {
		case http.StatusRequestedRangeNotSatisfiable:
			return CodeBadRange, fmt.Sprintf("the Range %q is not within deal %d's %d bytes; ask for bytes 0-%d", r.Header.Get("Range"), id, meta.Size, meta.Size-1)
		case http.StatusPreconditionFailed:
			return CodePrecondition, fmt.Sprintf("deal %d's ETag is %q, which does not meet the request's preconditions", id, h.Get("ETag"))
		}
		return CodeInternal, fmt.Sprintf("the provider could not send deal %d; try another of the deal's providers", id)
	})}
	// The data never changes under an id, so the root is the only validator
	// needed: no Last-Modified.
	http.ServeContent(cw, r, "", time.Time{}, f)
	if m := s.opts.Metrics; m != nil && (cw.status() == http.StatusOK || cw.status() == http.StatusPartialContent) {
		m.BytesServed.Add(float64(cw.n))
	}
}

// Proof is the body of GET /v1/deals/{id}/proof: leaf LeafIndex of the
// deal's tree of Leaves leaves and its audit path, enough to check against
// the on-chain root with merkle.VerifyProof.
type Proof struct {
	DealID    uint64   `json:"deal_id"`
	LeafIndex uint64   `json:"leaf_index"`
	Leaves    uint64   `json:"leaves"`
	Root      string   `json:"root"`       // hex
	Leaf      []byte   `json:"leaf"`       // base64
	AuditPath []string `json:"audit_path"` // hex, leaf to root
}

func (s *Server) handleProof(w http.ResponseWriter, r *http.Request) {
	id, ok := s.dealID(w, r)
	if !ok {
		return
	}
	raw := r.URL.Query().Get("leaf")
	leaf, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, CodeBadLeaf,
			fmt.Sprintf("leaf %q is not a chunk index; ask for /v1/deals/%d/proof?leaf=N with N a decimal index from 0", raw, id), err)
		return
	}
	meta, err := s.store.Stat(id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, CodeNotStored,
			fmt.Sprintf("this provider does not store deal %d; ask another of the deal's providers", id), err)
		return
	} else if err != nil {
		s.fail(w, r, http.StatusInternalServerError, CodeInternal,
			fmt.Sprintf("the provider could not read deal %d; ask another of the deal's providers", id), err)
		return
	}
	leaves := merkle.LeafCount(meta.Size, meta.ChunkSize)
	if leaf >= leaves {
		s.fail(w, r, http.StatusBadRequest, CodeLeafOutOfRange,
			fmt.Sprintf("deal %d has %d leaves; ask for a leaf from 0 to %d", id, leaves, leaves-1), nil)
		return
	}
	data, path, err := s.store.Proof(id, leaf)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, CodeNotStored,
			fmt.Sprintf("this provider no longer stores deal %d; ask another of the deal's providers", id), err)
		return
	} else if err != nil {
		s.fail(w, r, http.StatusInternalServerError, CodeInternal,
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
	writeJSON(w, http.StatusOK, Proof{
		DealID:    id,
		LeafIndex: leaf,
		Leaves:    leaves,
		Root:      meta.Root.String(),
		Leaf:      data,
		AuditPath: hexPath,
	})
}
