package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// Sender sends transactions signed by the provider (client.TxSender).
type Sender interface {
	Send(ctx context.Context, msgs ...sdk.Msg) (*sdk.TxResponse, error)
}

// FetchFunc downloads deal id from a provider's endpoint into w.
type FetchFunc func(ctx context.Context, endpoint string, id uint64, w io.Writer) error

// Config tunes the follower.
type Config struct {
	// Poll is how often the node is asked for a new block.
	Poll time.Duration
	// ClaimEvery is how many blocks pass between earnings claims (0: never).
	ClaimEvery int64
	// MaxFetches bounds concurrent replication downloads.
	MaxFetches int
}

// Follower drives the provider from chain state.
type Follower struct {
	node    *Node
	store   *store.Store
	sender  Sender
	fetch   FetchFunc
	me      string
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Metrics
	jobs    *Jobs

	wake chan struct{}

	mu        sync.Mutex
	fetching  map[uint64]bool
	committed map[uint64]bool            // commits sent and not yet seen on chain
	proven    map[uint64]map[uint64]bool // window -> deals proven
	lastClaim int64
	height    int64
}

// NewFollower creates a follower for provider me.
func NewFollower(node *Node, st *store.Store, sender Sender, fetch FetchFunc, me string, cfg Config, log *slog.Logger, m *metrics.Metrics) *Follower {
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.MaxFetches <= 0 {
		cfg.MaxFetches = 4
	}
	return &Follower{
		node: node, store: st, sender: sender, fetch: fetch, me: me, cfg: cfg, log: log, metrics: m,
		wake: make(chan struct{}, 1), fetching: map[uint64]bool{}, committed: map[uint64]bool{},
		proven: map[uint64]map[uint64]bool{},
	}
}

// SetJobs makes the follower also run the provider's compute jobs.
func (f *Follower) SetJobs(j *Jobs) { f.jobs = j }

// Wake makes the follower act now (an upload just finished).
func (f *Follower) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Height is the last block the follower acted on.
func (f *Follower) Height() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.height
}

// Run follows the chain until ctx ends. Node errors are logged and
// retried: the follower survives node restarts.
func (f *Follower) Run(ctx context.Context) error {
	t := time.NewTicker(f.cfg.Poll)
	defer t.Stop()
	last := int64(0)
	for {
		h, err := f.node.Height(ctx)
		switch {
		case err != nil:
			f.log.Warn("node unreachable; retrying", "err", err)
		case h != last:
			if err := f.Step(ctx, h); err != nil && ctx.Err() == nil {
				f.log.Warn("acting on block failed; retrying next block", "height", h, "err", err)
			} else {
				last = h
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-f.wake:
			last = 0 // act again at the same height
		}
	}
}

// Step does everything due at height h: answer challenges, commit stored
// replicas, start fetches, drop data no longer ours, claim earnings.
func (f *Follower) Step(ctx context.Context, h int64) error {
	f.mu.Lock()
	f.height = h
	f.mu.Unlock()

	if err := f.answerChallenges(ctx); err != nil {
		f.log.Warn("answering challenges", "err", err)
	}
	replicas, err := f.node.MyReplicas(ctx)
	if err != nil {
		return fmt.Errorf("listing replicas: %w", err)
	}
	mine := make(map[uint64]storagetypes.Replica, len(replicas))
	for _, r := range replicas {
		mine[r.DealId] = r
	}
	for _, r := range replicas {
		if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED {
			continue
		}
		f.replicate(ctx, r)
	}
	f.collectGarbage(ctx, mine)
	if f.jobs != nil {
		if err := f.jobs.Step(ctx, h); err != nil {
			f.log.Warn("acting on jobs", "err", err)
		}
	}
	if f.cfg.ClaimEvery > 0 && h-f.lastClaim >= f.cfg.ClaimEvery {
		f.claim(ctx, replicas, h)
	}
	return nil
}

// answerChallenges sends one MsgSubmitProofs with every open challenge
// of the window it can prove.
func (f *Follower) answerChallenges(ctx context.Context) error {
	w, challenges, err := f.node.Challenges(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	done := f.proven[w.Number]
	if done == nil {
		done = map[uint64]bool{}
		f.proven = map[uint64]map[uint64]bool{w.Number: done}
	}
	f.mu.Unlock()

	var proofs []storagetypes.StorageProof
	for _, c := range challenges {
		if c.Answered || done[c.DealId] {
			continue
		}
		leaf, path, err := f.store.Proof(c.DealId, c.LeafIndex)
		if err != nil {
			f.log.Error("cannot prove a challenged deal", "deal", c.DealId, "leaf", c.LeafIndex, "err", err)
			if f.metrics != nil {
				f.metrics.ProofsFailed.Inc()
			}
			continue
		}
		raw := make([][]byte, len(path))
		for i := range path {
			raw[i] = append([]byte(nil), path[i][:]...)
		}
		proofs = append(proofs, storagetypes.StorageProof{DealId: c.DealId, LeafIndex: c.LeafIndex, Leaf: leaf, AuditPath: raw})
	}
	for start := 0; start < len(proofs); start += storagetypes.MaxProofsPerMsg {
		batch := proofs[start:min(start+storagetypes.MaxProofsPerMsg, len(proofs))]
		res, err := f.sender.Send(ctx, &storagetypes.MsgSubmitProofs{Provider: f.me, Proofs: batch})
		if err != nil {
			f.txError("submit_proofs", err)
			return err
		}
		for _, p := range batch {
			done[p.DealId] = true
		}
		if f.metrics != nil {
			f.metrics.ProofsSubmitted.Add(float64(len(batch)))
		}
		f.log.Info("proofs submitted", "window", w.Number, "proofs", len(batch), "tx", res.TxHash)
	}
	return nil
}

// replicate commits a replica already stored, or fetches it from a peer
// that holds it (verifying every byte through the store) and then commits.
func (f *Follower) replicate(ctx context.Context, r storagetypes.Replica) {
	f.mu.Lock()
	busy := f.fetching[r.DealId] || f.committed[r.DealId]
	f.mu.Unlock()
	if busy {
		return
	}
	if f.store.Has(r.DealId) {
		f.commit(ctx, r.DealId)
		return
	}
	f.mu.Lock()
	if len(f.fetching) >= f.cfg.MaxFetches {
		f.mu.Unlock()
		return
	}
	f.fetching[r.DealId] = true
	f.mu.Unlock()
	go func() {
		defer func() {
			f.mu.Lock()
			delete(f.fetching, r.DealId)
			f.mu.Unlock()
		}()
		if err := f.fetchFromPeers(ctx, r); err != nil {
			if errors.Is(err, errNoSource) {
				f.log.Debug("no replica to copy from yet", "deal", r.DealId)
				return
			}
			f.log.Warn("replication failed; will retry", "deal", r.DealId, "err", err)
			f.countReplication(metrics.ReplicationFailed)
			return
		}
		f.countReplication(metrics.ReplicationOK)
		f.Wake()
	}()
}

var errNoSource = errors.New("no committed replica to fetch from yet")

// fetchInto streams deal id from a provider's endpoint into st, which
// verifies every byte against expect and keeps nothing on a mismatch.
func fetchInto(ctx context.Context, fetch FetchFunc, st *store.Store, endpoint string, id uint64, expect store.Expect) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(fetch(ctx, endpoint, id, pw)) }()
	err := st.Put(id, expect, pr)
	pr.CloseWithError(err)
	return err
}

func (f *Follower) fetchFromPeers(ctx context.Context, r storagetypes.Replica) error {
	d, replicas, err := f.node.Deal(ctx, r.DealId)
	if err != nil {
		return err
	}
	root, err := merkle.HashFromBytes(d.Root)
	if err != nil {
		return err
	}
	// The recorded source first, then any other committed replica.
	var sources []string
	if r.Source != "" && r.Source != f.me {
		sources = append(sources, r.Source)
	}
	for _, x := range replicas {
		if x.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED && x.Provider != f.me && x.Provider != r.Source {
			sources = append(sources, x.Provider)
		}
	}
	if len(sources) == 0 {
		return errNoSource
	}
	expect := store.Expect{Root: root, Size: d.Size_, ChunkSize: int(d.ChunkSize)}
	var errs []error
	notYet := 0
	for _, src := range sources {
		ep, err := f.node.Endpoint(ctx, src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = fetchInto(ctx, f.fetch, f.store, ep, r.DealId, expect)
		if err == nil {
			f.log.Info("replica fetched and verified", "deal", r.DealId, "from", src, "bytes", d.Size_)
			return nil
		}
		var apiErr *server.APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			notYet++ // the source has not received the upload yet
		}
		errs = append(errs, fmt.Errorf("from %s: %w", src, err))
	}
	if notYet == len(sources) {
		return errNoSource
	}
	return errors.Join(errs...)
}

func (f *Follower) commit(ctx context.Context, id uint64) {
	f.mu.Lock()
	f.committed[id] = true
	f.mu.Unlock()
	res, err := f.sender.Send(ctx, &storagetypes.MsgCommitReplica{Provider: f.me, DealId: id})
	if err != nil {
		f.txError("commit_replica", err)
		f.mu.Lock()
		delete(f.committed, id)
		f.mu.Unlock()
		return
	}
	f.log.Info("replica committed", "deal", id, "tx", res.TxHash)
}

// collectGarbage deletes stored deals the chain no longer gives us, and
// forgets commits the chain has recorded. Before deleting it asks the chain
// again, since an upload may have landed after the replica list was read.
func (f *Follower) collectGarbage(ctx context.Context, mine map[uint64]storagetypes.Replica) {
	f.mu.Lock()
	for id := range f.committed {
		if r, ok := mine[id]; !ok || r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			delete(f.committed, id)
		}
	}
	fetching := make(map[uint64]bool, len(f.fetching))
	for id := range f.fetching {
		fetching[id] = true
	}
	f.mu.Unlock()
	ids, err := f.store.List()
	if err != nil {
		f.log.Warn("listing the store", "err", err)
		return
	}
	for _, id := range ids {
		if _, ok := mine[id]; ok || fetching[id] {
			continue
		}
		shape, err := f.node.DealShape(ctx, id)
		if err == nil && shape.Assigned {
			continue
		}
		if err != nil && !errors.Is(err, ErrUnknownDeal) {
			continue // the node is unsure; keep the data
		}
		if err := f.store.Delete(id); err != nil {
			f.log.Warn("deleting a deal we no longer hold", "deal", id, "err", err)
			continue
		}
		f.log.Info("deleted data of a deal we no longer hold", "deal", id)
	}
}

func (f *Follower) claim(ctx context.Context, replicas []storagetypes.Replica, h int64) {
	committed := false
	for _, r := range replicas {
		if r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			committed = true
		}
	}
	if !committed {
		return
	}
	f.lastClaim = h
	res, err := f.sender.Send(ctx, &storagetypes.MsgClaimEarnings{Provider: f.me})
	if err != nil {
		f.txError("claim_earnings", err)
		return
	}
	f.log.Info("earnings claimed", "tx", res.TxHash)
}

func (f *Follower) txError(msg string, err error) {
	f.log.Warn("transaction failed", "msg", msg, "err", err)
	if f.metrics != nil {
		f.metrics.TxErrors.WithLabelValues(msg).Inc()
	}
}

func (f *Follower) countReplication(result string) {
	if f.metrics != nil {
		f.metrics.Replications.WithLabelValues(result).Inc()
	}
}
