package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

// ErrJobNotSettled: the job's verdict is not final, so its output is not
// served yet.
var ErrJobNotSettled = errors.New("the job's verdict is not final")

// handleJobOutput serves the canonical output archive of a job this
// provider ran (Range supported), once the job's verdict is final: before
// that nobody gets it, so no co-executor can commit a copied result. Then
// anyone may download it: the client checks it against the agreed root.
func (s *Server) handleJobOutput(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		s.fail(w, r, http.StatusBadRequest, CodeBadJobID, fmt.Sprintf("%q is not a job id (a positive integer)", r.PathValue("id")), err)
		return
	}
	path, ok, err := s.opts.JobOutput(r.Context(), id)
	switch {
	case errors.Is(err, ErrJobNotSettled):
		s.fail(w, r, http.StatusForbidden, CodeJobNotSettled,
			fmt.Sprintf("job %d has no final verdict yet; its output is served once the job has succeeded or failed", id), err)
		return
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, CodeChainUnavailable,
			fmt.Sprintf("the provider could not read job %d from the chain; try again", id), err)
		return
	}
	if !ok {
		s.fail(w, r, http.StatusNotFound, CodeNoJobOutput,
			fmt.Sprintf("this provider has no output of job %d; ask another of the job's executors", id), nil)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, CodeInternal, fmt.Sprintf("the provider could not open job %d's output", id), err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	// ServeContent's own errors (a bad Range) come out as JSON like the rest.
	http.ServeContent(s.jsonErrors(w, r, func(status int) (string, string) {
		if status == http.StatusRequestedRangeNotSatisfiable {
			return CodeBadRange, fmt.Sprintf("the Range %q is not within job %d's output", r.Header.Get("Range"), id)
		}
		return CodeInternal, fmt.Sprintf("the provider could not send job %d's output", id)
	}), r, "", time.Time{}, f)
}
