package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/writeback"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// Resumable uploads. Put keeps, until every replica is committed, a record
// of the upload in Home/uploads: the deal, the file it stores (path, size,
// modification time) and the bytes sent (the ciphertext kept beside the
// record, or an erasure-coded deal's n shards; a public file is sent as it
// is, from its own path). A Put of the
// same unchanged file while that deal is still pending picks the upload
// up where the provider's copy stops (GET /v1/deals/{id}/upload), so a
// killed client or a cut connection costs only the bytes not yet received.
// Encryption is randomised: without the kept ciphertext (or shards), a new
// Put could not produce the bytes the deal's roots name.

// UploadsDir is where Put keeps unfinished uploads, under Home.
const UploadsDir = "uploads"

// uploadRecord is an unfinished upload.
type uploadRecord struct {
	DealID uint64 `json:"deal_id"`
	// Source is the file stored: its absolute path, size and mtime.
	Source  string    `json:"source"`
	SrcSize int64     `json:"source_size"`
	ModTime time.Time `json:"source_mod_time"`
	// Sent is the file whose bytes go to the provider: the kept ciphertext,
	// or Source itself for a public deal; none for a private erasure-coded
	// deal, whose kept shards are what is sent.
	Sent   string `json:"sent"`
	Size   uint64 `json:"size"`
	Public bool   `json:"public"`
	// DataShards and ParityShards are an erasure-coded deal's code; its
	// shards are kept next to the record (shardBase).
	DataShards   uint32 `json:"data_shards,omitempty"`
	ParityShards uint32 `json:"parity_shards,omitempty"`
}

func (c *Client) uploadsDir() string { return filepath.Join(c.Home, UploadsDir) }

func (c *Client) recordPath(id uint64) string {
	return filepath.Join(c.uploadsDir(), fmt.Sprintf("deal-%d.json", id))
}

// saveRecord writes r atomically.
func (c *Client) saveRecord(r uploadRecord) error {
	bz, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.recordPath(r.DealID) + ".tmp"
	if err := os.WriteFile(tmp, bz, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.recordPath(r.DealID))
}

// dropRecord forgets a finished (or abandoned) upload and its kept bytes.
func (c *Client) dropRecord(r uploadRecord) {
	if !r.Public && r.Sent != "" {
		_ = os.Remove(r.Sent)
	}
	if r.DataShards > 1 {
		removeShards(c.shardBase(r.DealID), int(r.DataShards+r.ParityShards))
	}
	_ = os.Remove(c.recordPath(r.DealID))
}

// findResumable returns the unfinished upload of the file at path (same
// size and mtime) whose deal is still pending, dropping records whose deal
// is gone or no longer waits for data.
func (c *Client) findResumable(ctx context.Context, path string, info os.FileInfo, public bool) (uploadRecord, storagetypes.Deal, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return uploadRecord{}, storagetypes.Deal{}, false
	}
	entries, err := os.ReadDir(c.uploadsDir())
	if err != nil {
		return uploadRecord{}, storagetypes.Deal{}, false
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "deal-") || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		bz, err := os.ReadFile(filepath.Join(c.uploadsDir(), e.Name()))
		if err != nil {
			continue
		}
		var r uploadRecord
		if json.Unmarshal(bz, &r) != nil || r.Source != abs || r.SrcSize != info.Size() || !r.ModTime.Equal(info.ModTime()) || r.Public != public {
			continue
		}
		d, _, err := c.Deal(ctx, r.DealID)
		if err != nil || d.Status != storagetypes.DealStatus_DEAL_STATUS_PENDING || d.Owner != c.Account() {
			if err == nil || strings.Contains(err.Error(), "not found") {
				c.dropRecord(r) // the deal ended, failed or went on without us
			}
			continue
		}
		if !c.keptWhole(r) {
			c.dropRecord(r)
			continue
		}
		return r, d, true
	}
	return uploadRecord{}, storagetypes.Deal{}, false
}

// keptWhole says whether what r's upload sends is still on disk, whole:
// the shards of an erasure-coded deal, or else the ciphertext (or the
// public file).
func (c *Client) keptWhole(r uploadRecord) bool {
	if r.DataShards > 1 {
		size := storagetypes.ShardSizeFor(r.Size, r.DataShards)
		for i := range int(r.DataShards + r.ParityShards) {
			if st, err := os.Stat(shardPath(c.shardBase(r.DealID), i)); err != nil || uint64(st.Size()) != size {
				return false
			}
		}
		return true
	}
	st, err := os.Stat(r.Sent)
	return err == nil && uint64(st.Size()) == r.Size
}

// maxUploadAttempts bounds the tries of one upload; each resumes where the
// provider's copy stops.
const maxUploadAttempts = 5

// uploadResumable sends the file at path (size bytes) as deal id to t,
// resuming from what t already holds, and retrying a cut upload.
func (c *Client) uploadResumable(ctx context.Context, t providerapi.Target, id uint64, path string, size uint64, rate uint64, stage string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var last error
	for attempt := 1; attempt <= maxUploadAttempts; attempt++ {
		offset := uint64(0)
		st, err := c.api.UploadState(ctx, t, id)
		switch {
		case err == nil && st.Stored:
			return nil
		case err == nil:
			offset = st.Offset
		case ctx.Err() != nil:
			return ctx.Err()
		}
		if offset > 0 {
			c.linef("the provider already holds %s of %s: resuming there", HumanBytes(offset), HumanBytes(size))
		}
		// Sent once: its pages need not stay in memory.
		var body io.Reader = c.readerFrom(writeback.NewReader(f, int64(offset)), offset, size, stage)
		if rate > 0 {
			body = &rateLimited{r: body, rate: rate, start: time.Now()}
		}
		last = c.api.UploadFrom(ctx, t, id, body, size, offset)
		if last == nil || ctx.Err() != nil || !retryable(last) {
			return last
		}
		c.linef("upload attempt %d of %d stopped (%v); resuming", attempt, maxUploadAttempts, last)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
	return last
}

// retryable says whether an upload error is worth resuming: a cut
// connection or a provider busy for now, not a refusal of the bytes.
func retryable(err error) bool {
	var apiErr *providerapi.APIError
	if !errors.As(err, &apiErr) {
		return true // the connection broke
	}
	switch apiErr.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusServiceUnavailable,
		http.StatusTooManyRequests, http.StatusRequestedRangeNotSatisfiable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return apiErr.Code == providerapi.CodeTruncated
}

// rateLimited reads no faster than rate bytes a second on average.
type rateLimited struct {
	r     io.Reader
	rate  uint64
	start time.Time
	n     uint64
}

func (l *rateLimited) Read(p []byte) (int, error) {
	if max := l.rate / 10; max > 0 && uint64(len(p)) > max {
		p = p[:max] // a tenth of a second at a time
	}
	due := l.start.Add(time.Duration(float64(l.n) / float64(l.rate) * float64(time.Second)))
	if wait := time.Until(due); wait > 0 {
		time.Sleep(wait)
	}
	n, err := l.r.Read(p)
	l.n += uint64(n)
	return n, err
}
