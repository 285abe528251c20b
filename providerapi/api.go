// Package providerapi is the provider daemon's HTTP protocol, shared by the
// daemon (provider/server), the client SDK (client) and peers replicating
// from one another: its routes, wire types, error codes, the typed Client
// and request signing.
//
// Routes, versioned under /v1:
//
//	GET  /v1/status                      who the provider is and what it stores
//	PUT  /v1/deals/{id}                  streamed upload; the deal's owner only
//	GET  /v1/deals/{id}[?job=N]          the deal's bytes (Range supported)
//	GET  /v1/deals/{id}/proof?leaf=N     one leaf and its Merkle audit path
//	GET  /v1/deals/{id}/upload           bytes of a stopped upload held; the owner only
//	GET  /v1/deals/{id}/parity/{shard}   a parity shard of an erasure-coded deal, staged by
//	                                     the holder of its shard 0; the provider assigned that
//	                                     shard and the owner only
//	GET  /v1/jobs/{id}/output            a settled job's output archive
//	GET  /metrics                        Prometheus metrics
//
// Access: a request may carry an Authorization header signed by an account's
// secp256k1 key (see SignRequest). A public deal is readable by anyone. A
// private deal's bytes go to its owner, to providers holding or assigned a
// slot of it, and (with ?job=N) to the executors of a job that reads it,
// whole (a Range is the owner's only); its proofs go to its owner only.
// Only the owner uploads. A job's output goes to its owner, or to anyone
// when the job is public, once its verdict is final.
//
// A provider assigned a slot of a deal whose upload is arriving at another
// provider gets that upload from GET /v1/deals/{id} as it arrives (with
// HeaderUploadInProgress set), instead of 404 until it is stored: the
// response is cut short if the upload fails, and the fetcher checks the
// whole against the root as for any fetch.
//
// Every error response is JSON {"error": what went wrong and what to do,
// "code": one of the Code constants}.
package providerapi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Route paths.
const (
	PathStatus = "/v1/status"
	PathDeals  = "/v1/deals/"
	PathJobs   = "/v1/jobs/"
)

// HeaderUploadInProgress is set on a deal download that streams an upload
// still arriving at the provider (sent to replicating providers only).
const HeaderUploadInProgress = "Stratus-Upload-In-Progress"

// HeaderAwaitUpload, on a deal download by a provider assigned the deal,
// asks a provider that neither stores the deal nor receives it yet to wait
// a few seconds for the owner's upload to start and stream it, instead of
// answering 404 at once (ADR 013). A replicating provider sends it on its
// first try of a deal only, so a deal never uploaded holds its fetch slot
// once, not every block.
const HeaderAwaitUpload = "Stratus-Await-Upload"

// DealPath is the path of deal id's bytes.
func DealPath(id uint64) string { return PathDeals + strconv.FormatUint(id, 10) }

// ParityPath is the path of parity shard of deal id, staged by its encoder.
func ParityPath(id uint64, shard int) string {
	return DealPath(id) + "/parity/" + strconv.Itoa(shard)
}

// JobOutputPath is the path of job id's output archive.
func JobOutputPath(id uint64) string { return PathJobs + strconv.FormatUint(id, 10) + "/output" }

// Target names a provider by its account address, which signed requests
// are addressed to, and by the base URL of its API, e.g.
// "https://provider.example:8443".
type Target struct {
	Provider string
	URL      string
}

func (t Target) url(path string) string { return strings.TrimRight(t.URL, "/") + path }

// Error codes of the API's error responses.
const (
	CodeBadDealID        = "bad_deal_id"
	CodeBadJobID         = "bad_job_id"
	CodeBadShard         = "bad_shard"
	CodeNoJobOutput      = "no_job_output"
	CodeJobNotSettled    = "job_not_settled"
	CodeUnknownDeal      = "unknown_deal"
	CodeUnknownJob       = "unknown_job"
	CodeNotAssigned      = "not_assigned"
	CodeNotStored        = "not_stored"
	CodeSizeMismatch     = "size_mismatch"
	CodeTooLarge         = "too_large"
	CodeTruncated        = "truncated"
	CodeTooSlow          = "too_slow"
	CodeLengthRequired   = "length_required"
	CodeRootMismatch     = "root_mismatch"
	CodeBusy             = "busy"
	CodeUploadInProgress = "upload_in_progress"
	CodeBadLeaf          = "bad_leaf"
	CodeLeafOutOfRange   = "leaf_out_of_range"
	CodeBadRange         = "bad_range"
	CodePrecondition     = "precondition_failed"
	CodeChainUnavailable = "chain_unavailable"
	CodeBadDeal          = "bad_deal"
	CodeInternal         = "internal"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeUnauthenticated: the request needs a signature and has none.
	CodeUnauthenticated = "unauthenticated"
	// CodeBadSignature: the Authorization header is malformed or its
	// signature does not verify.
	CodeBadSignature = "bad_signature"
	// CodeExpiredSignature: the signature's timestamp is outside the
	// accepted clock skew.
	CodeExpiredSignature = "expired_signature"
	// CodeReplayed: the signature's nonce was already used.
	CodeReplayed = "replayed_request"
	// CodeForbidden: the signer is not entitled to the resource.
	CodeForbidden = "forbidden"
	// CodeRangeNotAllowed: a provider or executor asked for part of a
	// private deal; only its owner may.
	CodeRangeNotAllowed = "range_not_allowed"
	// CodeRepairLimit: a provider holding a committed replica fetched
	// more deals again than the serving provider's repair budget allows.
	CodeRepairLimit = "repair_limit"
)

// Status is the body of GET /v1/status.
type Status struct {
	Provider    string `json:"provider"`
	Moniker     string `json:"moniker"`
	Version     string `json:"version"`
	DealsStored int    `json:"deals_stored"`
	BytesStored uint64 `json:"bytes_stored"`
}

// StoredDeal is the body of a successful PUT /v1/deals/{id}.
type StoredDeal struct {
	DealID uint64 `json:"deal_id"`
	Root   string `json:"root"` // hex
	Size   uint64 `json:"size"`
}

// UploadState is the body of GET /v1/deals/{id}/upload: how many bytes of
// the deal a stopped upload left with the provider (Offset), to resume
// from with Content-Range: bytes Offset-(Size-1)/Size; Stored when the
// whole deal is already stored.
type UploadState struct {
	DealID uint64 `json:"deal_id"`
	Size   uint64 `json:"size"`
	Offset uint64 `json:"offset"`
	Stored bool   `json:"stored"`
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

// ErrShortResponse is returned when a provider sends fewer bytes than it
// promised or than were asked for.
var ErrShortResponse = errors.New("providerapi: provider sent fewer bytes than expected")

// ParseContentRange reads the Content-Range of a resumed upload of a deal
// of size bytes, "bytes N-(size-1)/size", and returns N. A resumed upload
// always runs to the end of the deal.
func ParseContentRange(h string, size uint64) (uint64, error) {
	spec, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, errors.New(`want "bytes N-M/SIZE"`)
	}
	rng, total, ok := strings.Cut(spec, "/")
	if !ok {
		return 0, errors.New(`want "bytes N-M/SIZE"`)
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, errors.New(`want "bytes N-M/SIZE"`)
	}
	n, err1 := strconv.ParseUint(first, 10, 64)
	m, err2 := strconv.ParseUint(last, 10, 64)
	s, err3 := strconv.ParseUint(total, 10, 64)
	switch {
	case err1 != nil || err2 != nil || err3 != nil || h != fmt.Sprintf("bytes %d-%d/%d", n, m, s):
		return 0, errors.New("positions and size must be plain decimal numbers")
	case size == 0:
		return 0, errors.New("an empty deal has no bytes to resume")
	case s != size:
		return 0, fmt.Errorf("size %d is not the deal's %d", s, size)
	case m != size-1:
		return 0, fmt.Errorf("a resumed upload runs to the last byte, %d", size-1)
	case n > m:
		return 0, fmt.Errorf("first byte %d is past the last", n)
	}
	return n, nil
}
