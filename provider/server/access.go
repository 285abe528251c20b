package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/stratusnet/stratus/providerapi"
)

// caller is who sent a request: the signer's address, or "" when the
// request is not signed.
type caller struct {
	addr  string
	creds providerapi.Credentials
}

func (c caller) signed() bool { return c.addr != "" }

// authenticate checks a request's signature if it has one. A request with
// a bad, expired or replayed signature is answered 401 and stops here,
// even for public data: a client that signs expects to be recognised.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	creds, err := s.verifier.Verify(r)
	switch {
	case errors.Is(err, providerapi.ErrNoCredentials):
		return caller{}, true
	case errors.Is(err, providerapi.ErrExpired):
		s.fail(w, r, http.StatusUnauthorized, providerapi.CodeExpiredSignature,
			"the request's signature is too old or dated in the future; check this computer's clock and send it again", err)
		return caller{}, false
	case err != nil:
		s.fail(w, r, http.StatusUnauthorized, providerapi.CodeBadSignature,
			fmt.Sprintf("the request's signature does not verify (%v); sign it with the %s scheme for provider %s", err, providerapi.AuthScheme, s.opts.Provider), err)
		return caller{}, false
	}
	return caller{addr: creds.Signer().String(), creds: creds}, true
}

// admit uses up a signed request's nonce once the request is authorized,
// answering 401 for a replay. Only requests whose signature matters come
// here: one for something anyone may read would be harmless to replay, and
// recording it would let anyone fill the replay cache.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c caller) bool {
	if !c.signed() {
		return true
	}
	err := s.verifier.Consume(c.creds)
	switch {
	case errors.Is(err, providerapi.ErrReplayed):
		s.fail(w, r, http.StatusUnauthorized, providerapi.CodeReplayed,
			"this signed request was already used; sign every request afresh", err)
		return false
	case err != nil:
		w.Header().Set("Retry-After", "5")
		s.fail(w, r, http.StatusServiceUnavailable, providerapi.CodeBusy,
			"the provider is answering too many signed requests; retry in a few seconds", err)
		return false
	}
	return true
}

// deny answers 401 to an unsigned request and 403 to a signed one.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, c caller, what, who string) {
	if !c.signed() {
		s.fail(w, r, http.StatusUnauthorized, providerapi.CodeUnauthenticated,
			fmt.Sprintf("%s is private: sign the request with the key of %s", what, who), nil)
		return
	}
	s.fail(w, r, http.StatusForbidden, providerapi.CodeForbidden,
		fmt.Sprintf("%s is private and %s is not %s", what, c.addr, who), nil)
}

// dealInfo asks the chain for deal id, answering 404 or 503 on failure.
func (s *Server) dealInfo(w http.ResponseWriter, r *http.Request, id uint64) (DealInfo, bool) {
	deal, err := s.chain.DealInfo(r.Context(), id)
	switch {
	case errors.Is(err, ErrUnknownDeal):
		s.fail(w, r, http.StatusNotFound, providerapi.CodeUnknownDeal,
			fmt.Sprintf("the chain has no deal %d (it may have ended); check the deal id", id), err)
		return DealInfo{}, false
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, providerapi.CodeChainUnavailable,
			fmt.Sprintf("the provider could not look up deal %d on the chain; retry shortly", id), err)
		return DealInfo{}, false
	}
	return deal, true
}

// mayRead decides who may download a deal's bytes: anyone when it is
// public; its owner; a provider holding or assigned a slot of it (to
// replicate); and, with ?job=N, an executor of job N that reads the deal.
//
// Providers and executors get the whole deal only, never a Range: a
// provider that kept only the deal's Merkle tree (a thirtieth of it) could
// otherwise fetch just the leaf it is challenged on from a peer, every
// window, and be paid for storage it does not keep. A whole download per
// sample costs it far more than the disk it saves (x/storage spec,
// "Outsourcing").
func (s *Server) mayRead(w http.ResponseWriter, r *http.Request, c caller, deal DealInfo) (repair, ok bool) {
	if deal.Public || (c.signed() && c.addr == deal.Owner) {
		return false, true
	}
	repair, ok = s.entitledFetcher(w, r, c, deal)
	if !ok {
		return false, false
	}
	if r.Header.Get("Range") != "" {
		s.fail(w, r, http.StatusForbidden, providerapi.CodeRangeNotAllowed,
			fmt.Sprintf("deal %d is private: only its owner may download parts of it; a provider or executor fetches the whole deal", deal.ID), nil)
		return false, false
	}
	return repair, true
}

// takeRepair spends one of a committed holder's repair fetches, answering
// 429 when it has none left. It is called once the fetch is sure to be
// served (authorized, admitted, the data open), so refused or replayed
// requests cost the holder nothing.
func (s *Server) takeRepair(w http.ResponseWriter, r *http.Request, c caller, deal DealInfo) bool {
	if s.repairs.take(c.addr, s.opts.Now()) {
		return true
	}
	w.Header().Set("Retry-After", "600")
	s.fail(w, r, http.StatusTooManyRequests, providerapi.CodeRepairLimit,
		fmt.Sprintf("%s holds a committed replica of deal %d and has fetched %d deals again from this provider in the last hour; a provider keeps its replicas", c.addr, deal.ID, s.opts.RepairFetchesPerHour), nil)
	return false
}

// entitledFetcher says whether c may fetch a private deal it does not own:
// as one of its providers (repair: a committed holder fetching again), or
// as an executor of the job named by ?job=N that reads it. It answers the
// request when not.
func (s *Server) entitledFetcher(w http.ResponseWriter, r *http.Request, c caller, deal DealInfo) (repair, ok bool) {
	if c.signed() && slices.Contains(deal.Fetchers, c.addr) {
		return false, true
	}
	if c.signed() && deal.Encoder != "" && c.addr == deal.Encoder {
		// Shard 0's holder computing the parity of slots still assigned:
		// a duty, not a repair. The window closes when they commit.
		return false, true
	}
	if c.signed() && slices.Contains(deal.Holders, c.addr) {
		// A committed holder already had the deal: fetching it again is a
		// repair, and repairs are rationed.
		return true, true
	}
	raw := r.URL.Query().Get("job")
	if raw == "" || !c.signed() {
		s.deny(w, r, c, fmt.Sprintf("deal %d", deal.ID), "its owner or one of its providers")
		return false, false
	}
	jobID, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || jobID == 0 {
		s.fail(w, r, http.StatusBadRequest, providerapi.CodeBadJobID, fmt.Sprintf("job %q is not a job id (a positive integer)", raw), err)
		return false, false
	}
	job, ok := s.jobInfo(w, r, jobID)
	if !ok {
		return false, false
	}
	if !slices.Contains(job.Reads, deal.ID) || !slices.Contains(job.Executors, c.addr) {
		s.deny(w, r, c, fmt.Sprintf("deal %d", deal.ID), fmt.Sprintf("an executor of job %d, which reads it", jobID))
		return false, false
	}
	return false, true
}

// jobInfo asks the chain for job id, answering 404 or 503 on failure.
func (s *Server) jobInfo(w http.ResponseWriter, r *http.Request, id uint64) (JobInfo, bool) {
	job, err := s.chain.JobInfo(r.Context(), id)
	switch {
	case errors.Is(err, ErrUnknownJob):
		s.fail(w, r, http.StatusNotFound, providerapi.CodeUnknownJob,
			fmt.Sprintf("the chain has no job %d; check the job id", id), err)
		return JobInfo{}, false
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, providerapi.CodeChainUnavailable,
			fmt.Sprintf("the provider could not look up job %d on the chain; retry shortly", id), err)
		return JobInfo{}, false
	}
	return job, true
}

// repairBudget is a token bucket per committed holder: RepairFetchesPerHour
// tokens, refilled evenly over the hour.
type repairBudget struct {
	mu      sync.Mutex
	perHour int
	tokens  map[string]float64
	last    map[string]time.Time
}

func newRepairBudget(perHour int) *repairBudget {
	return &repairBudget{perHour: perHour, tokens: map[string]float64{}, last: map[string]time.Time{}}
}

// take spends one of who's tokens, if it has one.
func (b *repairBudget) take(who string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	full := float64(b.perHour)
	t, seen := b.tokens[who]
	if !seen {
		t = full
	} else {
		t = min(full, t+now.Sub(b.last[who]).Hours()*full)
	}
	b.last[who] = now
	if t < 1 {
		b.tokens[who] = t
		return false
	}
	b.tokens[who] = t - 1
	// Forget holders whose bucket is full again, so the map stays small.
	if len(b.tokens) > 4096 {
		for k, v := range b.tokens {
			if v+now.Sub(b.last[k]).Hours()*full >= full {
				delete(b.tokens, k)
				delete(b.last, k)
			}
		}
	}
	return true
}
