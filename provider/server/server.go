// Package server is the provider daemon's HTTP API: the routes of package
// providerapi, served from the provider's store with access decided from
// chain state.
//
// Uploads are verified against the deal's on-chain size and root while they
// stream into the store; a rejected upload leaves nothing behind. A request
// is authenticated (its signature checked) before anything else, and
// authorized before any upload slot or deal lock is taken. Every error
// response is JSON (providerapi.APIError and the Code constants).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
)

// ErrUnknownDeal is wrapped by a Chain's error for a deal the chain has no
// record of.
var ErrUnknownDeal = errors.New("deal unknown to the chain")

// ErrUnknownJob is wrapped by a Chain's error for a job the chain has no
// record of.
var ErrUnknownJob = errors.New("job unknown to the chain")

// DealInfo is what the chain says about a deal: what its bytes must be and
// who may read them.
type DealInfo struct {
	ID     uint64
	Owner  string
	Public bool
	// Root and Size name the bytes this provider holds of the deal: its
	// slot's shard of an erasure-coded deal (Erasure), numbered Shard, or
	// the whole file of a replicated one.
	Root      merkle.Hash
	Size      uint64
	ChunkSize int
	Shard     int
	Erasure   bool
	// ShardFetchers maps each provider assigned an uncommitted slot to the
	// shard it must fetch: the one parity shard this provider may hand it.
	ShardFetchers map[string]int
	// Assigned: this provider holds or must fetch a slot of the deal.
	Assigned bool
	// Fetchers are the providers assigned a slot they have not committed
	// yet: they fetch the deal from a peer.
	Fetchers []string
	// Holders are the providers with a committed replica (leaving ones
	// included): they may fetch the deal again to repair a damaged copy,
	// at most Options.RepairFetchesPerHour times an hour from this
	// provider.
	Holders []string
	// Encoder is the committed holder of shard 0 of an erasure-coded deal
	// while a parity slot is still assigned: it fetches the other data
	// shards to compute the parity, which is not a repair (empty when
	// there is none).
	Encoder string
}

// JobInfo is what the chain says about a job, for access to its data.
type JobInfo struct {
	ID     uint64
	Owner  string
	Public bool
	// Executors are the providers that still have to run the job (assigned,
	// not yet committed, the job open): they may fetch what it reads.
	Executors []string
	// Reads are the deals the job reads: its program deal and its inputs.
	Reads []uint64
}

// Chain answers questions about deals and jobs from chain state.
type Chain interface {
	// DealInfo returns deal id, or an error wrapping ErrUnknownDeal if the
	// chain has no such deal.
	DealInfo(ctx context.Context, id uint64) (DealInfo, error)
	// JobInfo returns job id, or an error wrapping ErrUnknownJob if the
	// chain has no such job.
	JobInfo(ctx context.Context, id uint64) (JobInfo, error)
}

// DefaultMaxConcurrentUploads is used when Options.MaxConcurrentUploads is
// not positive.
const DefaultMaxConcurrentUploads = 4

// Options configure a Server. Zero values are usable.
type Options struct {
	Provider string // the provider's bech32 address
	Moniker  string
	Version  string
	Logger   *slog.Logger     // nil: discard
	Metrics  *metrics.Metrics // nil: no metrics and no /metrics route
	// OnStored is called with a deal's id once the deal is newly stored
	// and verified, before the upload's response is written, so the chain
	// loop can commit the replica. It must not block.
	OnStored func(id uint64)
	// MaxConcurrentUploads bounds uploads in progress; more get 503.
	MaxConcurrentUploads int
	// JobOutput gives the path of a compute job's output archive this
	// provider produced (nil: no /v1/jobs routes). It returns an error
	// wrapping ErrJobNotSettled while the job's verdict is not final: a
	// result stays blind until then, or a co-executor could copy it.
	JobOutput func(ctx context.Context, id uint64) (path string, ok bool, err error)
	// MinUploadRate is the slowest average rate, in bytes per second, at
	// which an upload may arrive once UploadGrace has passed; a slower
	// sender is cut off and frees the deal for another upload (0:
	// DefaultMinUploadRate).
	MinUploadRate int64
	// UploadGrace is how long an upload may send nothing at all before
	// the rate applies (0: DefaultUploadGrace).
	UploadGrace time.Duration
	// RepairFetchesPerHour bounds the private deals one committed holder
	// may fetch again from this provider in an hour (0:
	// DefaultRepairFetchesPerHour). Repair is rare; a provider that deleted
	// its replicas and fetches the samples' deals from peers every window
	// needs many more.
	RepairFetchesPerHour int
	// PartialTTL and PartialMaxBytes bound stopped uploads kept for a
	// resume: by age, and by their bytes together (0: the defaults).
	PartialTTL      time.Duration
	PartialMaxBytes uint64
	// UsageRefresh is how long GET /v1/status and /metrics reuse the
	// store's counts before counting again (0: DefaultUsageRefresh;
	// negative: every request). Counting reads every stored deal's header,
	// so anyone asking often must not make the provider do it each time.
	UsageRefresh time.Duration
	// Now is the clock request signatures are checked against (nil:
	// time.Now).
	Now func() time.Time
	// UploadWait is how long a fetch by a provider assigned a deal, of a
	// deal not stored here and not being uploaded yet, waits for its
	// owner's upload to start and follows it (0: DefaultUploadWait;
	// negative: 404 at once).
	UploadWait time.Duration
}

// Defaults of Options.
const (
	DefaultMinUploadRate        = 256 << 10
	DefaultUploadGrace          = 30 * time.Second
	DefaultRepairFetchesPerHour = 6
	DefaultPartialTTL           = 6 * time.Hour
	DefaultPartialMaxBytes      = 16 << 30
	DefaultUsageRefresh         = 10 * time.Second
	DefaultUploadWait           = 5 * time.Second
)

// maxUploadWaiters bounds the fetches waiting for an upload to start at
// once; more are answered at once. Each is a signed request of a provider
// assigned the deal, asked on its first try of a deal only.
const maxUploadWaiters = 64

// Server serves one provider's store over HTTP.
type Server struct {
	store *store.Store
	chain Chain
	opts  Options
	log   *slog.Logger

	verifier    *providerapi.Verifier
	repairs     *repairBudget
	uploadSlots chan struct{}
	// uploadWaiters holds a place for each fetch waiting for an upload to
	// start (Options.UploadWait).
	uploadWaiters chan struct{}
	mu            sync.Mutex
	uploading     map[uint64]bool // deals with an upload in progress

	usageMu    sync.Mutex
	usageAt    time.Time
	usageDeals int
	usageBytes uint64
}

// New creates a Server over st, checking uploads against chain.
func New(st *store.Store, chain Chain, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConcurrentUploads <= 0 {
		opts.MaxConcurrentUploads = DefaultMaxConcurrentUploads
	}
	if opts.MinUploadRate <= 0 {
		opts.MinUploadRate = DefaultMinUploadRate
	}
	if opts.UploadGrace <= 0 {
		opts.UploadGrace = DefaultUploadGrace
	}
	if opts.UploadWait == 0 {
		opts.UploadWait = DefaultUploadWait
	}
	if opts.RepairFetchesPerHour <= 0 {
		opts.RepairFetchesPerHour = DefaultRepairFetchesPerHour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PartialTTL <= 0 {
		opts.PartialTTL = DefaultPartialTTL
	}
	if opts.PartialMaxBytes == 0 {
		opts.PartialMaxBytes = DefaultPartialMaxBytes
	}
	if opts.UsageRefresh == 0 {
		opts.UsageRefresh = DefaultUsageRefresh
	}
	s := &Server{
		store:         st,
		chain:         chain,
		opts:          opts,
		log:           opts.Logger,
		verifier:      providerapi.NewVerifier(opts.Provider, opts.Now),
		repairs:       newRepairBudget(opts.RepairFetchesPerHour),
		uploadSlots:   make(chan struct{}, opts.MaxConcurrentUploads),
		uploadWaiters: make(chan struct{}, maxUploadWaiters),
		uploading:     make(map[uint64]bool),
	}
	if _, _, err := s.refreshGauges(); err != nil {
		s.log.Warn("reading the store for metrics failed", "err", err)
	}
	return s
}

// Handler returns the API's routes with request logging and JSON errors.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.handleStatus)
	mux.HandleFunc("PUT /v1/deals/{id}", s.handleUpload)
	mux.HandleFunc("GET /v1/deals/{id}", s.handleDownload)
	mux.HandleFunc("GET /v1/deals/{id}/proof", s.handleProof)
	mux.HandleFunc("GET /v1/deals/{id}/upload", s.handleUploadState)
	mux.HandleFunc("GET /v1/deals/{id}/parity/{shard}", s.handleParity)
	if s.opts.JobOutput != nil {
		mux.HandleFunc("GET /v1/jobs/{id}/output", s.handleJobOutput)
	}
	if s.opts.Metrics != nil {
		mux.HandleFunc("GET /metrics", s.handleMetrics)
	}
	return s.logRequests(s.jsonRouteErrors(mux))
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	deals, bytes, err := s.usage()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeInternal,
			"the provider could not read its store; its operator should check the disk and the daemon's logs", err)
		return
	}
	writeJSON(w, http.StatusOK, providerapi.Status{
		Provider:    s.opts.Provider,
		Moniker:     s.opts.Moniker,
		Version:     s.opts.Version,
		DealsStored: deals,
		BytesStored: bytes,
	})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if _, _, err := s.usage(); err != nil {
		s.log.Warn("reading the store for metrics failed", "err", err)
	}
	s.opts.Metrics.Handler().ServeHTTP(w, r)
}

// refreshGauges counts the stored deals and their bytes and, with metrics
// on, sets the gauges from them. The store is the truth: the chain loop
// may delete deals behind the server's back.
func (s *Server) refreshGauges() (deals int, bytes uint64, err error) {
	deals, bytes, err = s.store.Usage()
	if err != nil {
		return 0, 0, err
	}
	s.usageMu.Lock()
	s.usageAt, s.usageDeals, s.usageBytes = time.Now(), deals, bytes
	s.usageMu.Unlock()
	if m := s.opts.Metrics; m != nil {
		m.DealsStored.Set(float64(deals))
		m.BytesStored.Set(float64(bytes))
	}
	return deals, bytes, nil
}

// usage is refreshGauges at most once per Options.UsageRefresh.
func (s *Server) usage() (int, uint64, error) {
	s.usageMu.Lock()
	fresh := s.opts.UsageRefresh > 0 && !s.usageAt.IsZero() && time.Since(s.usageAt) < s.opts.UsageRefresh
	deals, bytes := s.usageDeals, s.usageBytes
	s.usageMu.Unlock()
	if fresh {
		return deals, bytes, nil
	}
	return s.refreshGauges()
}

// dealID parses the {id} path value, answering 400 if it is not a deal id.
func (s *Server) dealID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	raw := r.PathValue("id")
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, providerapi.CodeBadDealID,
			fmt.Sprintf("%q is not a deal id; use the deal's decimal number, e.g. /v1/deals/42", raw), err)
		return 0, false
	}
	return id, true
}

// fail logs a failed request at warn and writes the JSON error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string, err error) {
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "code", code, "remote", r.RemoteAddr}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	s.log.Warn(msg, attrs...)
	writeJSON(w, status, providerapi.APIError{Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only our own types are written; they always marshal
		panic(err)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// logRequests logs every request at debug once it is answered.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		cw := &countingWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", cw.status(),
			"bytes", cw.n, "duration", time.Since(start), "remote", r.RemoteAddr)
	})
}

// jsonRouteErrors turns the mux's plain-text 404 and 405 into JSON errors.
func (s *Server) jsonRouteErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(s.jsonErrors(w, r, func(status int) (string, string) {
			switch status {
			case http.StatusNotFound:
				return providerapi.CodeNotFound, fmt.Sprintf("there is no %s; the API is GET /v1/status, PUT and GET /v1/deals/{id}, GET /v1/deals/{id}/proof?leaf=N and GET /metrics", r.URL.Path)
			case http.StatusMethodNotAllowed:
				return providerapi.CodeMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, w.Header().Get("Allow"))
			}
			return "", ""
		}), r)
	})
}

// jsonErrors wraps w so that an error status written by a standard library
// helper (the mux, http.ServeContent) is replaced by our JSON error, with
// the code and message describe returns; describe returns an empty code
// to let a status through unchanged.
func (s *Server) jsonErrors(w http.ResponseWriter, r *http.Request, describe func(status int) (code, msg string)) http.ResponseWriter {
	return &errorRewriter{ResponseWriter: w, rewrite: func(status int) bool {
		code, msg := describe(status)
		if code == "" {
			return false
		}
		s.fail(w, r, status, code, msg, nil)
		return true
	}}
}

type errorRewriter struct {
	http.ResponseWriter
	rewrite   func(status int) bool
	rewritten bool
}

func (e *errorRewriter) WriteHeader(status int) {
	if status >= 400 && e.rewrite(status) {
		e.rewritten = true
		return
	}
	e.ResponseWriter.WriteHeader(status)
}

func (e *errorRewriter) Write(p []byte) (int, error) {
	if e.rewritten {
		return len(p), nil // the helper's plain-text body
	}
	return e.ResponseWriter.Write(p)
}

func (e *errorRewriter) ReadFrom(r io.Reader) (int64, error) {
	if e.rewritten {
		return io.Copy(io.Discard, r)
	}
	return readFrom(e.ResponseWriter, r)
}

func (e *errorRewriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// countingWriter counts body bytes written and remembers the status.
type countingWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (c *countingWriter) WriteHeader(status int) {
	if c.code == 0 {
		c.code = status
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's sendfile path for downloads.
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	n, err := readFrom(c.ResponseWriter, r)
	c.n += n
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *countingWriter) status() int {
	if c.code == 0 {
		return http.StatusOK
	}
	return c.code
}

// readFrom copies r into w with w's own ReadFrom when it has one.
func readFrom(w http.ResponseWriter, r io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w}, r)
}

// writerOnly hides a writer's ReadFrom so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }
