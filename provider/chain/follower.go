package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/erasure"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/writeback"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// Sender sends transactions signed by the provider (client.TxSender).
type Sender interface {
	Send(ctx context.Context, msgs ...sdk.Msg) (*sdk.TxResponse, error)
}

// FetchFunc downloads deal id from a provider into w, signed by this
// provider: as one of the deal's holders when job is 0, else as an
// executor of job, which reads the deal.
type FetchFunc func(ctx context.Context, from providerapi.Target, id, job uint64, w io.Writer) error

// Config tunes the follower.
type Config struct {
	// Poll is how often the node is asked for a new block.
	Poll time.Duration
	// ClaimEvery is how many blocks pass between earnings claims (0: never).
	ClaimEvery int64
	// MaxFetches bounds concurrent replication downloads.
	MaxFetches int
	// RepairWait bounds how long a step waits to fetch again a replica
	// whose proof failed the local check; the window's other proofs are
	// sent first, so a slow peer costs only that replica's samples.
	RepairWait time.Duration
	// ParityWait is how long a parity slot's provider waits for the
	// deal's encoder (the holder of shard 0) to stage its shard before it
	// rebuilds the shard from k others itself.
	ParityWait time.Duration
	// StageTTL is how long an encoder keeps the parity shards it staged.
	StageTTL time.Duration
}

// ParityFetchFunc downloads parity shard of deal id from the deal's
// encoder into w, signed by this provider.
type ParityFetchFunc func(ctx context.Context, from providerapi.Target, id uint64, shard int, w io.Writer) error

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
	// fetchParity, when set, fetches a parity shard from its encoder.
	fetchParity ParityFetchFunc

	wake chan struct{}

	mu        sync.Mutex
	fetching  map[uint64]bool
	awaited   map[uint64]bool // deals whose first fetch asked the source to await the upload
	committed map[uint64]bool // commits sent and not yet seen on chain
	inflight  sync.WaitGroup  // fetches and commits in flight
	// stageLater holds deals whose parity this provider (shard 0's
	// holder) is to stage but found every fetch slot taken: each step
	// tries them again.
	stageLater map[uint64]bool
	window     *windowState // the proof window being answered
	lastClaim  int64
	height     int64
	// parityAsked is when this provider first asked the encoder of a deal
	// for its parity shard.
	parityAsked map[uint64]time.Time
}

// sample is one challenged leaf: a window may sample a deal several times.
type sample struct{ deal, leaf uint64 }

// windowState is what the follower did in one proof window. Only Step
// touches it.
type windowState struct {
	number   uint64
	proven   map[sample]bool // sent in a transaction the chain took
	failed   map[sample]bool // logged and counted in ProofsFailed
	repaired map[uint64]bool // deals refetched this window (at most once each)
}

// NewFollower creates a follower for provider me.
func NewFollower(node *Node, st *store.Store, sender Sender, fetch FetchFunc, me string, cfg Config, log *slog.Logger, m *metrics.Metrics) *Follower {
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.MaxFetches <= 0 {
		cfg.MaxFetches = 4
	}
	if cfg.RepairWait <= 0 {
		cfg.RepairWait = 15 * time.Second
	}
	if cfg.ParityWait <= 0 {
		cfg.ParityWait = 30 * time.Second
	}
	if cfg.StageTTL <= 0 {
		cfg.StageTTL = 10 * time.Minute
	}
	return &Follower{
		node: node, store: st, sender: sender, fetch: fetch, me: me, cfg: cfg, log: log, metrics: m,
		wake: make(chan struct{}, 1), fetching: map[uint64]bool{}, awaited: map[uint64]bool{}, committed: map[uint64]bool{}, stageLater: map[uint64]bool{},
		parityAsked: map[uint64]time.Time{},
	}
}

// SetParityFetch lets parity slots fetch their shard from the deal's
// encoder instead of rebuilding it from k shards (ADR 011).
func (f *Follower) SetParityFetch(fn ParityFetchFunc) { f.fetchParity = fn }

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
	defer f.inflight.Wait() // fetches and commits in flight end with ctx
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
	f.mu.Lock()
	for id := range f.awaited {
		if r, ok := mine[id]; !ok || r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED {
			delete(f.awaited, id) // fetched, or no longer this provider's to fetch
		}
	}
	f.mu.Unlock()
	for _, r := range replicas {
		if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED {
			continue
		}
		f.replicate(ctx, r)
	}
	f.retryStaging(ctx, mine)
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

// answerChallenges proves every open sample of the window from the store
// and sends the proofs in one MsgSubmitProofs. Each proof is first checked
// against the deal's shape on chain: an invalid proof is slashed and fails
// the window, a missing one only misses. A replica whose proof fails the
// check (or whose data is gone) is fetched again from a peer while the good
// proofs are sent, then proven again and sent in a second message.
func (f *Follower) answerChallenges(ctx context.Context) error {
	w, challenges, err := f.node.Challenges(ctx)
	if err != nil {
		return fmt.Errorf("reading challenges: %w", err)
	}
	st := f.windowState(w.Number)

	shapes := map[uint64]server.DealInfo{}
	seen := map[sample]bool{}
	var good []storagetypes.StorageProof
	var broken []uint64              // deals with a sample that failed, in challenge order
	failing := map[uint64][]uint64{} // their failed leaves
	why := map[uint64]error{}        // the first failure of each
	for _, c := range challenges {
		s := sample{c.DealId, c.LeafIndex}
		if c.Answered || st.proven[s] || seen[s] {
			continue
		}
		seen[s] = true
		shape, ok := shapes[c.DealId]
		if !ok {
			// The shape comes from the chain: the local tree file may be the
			// very thing that is damaged.
			if shape, err = f.node.DealInfo(ctx, c.DealId); err != nil {
				f.log.Warn("reading a challenged deal; retrying next block", "deal", c.DealId, "err", err)
				continue
			}
			shapes[c.DealId] = shape
		}
		p, err := prove(f.store, shape, c.LeafIndex)
		if err != nil {
			if len(failing[c.DealId]) == 0 {
				broken = append(broken, c.DealId)
				why[c.DealId] = err
			}
			failing[c.DealId] = append(failing[c.DealId], c.LeafIndex)
			continue
		}
		good = append(good, p)
	}
	if len(broken) == 0 {
		return f.submit(ctx, w.Number, st, good)
	}

	// Refetch while the good proofs are sent: they never wait on a peer.
	wait := f.startRepairs(ctx, st, broken, why)
	sendErr := f.submit(ctx, w.Number, st, good)
	refetched := wait()
	var again []storagetypes.StorageProof
	for _, id := range broken {
		repairErr, tried := refetched[id]
		for _, leaf := range failing[id] {
			s := sample{id, leaf}
			switch {
			case tried && repairErr == nil:
				p, err := prove(f.store, shapes[id], leaf)
				if err != nil {
					f.proofFailed(st, s, fmt.Errorf("after refetching: %w", err))
					continue
				}
				again = append(again, p)
			case tried:
				f.proofFailed(st, s, errors.Join(why[id], fmt.Errorf("refetching: %w", repairErr)))
			case st.repaired[id]:
				f.proofFailed(st, s, why[id]) // refetch tried earlier this window
			default:
				// No fetch slot free, or a fetch of the deal is running:
				// tried again next block.
			}
		}
	}
	return errors.Join(sendErr, f.submit(ctx, w.Number, st, again))
}

// windowState returns the state of window number, fresh for a new window.
func (f *Follower) windowState(number uint64) *windowState {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.window == nil || f.window.number != number {
		f.window = &windowState{number: number, proven: map[sample]bool{}, failed: map[sample]bool{}, repaired: map[uint64]bool{}}
	}
	return f.window
}

// submit sends proofs in as few messages as MaxProofsPerMsg allows (one,
// but for the rare provider with more samples) and marks them proven.
func (f *Follower) submit(ctx context.Context, window uint64, st *windowState, proofs []storagetypes.StorageProof) error {
	for start := 0; start < len(proofs); start += storagetypes.MaxProofsPerMsg {
		batch := proofs[start:min(start+storagetypes.MaxProofsPerMsg, len(proofs))]
		// Naming the window makes a late message fail as such instead of
		// being checked against the next window's samples.
		res, err := f.sender.Send(ctx, &storagetypes.MsgSubmitProofs{Provider: f.me, Proofs: batch, Window: window})
		if err != nil {
			f.txError("submit_proofs", err)
			return fmt.Errorf("submitting %d proofs of window %d: %w", len(batch), window, err)
		}
		for _, p := range batch {
			st.proven[sample{p.DealId, p.LeafIndex}] = true
		}
		if f.metrics != nil {
			f.metrics.ProofsSubmitted.Add(float64(len(batch)))
		}
		f.log.Info("proofs submitted", "window", window, "proofs", len(batch), "tx", res.TxHash)
	}
	return nil
}

// proofFailed logs and counts a sample that cannot be proven, once a window.
func (f *Follower) proofFailed(st *windowState, s sample, err error) {
	if st.failed[s] {
		return
	}
	st.failed[s] = true
	f.log.Error("cannot prove a challenged deal", "deal", s.deal, "leaf", s.leaf, "err", err)
	if f.metrics != nil {
		f.metrics.ProofsFailed.Inc()
	}
}

// prove builds the proof of leaf index of a deal from st and checks it as
// the chain will, against the deal's shape on chain.
func prove(st *store.Store, shape server.DealInfo, index uint64) (storagetypes.StorageProof, error) {
	leaf, path, err := st.Proof(shape.ID, index)
	if err != nil {
		return storagetypes.StorageProof{}, fmt.Errorf("reading deal %d leaf %d: %w", shape.ID, index, err)
	}
	if err := checkProof(shape, index, leaf, path); err != nil {
		return storagetypes.StorageProof{}, fmt.Errorf("deal %d leaf %d fails the local check: %w", shape.ID, index, err)
	}
	raw := make([][]byte, len(path))
	for i := range path {
		raw[i] = append([]byte(nil), path[i][:]...)
	}
	return storagetypes.StorageProof{DealId: shape.ID, LeafIndex: index, Leaf: leaf, AuditPath: raw}, nil
}

// checkProof is the chain's test of a proof: the leaf's length for its
// index, then the path up to the deal's root.
func checkProof(shape server.DealInfo, index uint64, leaf []byte, path []merkle.Hash) error {
	return merkle.VerifyFileProof(shape.Root, shape.Size, shape.ChunkSize, index, leaf, path)
}

// startRepairs refetches broken deals concurrently, each at most once a
// window, within cfg.RepairWait and the MaxFetches slots shared with
// replication. wait returns the outcome of each refetch started (nil: the
// deal is stored again, verified).
func (f *Follower) startRepairs(ctx context.Context, st *windowState, broken []uint64, why map[uint64]error) (wait func() map[uint64]error) {
	rctx, cancel := context.WithTimeout(ctx, f.cfg.RepairWait)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := map[uint64]error{}
	for _, id := range broken {
		if st.repaired[id] || !f.reserveFetch(id) {
			continue
		}
		st.repaired[id] = true
		f.log.Warn("stored replica fails its proof; fetching it again", "deal", id, "err", why[id])
		wg.Go(func() {
			defer f.releaseFetch(id)
			err := f.repair(rctx, id)
			if err != nil {
				f.countRepair(metrics.RepairFailed)
			} else {
				f.countRepair(metrics.RepairOK)
			}
			mu.Lock()
			done[id] = err
			mu.Unlock()
		})
	}
	return func() map[uint64]error {
		wg.Wait()
		cancel()
		return done
	}
}

// repair drops deal id's local copy and fetches it again from a peer
// holding a committed replica. The copy must go first: Put keeps a stored
// deal whose root already matches without reading anything. With no peer
// to fetch from, the damaged copy is kept: it still proves its other leaves.
func (f *Follower) repair(ctx context.Context, id uint64) error {
	d, replicas, err := f.node.Deal(ctx, id)
	if err != nil {
		return fmt.Errorf("reading deal %d: %w", id, err)
	}
	i := slices.IndexFunc(replicas, func(r storagetypes.Replica) bool { return r.Provider == f.me })
	if i < 0 {
		return fmt.Errorf("deal %d: no replica of ours on chain", id)
	}
	mine := replicas[i]
	if len(f.sources(mine, replicas)) == 0 {
		return fmt.Errorf("deal %d: %w", id, errNoSource)
	}
	if err := f.store.Delete(id); err != nil {
		return fmt.Errorf("dropping the bad copy of deal %d: %w", id, err)
	}
	if err := f.fetchDeal(ctx, mine, d, replicas); err != nil {
		return fmt.Errorf("deal %d: %w", id, err)
	}
	return nil
}

// reserveFetch takes a fetch slot for deal id unless the deal is already
// being fetched or every slot is taken.
func (f *Follower) reserveFetch(id uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fetching[id] || len(f.fetching) >= f.cfg.MaxFetches {
		return false
	}
	f.fetching[id] = true
	return true
}

func (f *Follower) releaseFetch(id uint64) {
	f.mu.Lock()
	delete(f.fetching, id)
	f.mu.Unlock()
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
		// What is stored must be this slot's bytes: a copy left from an
		// earlier slot of the same deal (another shard) is dropped, never
		// committed.
		if shape, err := f.node.DealInfo(ctx, r.DealId); err == nil {
			if meta, err := f.store.Stat(r.DealId); err == nil && (meta.Root != shape.Root || meta.Size != shape.Size) {
				f.log.Warn("the stored copy is not this slot's shard; dropping it", "deal", r.DealId, "shard", r.Shard)
				if err := f.store.Delete(r.DealId); err != nil {
					f.log.Error("dropping a stale copy", "deal", r.DealId, "err", err)
				}
				return
			}
		}
		f.commit(ctx, r.DealId)
		return
	}
	if !f.reserveFetch(r.DealId) {
		return
	}
	// The first try of a deal asks its source to wait for the owner's
	// upload if it has not started (it usually starts in the same block);
	// later tries do not, so a deal never uploaded cannot hold this fetch
	// slot block after block.
	fetchCtx := ctx
	f.mu.Lock()
	if !f.awaited[r.DealId] {
		f.awaited[r.DealId] = true
		fetchCtx = providerapi.AwaitUpload(ctx)
	}
	f.mu.Unlock()
	// Tracked like a commit: Run waits for it, and the commit it sends
	// is added while it still counts.
	f.inflight.Add(1)
	go func() {
		defer f.inflight.Done()
		err := func() error {
			defer f.releaseFetch(r.DealId)
			return f.fetchFromPeers(fetchCtx, r)
		}()
		if err != nil {
			if errors.Is(err, errNoSource) {
				f.log.Debug("no replica to copy from yet", "deal", r.DealId)
				return
			}
			f.log.Warn("replication failed; will retry", "deal", r.DealId, "err", err)
			f.countReplication(metrics.ReplicationFailed)
			return
		}
		f.countReplication(metrics.ReplicationOK)
		// Commit now, the fetch slot free again (staging parity after the
		// commit takes one): the loop's next step may come a block later.
		// Not under fetchCtx: only the fetch waits for an upload.
		f.commit(ctx, r.DealId)
		f.Wake()
	}()
}

var errNoSource = errors.New("no committed replica to fetch from yet")

// fetchInto streams deal id from a provider into st, which verifies every
// byte against expect and keeps nothing on a mismatch; job is as in
// FetchFunc.
func fetchInto(ctx context.Context, fetch FetchFunc, st *store.Store, from providerapi.Target, id, job uint64, expect store.Expect) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(fetch(ctx, from, id, job, pw)) }()
	// The deadline holds even against a fetch that ignores ctx.
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	defer stop()
	err := st.Put(id, expect, pr)
	pr.CloseWithError(err)
	return err
}

func (f *Follower) fetchFromPeers(ctx context.Context, r storagetypes.Replica) error {
	d, replicas, err := f.node.Deal(ctx, r.DealId)
	if err != nil {
		return err
	}
	return f.fetchDeal(ctx, r, d, replicas)
}

// sources lists the providers to fetch r's deal from: the recorded source
// first, then any other committed replica.
func (f *Follower) sources(r storagetypes.Replica, replicas []storagetypes.Replica) []string {
	var sources []string
	if r.Source != "" && r.Source != f.me {
		sources = append(sources, r.Source)
	}
	for _, x := range replicas {
		if x.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED && x.Provider != f.me && x.Provider != r.Source {
			sources = append(sources, x.Provider)
		}
	}
	return sources
}

// fetchDeal fetches deal d into the store for replica r from the first of
// its sources that serves bytes matching d's root. For an erasure-coded
// deal it copies r's shard from a holder of the same shard (a leaving
// provider handing over), or else rebuilds it from any k other shards.
func (f *Follower) fetchDeal(ctx context.Context, r storagetypes.Replica, d storagetypes.Deal, replicas []storagetypes.Replica) error {
	if d.Scheme().Erasure() {
		return f.rebuildShard(ctx, r, d, replicas)
	}
	root, err := merkle.HashFromBytes(d.Root)
	if err != nil {
		return err
	}
	sources := f.sources(r, replicas)
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
		err = fetchInto(ctx, f.fetch, f.store, providerapi.Target{Provider: src, URL: ep}, r.DealId, 0, expect)
		if err == nil {
			f.log.Info("replica fetched and verified", "deal", r.DealId, "from", src, "bytes", d.Size_)
			return nil
		}
		var apiErr *providerapi.APIError
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

// rebuildShard stores r's shard of erasure-coded deal d. A committed
// holder of the same shard (the leaving provider r replaces) is asked for
// it first; otherwise any k verified shards of the other committed holders
// rebuild it (about one file of traffic). Either way the store checks the
// result against the shard's own root before keeping it: a holder that
// serves a wrong shard is caught by that shard's root, and nothing
// unverified is committed.
func (f *Follower) rebuildShard(ctx context.Context, r storagetypes.Replica, d storagetypes.Deal, replicas []storagetypes.Replica) error {
	plan, err := planShards(ctx, f.node, f.fetch, f.me, d, replicas, 0, nil)
	if err != nil {
		return err
	}
	if int(r.Shard) >= plan.scheme.N() {
		return fmt.Errorf("deal %d has no shard %d", d.Id, r.Shard)
	}
	expect := store.Expect{Root: plan.roots[r.Shard], Size: d.SlotSize(), ChunkSize: int(d.ChunkSize)}
	for _, t := range plan.holders[r.Shard] {
		err := fetchInto(ctx, f.fetch, f.store, t, d.Id, 0, expect)
		if err == nil {
			f.log.Info("shard copied and verified", "deal", d.Id, "shard", r.Shard, "from", t.Provider, "bytes", d.SlotSize())
			return nil
		}
		f.log.Warn("copying the shard from its holder failed; rebuilding it", "deal", d.Id, "shard", r.Shard, "from", t.Provider, "err", err)
	}
	plan.fetch[r.Shard] = nil
	if int(r.Shard) >= plan.scheme.K && f.fetchParity != nil && len(plan.holders[0]) > 0 {
		if err := f.fetchStagedParity(ctx, r, plan.holders[0][0], expect); err == nil || errors.Is(err, errNoSource) {
			return err
		}
	}
	if have := plan.count(); have < plan.scheme.K {
		return fmt.Errorf("%w: %d of the %d shards needed to rebuild shard %d are held", errNoSource, have, plan.scheme.K, r.Shard)
	}
	shards, err := erasure.Collect(ctx, plan.scheme, d.Size_, int(d.ChunkSize), plan.roots, plan.fetch, f.store.TempDir(), plan.local)
	if err != nil {
		return err
	}
	defer shards.Close()
	for i, err := range shards.Failed {
		f.log.Warn("a shard for the rebuild was unusable", "deal", d.Id, "shard", i, "err", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(shards.Rebuild(int(r.Shard), pw)) }()
	err = f.store.Put(d.Id, expect, pr)
	pr.CloseWithError(err)
	if err != nil {
		return fmt.Errorf("rebuilding shard %d: %w", r.Shard, err)
	}
	f.log.Info("shard rebuilt and verified", "deal", d.Id, "shard", r.Shard, "from shards", shards.Have(), "bytes", d.SlotSize())
	return nil
}

// fetchStagedParity fetches parity slot r's shard from the deal's encoder
// (the holder of shard 0), which computes the parity shards once from k
// shards: each parity provider then moves one shard instead of k. Until
// cfg.ParityWait has passed since the first try it returns errNoSource
// while the encoder has nothing staged, so the caller retries; after that,
// or on any other failure, the caller rebuilds the shard itself.
func (f *Follower) fetchStagedParity(ctx context.Context, r storagetypes.Replica, enc providerapi.Target, expect store.Expect) error {
	fetch := func(ctx context.Context, from providerapi.Target, id, _ uint64, w io.Writer) error {
		return f.fetchParity(ctx, from, id, int(r.Shard), w)
	}
	err := fetchInto(ctx, fetch, f.store, enc, r.DealId, 0, expect)
	f.mu.Lock()
	asked, ok := f.parityAsked[r.DealId]
	if !ok {
		asked = time.Now()
		f.parityAsked[r.DealId] = asked
	}
	if err == nil || time.Since(asked) >= f.cfg.ParityWait {
		delete(f.parityAsked, r.DealId)
	}
	f.mu.Unlock()
	if err == nil {
		f.log.Info("parity shard fetched from the encoder and verified", "deal", r.DealId, "shard", r.Shard, "from", enc.Provider, "bytes", expect.Size)
		return nil
	}
	var apiErr *providerapi.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && time.Since(asked) < f.cfg.ParityWait {
		return fmt.Errorf("%w: parity shard %d not staged by %s yet", errNoSource, r.Shard, enc.Provider)
	}
	f.log.Warn("the encoder did not serve the parity shard; rebuilding it from k shards", "deal", r.DealId, "shard", r.Shard, "from", enc.Provider, "err", err)
	return err
}

// stageParity makes this provider, when it holds shard 0 of an
// erasure-coded deal, the deal's encoder: once k shards are committed it
// fetches them (its own read locally), computes every parity shard whose
// slot is still assigned, checks each against its root and stages it for
// that slot's provider (handleParity) for cfg.StageTTL. A shard that fails
// its root is not staged: the owner's roots disagree with its data, and
// the parity slots will not commit. With every fetch slot taken it is put
// off to the next step (retryStaging).
func (f *Follower) stageParity(ctx context.Context, id uint64) {
	if !f.reserveFetch(id) {
		f.mu.Lock()
		if !f.fetching[id] {
			f.stageLater[id] = true
		}
		f.mu.Unlock()
		return
	}
	f.mu.Lock()
	delete(f.stageLater, id)
	f.mu.Unlock()
	go func() {
		defer f.releaseFetch(id)
		if err := f.encodeParity(ctx, id); err != nil {
			f.log.Warn("computing the parity shards failed; their providers rebuild them", "deal", id, "err", err)
		}
	}()
}

// retryStaging stages the parity of the deals stageParity had to put off,
// once their shard 0 here is committed; mine are this provider's replicas.
func (f *Follower) retryStaging(ctx context.Context, mine map[uint64]storagetypes.Replica) {
	f.mu.Lock()
	later := slices.Collect(maps.Keys(f.stageLater))
	f.mu.Unlock()
	for _, id := range later {
		r, ok := mine[id]
		switch {
		case ok && r.Shard == 0 && r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED:
			f.stageParity(ctx, id)
			continue
		case ok && r.Shard == 0 && r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED:
			continue // its commit is on the way
		}
		f.mu.Lock()
		delete(f.stageLater, id)
		f.mu.Unlock()
	}
}

func (f *Follower) encodeParity(ctx context.Context, id uint64) error {
	deadline := time.Now().Add(2 * f.cfg.ParityWait)
	var (
		plan *shardPlan
		d    storagetypes.Deal
		want []int
	)
	for {
		var replicas []storagetypes.Replica
		var err error
		if d, replicas, err = f.node.Deal(ctx, id); err != nil {
			return err
		}
		scheme := d.Scheme()
		i := slices.IndexFunc(replicas, func(r storagetypes.Replica) bool { return r.Provider == f.me })
		if !scheme.Erasure() || i < 0 || replicas[i].Shard != 0 {
			return nil
		}
		// The commit just sent may not be in a block yet: wait for it.
		ready := replicas[i].Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED
		want = want[:0]
		for _, r := range replicas {
			if r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED && r.Shard >= scheme.K {
				want = append(want, int(r.Shard))
			}
		}
		if len(want) == 0 {
			return nil
		}
		if plan, err = planShards(ctx, f.node, f.fetch, f.me, d, replicas, 0, f.store); err != nil {
			return err
		}
		if ready && plan.count() >= plan.scheme.K {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %d of the %d shards needed are committed", errNoSource, plan.count(), plan.scheme.K)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	shards, err := erasure.Collect(ctx, plan.scheme, d.Size_, int(d.ChunkSize), plan.roots, plan.fetch, f.store.TempDir(), plan.local)
	if err != nil {
		return err
	}
	defer shards.Close()
	staged, err := f.stageShards(shards, id, want, plan.roots, int(d.ChunkSize))
	if err != nil {
		return err
	}
	f.log.Info("parity shards computed, verified and staged", "deal", id, "shards", staged, "from shards", shards.Have())
	return nil
}

// stageShards rebuilds the shards in want from shards in one pass and
// stages, where handleParity serves them, those that match their roots.
func (f *Follower) stageShards(shards *erasure.Shards, id uint64, want []int, roots []merkle.Hash, chunkSize int) ([]int, error) {
	fill := make([]io.Writer, shards.Scheme.N())
	tmps := map[int]*os.File{}
	builders := map[int]*merkle.Builder{}
	defer func() {
		for _, t := range tmps {
			t.Close()
			os.Remove(t.Name())
		}
	}()
	for _, i := range want {
		t, err := os.CreateTemp(f.store.TempDir(), "staging-*")
		if err != nil {
			return nil, err
		}
		tmps[i] = t
		if builders[i], err = merkle.NewBuilder(chunkSize); err != nil {
			return nil, err
		}
		// Staged on disk, not in memory (ADR 016): its holder fetches it
		// once, in a few seconds.
		fill[i] = io.MultiWriter(writeback.NewWriter(t, 0), builders[i])
	}
	if err := shards.RebuildSome(fill); err != nil {
		return nil, err
	}
	var staged []int
	for _, i := range want {
		if builders[i].Root() != roots[i] {
			f.log.Warn("parity shard not staged: computed from the data shards, it does not match the owner's root for it", "deal", id, "shard", i)
			continue
		}
		if err := tmps[i].Close(); err != nil {
			return staged, err
		}
		path := f.store.StagedShardPath(id, i)
		if err := os.Rename(tmps[i].Name(), path); err != nil {
			return staged, err
		}
		delete(tmps, i)
		time.AfterFunc(f.cfg.StageTTL, func() { _ = os.Remove(path) })
		staged = append(staged, i)
	}
	return staged, nil
}

// shardPlan is where each shard of an erasure-coded deal can be read.
type shardPlan struct {
	scheme erasure.Scheme
	roots  []merkle.Hash
	// holders are the committed holders of each shard, other than me.
	holders [][]providerapi.Target
	// fetch reads each shard: from local when it holds a verified copy,
	// else from its first holder (nil: nobody holds it).
	fetch []erasure.FetchShard
	// local is the shard read from local (-1: none); Collect tries it
	// first.
	local int
}

func (p *shardPlan) count() int {
	n := 0
	for _, f := range p.fetch {
		if f != nil {
			n++
		}
	}
	return n
}

// planShards finds the committed holders of every shard of erasure-coded
// deal d. job is as in FetchFunc. local, when it holds this provider's
// verified shard of d, serves that shard without a download.
func planShards(ctx context.Context, node *Node, fetch FetchFunc, me string, d storagetypes.Deal, replicas []storagetypes.Replica, job uint64, local *store.Store) (*shardPlan, error) {
	scheme := d.Scheme()
	p := &shardPlan{scheme: erasure.Scheme{K: int(scheme.K), M: int(scheme.M)}, local: -1}
	n := p.scheme.N()
	if len(d.ShardRoots) != n {
		return nil, fmt.Errorf("deal %d: %d shard roots for %s", d.Id, len(d.ShardRoots), p.scheme)
	}
	p.roots = make([]merkle.Hash, n)
	for i := range p.roots {
		var err error
		if p.roots[i], err = merkle.HashFromBytes(d.ShardRoots[i]); err != nil {
			return nil, fmt.Errorf("deal %d shard %d: %w", d.Id, i, err)
		}
	}
	p.holders = make([][]providerapi.Target, n)
	p.fetch = make([]erasure.FetchShard, n)
	for _, x := range replicas {
		if x.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED || int(x.Shard) >= n {
			continue
		}
		if x.Provider == me {
			if local == nil {
				continue
			}
			if f, meta, err := local.OpenData(d.Id); err == nil {
				f.Close()
				if meta.Root == p.roots[x.Shard] && meta.Size == scheme.ShardSize {
					p.local = int(x.Shard)
					p.fetch[x.Shard] = func(ctx context.Context, w io.Writer) error {
						f, _, err := local.OpenData(d.Id)
						if err != nil {
							return err
						}
						defer f.Close()
						_, err = io.Copy(w, f)
						return err
					}
				}
			}
			continue
		}
		ep, err := node.Endpoint(ctx, x.Provider)
		if err != nil {
			continue
		}
		target := providerapi.Target{Provider: x.Provider, URL: ep}
		p.holders[x.Shard] = append(p.holders[x.Shard], target)
		if p.fetch[x.Shard] == nil {
			p.fetch[x.Shard] = func(ctx context.Context, w io.Writer) error { return fetch(ctx, target, d.Id, job, w) }
		}
	}
	return p, nil
}

// commit sends the replica's commit without waiting for its block: the
// sender keeps the sequence, so the commits of many deals ready in one
// step share blocks instead of taking one block each.
func (f *Follower) commit(ctx context.Context, id uint64) {
	f.mu.Lock()
	if f.committed[id] {
		f.mu.Unlock()
		return
	}
	f.committed[id] = true
	f.mu.Unlock()
	f.inflight.Add(1)
	go func() {
		defer f.inflight.Done()
		res, err := f.sender.Send(ctx, &storagetypes.MsgCommitReplica{Provider: f.me, DealId: id})
		if err != nil {
			f.txError("commit_replica", err)
			f.mu.Lock()
			delete(f.committed, id)
			f.mu.Unlock()
			return
		}
		f.log.Info("replica committed", "deal", id, "tx", res.TxHash)
		f.stageParity(ctx, id)
	}()
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
		shape, err := f.node.DealInfo(ctx, id)
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

func (f *Follower) countRepair(result string) {
	if f.metrics != nil {
		f.metrics.ProofRepairs.WithLabelValues(result).Inc()
	}
}
