package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/stratusnet/stratus/providerapi"
)

// ErrJobNotSettled: the job's verdict is not final, so its output is not
// served yet.
var ErrJobNotSettled = errors.New("the job's verdict is not final")

// handleJobOutput serves the canonical output archive of a job this
// provider ran (Range supported), once the job's verdict is final: before
// that nobody gets it, so no co-executor can commit a copied result. Then
// its owner may download it, or anyone if the job is public; the client
// checks it against the agreed root.
func (s *Server) handleJobOutput(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		s.fail(w, r, http.StatusBadRequest, providerapi.CodeBadJobID, fmt.Sprintf("%q is not a job id (a positive integer)", r.PathValue("id")), err)
		return
	}
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	job, ok := s.jobInfo(w, r, id)
	if !ok {
		return
	}
	if !job.Public && c.addr != job.Owner {
		s.deny(w, r, c, fmt.Sprintf("the output of job %d", id), "the job's owner")
		return
	}
	if !job.Public && !s.admit(w, r, c) {
		return
	}
	path, ok, err := s.opts.JobOutput(r.Context(), id)
	switch {
	case errors.Is(err, ErrJobNotSettled):
		s.fail(w, r, http.StatusForbidden, providerapi.CodeJobNotSettled,
			fmt.Sprintf("job %d has no final verdict yet; its output is served once the job has succeeded or failed", id), err)
		return
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, providerapi.CodeChainUnavailable,
			fmt.Sprintf("the provider could not read job %d from the chain; try again", id), err)
		return
	}
	if !ok {
		s.fail(w, r, http.StatusNotFound, providerapi.CodeNoJobOutput,
			fmt.Sprintf("this provider has no output of job %d; ask another of the job's executors", id), nil)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, providerapi.CodeInternal, fmt.Sprintf("the provider could not open job %d's output", id), err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	// ServeContent's own errors (a bad Range) come out as JSON like the rest.
	http.ServeContent(s.jsonErrors(w, r, func(status int) (string, string) {
		if status == http.StatusRequestedRangeNotSatisfiable {
			return providerapi.CodeBadRange, fmt.Sprintf("the Range %q is not within job %d's output", r.Header.Get("Range"), id)
		}
		return providerapi.CodeInternal, fmt.Sprintf("the provider could not send job %d's output", id)
	}), r, "", time.Time{}, f)
}
