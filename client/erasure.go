package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stratusnet/stratus/erasure"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/writeback"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// Erasure-coded deals (ADR 011). Put encodes the sealed file into k data
// and m parity shards (package erasure) and sends each slot's shard
// itself: by default only the k data shards, which together are the file
// once; the m parity holders rebuild their shards from the committed data
// shards, each checked against its root. With Direct it uploads all n.
// Get downloads the k data shards (and a parity shard for each holder that
// fails, stalls or lags), keeps the first k that match their roots, and
// decodes the file from them.

// shardPath is where shard i of the upload named base is kept.
func shardPath(base string, i int) string { return fmt.Sprintf("%s.shard-%d", base, i) }

// encodeShards writes the n shards of the file at path (size bytes) next
// to base and returns their roots.
func (c *Client) encodeShards(path string, size uint64, s erasure.Scheme, chunkSize int, base string) ([]merkle.Hash, error) {
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	files := make([]*os.File, s.N())
	out := make([]io.Writer, s.N())
	ws := make([]*writeback.Writer, s.N())
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i := range files {
		if files[i], err = os.OpenFile(shardPath(base, i), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600); err != nil {
			return nil, err
		}
		ws[i] = writeback.NewWriter(files[i], 0)
		out[i] = ws[i]
	}
	c.linef("encoding %s into %s: %d shards of %s", HumanBytes(size), s, s.N(), HumanBytes(erasure.ShardSize(size, s.K)))
	roots, err := erasure.Encode(s, writeback.NewReaderAt(in), size, chunkSize, out)
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		w.Finish() // read next from their starts, to upload them
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	return roots, nil
}

// removeShards deletes the shard files kept next to base.
func removeShards(base string, n int) {
	for i := range n {
		_ = os.Remove(shardPath(base, i))
	}
}

// shardBase is the name the kept shards of deal id share.
func (c *Client) shardBase(id uint64) string {
	return filepath.Join(c.uploadsDir(), fmt.Sprintf("deal-%d", id))
}

// finishShards uploads each shard the client sends to its slot, in
// parallel, resuming what a provider already holds, then waits until every
// slot is committed.
func (c *Client) finishShards(ctx context.Context, rec uploadRecord, replicas []storagetypes.Replica, o PutOptions) error {
	base := c.shardBase(rec.DealID)
	n := int(rec.DataShards + rec.ParityShards)
	for i := range n {
		if _, err := os.Stat(shardPath(base, i)); err != nil {
			return fmt.Errorf("deal %d: the kept shard %d is gone (%v); cancel the deal and put the file again", rec.DealID, i, err)
		}
	}
	sends := func(r storagetypes.Replica) bool {
		return r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED && (o.Direct || r.Shard < rec.DataShards)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	uploaded := map[string]bool{}
	for _, r := range replicas {
		if !sends(r) {
			continue
		}
		wg.Go(func() {
			err := c.uploadShard(ctx, rec, r, o.RateLimit)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("shard %d to %s: %w", r.Shard, r.Provider, err))
				return
			}
			uploaded[r.Provider] = true
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%w; run the same put again to resume", errors.Join(errs...))
	}
	if err := c.waitShardsCommitted(ctx, rec, uploaded, o); err != nil {
		return err
	}
	c.dropRecord(rec)
	return nil
}

func (c *Client) uploadShard(ctx context.Context, rec uploadRecord, r storagetypes.Replica, rate uint64) error {
	t, err := c.Target(ctx, r.Provider)
	if err != nil {
		return err
	}
	size := storagetypes.ShardSizeFor(rec.Size, rec.DataShards)
	if err := c.uploadResumable(ctx, t, rec.DealID, shardPath(c.shardBase(rec.DealID), int(r.Shard)), size, rate, fmt.Sprintf("upload shard %d", r.Shard)); err != nil {
		return err
	}
	c.linef("uploaded shard %d (%s) to %s", r.Shard, HumanBytes(size), t.URL)
	return nil
}

// waitShardsCommitted follows the deal until every slot is committed. A
// parity slot (unless Direct) is rebuilt by its provider from k committed
// shards. While fewer than k are committed, a data slot whose provider
// missed its deadline and was replaced gets its shard from the client
// again.
func (c *Client) waitShardsCommitted(ctx context.Context, rec uploadRecord, uploaded map[string]bool, o PutOptions) error {
	deadline := time.Now().Add(o.Timeout)
	last := -1
	for {
		d, replicas, err := c.Deal(ctx, rec.DealID)
		if err != nil {
			return err
		}
		committed := 0
		for _, r := range replicas {
			if r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
				committed++
			}
		}
		if committed != last {
			c.linef("shards committed: %d of %d", committed, d.Replicas)
			last = committed
		}
		if committed == int(d.Replicas) {
			return nil
		}
		if committed < int(d.DataShards) {
			for _, r := range replicas {
				if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED || uploaded[r.Provider] || !(o.Direct || r.Shard < rec.DataShards) {
					continue
				}
				if err := c.uploadShard(ctx, rec, r, o.RateLimit); err != nil {
					c.linef("uploading shard %d to %s failed: %v; will retry", r.Shard, r.Provider, err)
					continue
				}
				uploaded[r.Provider] = true
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deal %d: only %d of %d shards committed after %s; check 'stratusd storage status %d'",
				rec.DealID, committed, d.Replicas, o.Timeout, rec.DealID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(commitPoll):
		}
	}
}

// getShards downloads erasure-coded deal d into outPath: k shards from
// their committed holders, data shards first (erasure.Collect fetches
// another for each holder that fails, stalls or lags), the first k that
// match their roots kept (a holder that is down or serves bad bytes is
// skipped and named), and the file decoded from them, checked against the deal's
// root and (unless public) decrypted in one pass. outPath appears only
// once all of it succeeded; tmpPath names the download's scratch space.
func (c *Client) getShards(ctx context.Context, d storagetypes.Deal, replicas []storagetypes.Replica, root merkle.Hash, tmpPath, outPath string, o GetOptions) error {
	scheme := d.Scheme()
	es := erasure.Scheme{K: int(scheme.K), M: int(scheme.M)}
	if len(d.ShardRoots) != es.N() {
		return fmt.Errorf("deal %d: %d shard roots for %s", d.Id, len(d.ShardRoots), es)
	}
	roots := make([]merkle.Hash, es.N())
	for i := range roots {
		var err error
		if roots[i], err = merkle.HashFromBytes(d.ShardRoots[i]); err != nil {
			return err
		}
	}
	fetch := make([]erasure.FetchShard, es.N())
	holders := 0
	for _, r := range replicas {
		if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED || int(r.Shard) >= es.N() || fetch[r.Shard] != nil {
			continue
		}
		t, err := c.Target(ctx, r.Provider)
		if err != nil {
			continue
		}
		holders++
		fetch[r.Shard] = func(ctx context.Context, w io.Writer) error {
			return c.api.Download(ctx, t, d.Id, w)
		}
	}
	if holders < es.K {
		return fmt.Errorf("deal %d: %d of its %d shards are held, %d needed; check 'stratusd storage status %d'", d.Id, holders, es.N(), es.K, d.Id)
	}
	c.linef("downloading deal %d (%s): %d of its %d held shards, data shards first; any %d rebuild it", d.Id, es, es.K, holders, es.K)
	shards, err := erasure.Collect(ctx, es, d.Size_, int(d.ChunkSize), roots, fetch, filepath.Dir(tmpPath))
	if err != nil {
		return err
	}
	defer shards.Close()
	for i, err := range shards.Failed {
		c.linef("shard %d not used: %v", i, err)
	}
	decode := func(w io.Writer) error {
		verifier, err := NewVerifier(root, d.Size_, int(d.ChunkSize))
		if err != nil {
			return err
		}
		if err := shards.Decode(c.writer(io.MultiWriter(w, verifier), d.Size_, "decode")); err != nil {
			return err
		}
		if err := verifier.Check(); err != nil {
			return fmt.Errorf("the decoded file does not match the deal's root (the owner's shard roots disagree with it): %w", err)
		}
		c.linef("decoded from shards %v and verified against the deal's root", shards.Have())
		return nil
	}
	if !d.Public {
		return c.decryptInto(outPath, o, decode)
	}
	out, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := decode(out); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmpPath, outPath); err != nil {
		return err
	}
	c.linef("stored unencrypted: written to %s", outPath)
	return nil
}

// scheme is the code the options ask for: replication unless data shards
// are set.
func (o PutOptions) scheme() (erasure.Scheme, bool) {
	if o.DataShards <= 1 {
		return erasure.Scheme{}, false
	}
	return erasure.Scheme{K: int(o.DataShards), M: int(o.ParityShards)}, true
}

// ParseScheme reads an erasure code written K+M (K data and M parity
// shards) into PutOptions' DataShards and ParityShards. K must be at least
// 2: one data shard is replication (Replicas).
func ParseScheme(s string) (k, m uint32, err error) {
	ks, ms, ok := strings.Cut(s, "+")
	var k64, m64 uint64
	if ok {
		k64, err = strconv.ParseUint(ks, 10, 32)
		if err == nil {
			m64, err = strconv.ParseUint(ms, 10, 32)
		}
	}
	if !ok || err != nil || k64 == 0 || k64+m64 > storagetypes.MaxShards {
		return 0, 0, fmt.Errorf("scheme %q: want K+M, data and parity shards, e.g. 6+3 (1 <= K, K+M <= %d)", s, storagetypes.MaxShards)
	}
	if k64 == 1 {
		return 0, 0, fmt.Errorf("scheme %q: one data shard is replication; keep %d replicas instead", s, m64+1)
	}
	return uint32(k64), uint32(m64), nil
}
