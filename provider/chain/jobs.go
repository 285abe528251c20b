package chain

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/erasure"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/executor"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
	computetypes "github.com/stratusnet/stratus/x/compute/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// Fault is a deliberate misbehaviour for tests of the chain's judgement.
// It is set only through the STRATUS_PROVIDER_TEST_FAULT environment
// variable and must never be used in production.
type Fault string

// Faults the job runner can inject.
const (
	FaultNone Fault = ""
	// FaultWrongResult commits to and reveals a result with a corrupted root.
	FaultWrongResult Fault = "wrong-result"
	// FaultIgnoreJobs never runs, commits or reveals anything.
	FaultIgnoreJobs Fault = "ignore-jobs"
)

// ParseFault checks a fault name.
func ParseFault(s string) (Fault, error) {
	switch f := Fault(s); f {
	case FaultNone, FaultWrongResult, FaultIgnoreJobs:
		return f, nil
	}
	return FaultNone, fmt.Errorf("unknown test fault %q (want %q or %q)", s, FaultWrongResult, FaultIgnoreJobs)
}

// JobsConfig tunes the job runner.
type JobsConfig struct {
	// Dir keeps each job's result record and output archive, and verified
	// copies of inputs this provider does not store itself.
	Dir string
	// MaxConcurrent bounds jobs running at once.
	MaxConcurrent int
	// KeepOutputs is how long a finished job's output archive is kept to
	// serve (0: forever). An output stored as a deal lives on in the store.
	KeepOutputs time.Duration
	// InputCacheBytes bounds the cached copies of input and program deals
	// (0: no bound). Before a fetch, the least recently used copies that no
	// running job reads are deleted to make room; copies that running jobs
	// read are never deleted, so the cache exceeds the bound only while the
	// jobs running need more than it.
	InputCacheBytes uint64
	Fault           Fault
}

// Jobs runs the compute jobs assigned to this provider: it fetches and
// verifies the program and inputs, runs the program in the executor,
// commits to the output, reveals it, and keeps the output archive to serve
// (and to store as a deal when the job asks for it).
type Jobs struct {
	node  *Node
	store *store.Store
	// inputs keeps verified copies of input and program deals this provider
	// does not hold itself, in the deal store's own layout.
	inputs *store.Store
	sender Sender
	fetch  FetchFunc
	exec   Runner
	me     string
	meAddr sdk.AccAddress
	cfg    JobsConfig
	log    *slog.Logger
	wake   func()
	// Metrics, when set, counts runs, their time, commits and reveals.
	Metrics *metrics.Metrics

	mu      sync.Mutex
	running map[uint64]bool
	sent    map[string]int64 // "commit/<id>" or "reveal/<id>" -> height sent
	pending map[uint64]bool  // revealed jobs whose end we still wait for
	pruned  int64            // height of the last prune
	reading map[uint64]int   // deal id -> running jobs that read it

	cacheMu sync.Mutex // one eviction pass at a time
}

// record is what the runner keeps about one job's run, in <dir>/<id>/result.json.
type record struct {
	JobID    uint64 `json:"job_id"`
	Root     string `json:"output_root"`
	Size     uint64 `json:"size"`
	ExitCode uint32 `json:"exit_code"`
	Verdict  string `json:"verdict"`
	Salt     string `json:"salt"`
	Revealed bool   `json:"revealed"`
	Done     bool   `json:"done"`
}

func (r record) result() (computetypes.Result, []byte, error) {
	root, err := hex.DecodeString(r.Root)
	if err != nil {
		return computetypes.Result{}, nil, err
	}
	salt, err := hex.DecodeString(r.Salt)
	if err != nil {
		return computetypes.Result{}, nil, err
	}
	return computetypes.Result{OutputRoot: root, Size_: r.Size, ExitCode: r.ExitCode, Verdict: r.Verdict}, salt, nil
}

// Runner runs one job: executor.Executor in process, or executor.Isolated
// in a child process.
type Runner interface {
	Run(ctx context.Context, job executor.Job, workDir string) (executor.Result, error)
}

// NewJobs creates the runner; wake is called when a run finishes.
func NewJobs(node *Node, st *store.Store, sender Sender, fetch FetchFunc, exec Runner, me string,
	cfg JobsConfig, log *slog.Logger, wake func(),
) (*Jobs, error) {
	addr, err := sdk.AccAddressFromBech32(me)
	if err != nil {
		return nil, err
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 1
	}
	inputs, err := store.Open(filepath.Join(cfg.Dir, "inputs"))
	if err != nil {
		return nil, err
	}
	j := &Jobs{
		node: node, store: st, inputs: inputs, sender: sender, fetch: fetch, exec: exec, me: me, meAddr: addr, cfg: cfg, log: log, wake: wake,
		running: map[uint64]bool{}, sent: map[string]int64{}, pending: map[uint64]bool{},
	}
	// Resume: every job with a result not yet seen to end is watched until
	// it ends (a reveal may have landed although its tx seemed to fail).
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		id, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		if rec, ok := j.load(id); ok && !rec.Done {
			j.pending[id] = true
		}
	}
	return j, nil
}

func (j *Jobs) jobDir(id uint64) string { return filepath.Join(j.cfg.Dir, strconv.FormatUint(id, 10)) }

// OutputPath is the archive of a job this provider ran, if it has it and
// the job's verdict is final (an error wrapping server.ErrJobNotSettled
// before).
func (j *Jobs) OutputPath(ctx context.Context, id uint64) (string, bool, error) {
	if _, ok := j.load(id); !ok {
		return "", false, nil
	}
	p := filepath.Join(j.jobDir(id), "output.tar")
	if _, err := os.Stat(p); err != nil {
		return "", false, nil
	}
	// Blind until settled: a co-executor must not read our result before
	// it commits its own.
	job, err := j.node.Job(ctx, id)
	if err != nil {
		return "", false, err
	}
	switch job.Status {
	case computetypes.JobStatus_JOB_STATUS_SUCCEEDED, computetypes.JobStatus_JOB_STATUS_FAILED:
		return p, true, nil
	default:
		return "", false, fmt.Errorf("job %d is %s: %w", id, job.Status, server.ErrJobNotSettled)
	}
}

func (j *Jobs) load(id uint64) (record, bool) {
	bz, err := os.ReadFile(filepath.Join(j.jobDir(id), "result.json"))
	if err != nil {
		return record{}, false
	}
	var r record
	if err := json.Unmarshal(bz, &r); err != nil || r.JobID != id {
		return record{}, false
	}
	return r, true
}

func (j *Jobs) save(r record) error {
	bz, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	dir := j.jobDir(r.JobID)
	tmp := filepath.Join(dir, "result.json.tmp")
	_ = os.Remove(tmp) // left by a crash
	if err := store.WriteFileSync(tmp, bytes.NewReader(bz).WriteTo); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "result.json"))
}

// sentRecently reports whether key was sent within the last few blocks
// (the tx may still be on its way), and marks it sent at h otherwise.
func (j *Jobs) sentRecently(key string, h int64) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if at, ok := j.sent[key]; ok && h-at < 3 {
		return true
	}
	j.sent[key] = h
	return false
}

// Step acts on the jobs at height h.
func (j *Jobs) Step(ctx context.Context, h int64) error {
	if j.cfg.Fault == FaultIgnoreJobs {
		return nil
	}
	jobs, err := j.node.MyOpenJobs(ctx)
	if err != nil {
		return fmt.Errorf("listing jobs: %w", err)
	}
	open := make(map[uint64]bool, len(jobs))
	for _, job := range jobs {
		open[job.Id] = true
		i := job.ExecutorIndex(j.me)
		if i < 0 {
			continue
		}
		switch e := job.Executors[i]; {
		case e.Status == computetypes.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED && job.Status == computetypes.JobStatus_JOB_STATUS_COMMITTING:
			if rec, ok := j.load(job.Id); ok {
				j.commit(ctx, job, rec, h)
			} else {
				j.start(ctx, job)
			}
		case e.Status == computetypes.ExecutorStatus_EXECUTOR_STATUS_COMMITTED && job.Status == computetypes.JobStatus_JOB_STATUS_REVEALING:
			if rec, ok := j.load(job.Id); ok {
				j.reveal(ctx, job, rec, h)
			} else {
				j.log.Error("committed to a job whose result is lost; it will be missed", "job", job.Id)
			}
		}
	}
	j.finish(ctx, open)
	if h-j.pruned >= 100 {
		j.pruned = h
		j.mu.Lock()
		for key, at := range j.sent {
			if h-at > 100 {
				delete(j.sent, key)
			}
		}
		j.mu.Unlock()
		if j.cfg.KeepOutputs > 0 {
			j.prune()
		}
	}
	return nil
}

// prune deletes, once older than KeepOutputs: the directories of finished
// jobs, those of jobs that never got a result (a run that failed, a job that
// ended before this provider ran it), and cached copies of inputs.
func (j *Jobs) prune() {
	old := func(path string) bool {
		st, err := os.Stat(path)
		return err == nil && time.Since(st.ModTime()) >= j.cfg.KeepOutputs
	}
	j.mu.Lock()
	running := len(j.running)
	j.mu.Unlock()
	j.makeRoom(0)
	// A running job may still open its inputs: prune them only when idle.
	if ids, err := j.inputs.List(); err == nil && running == 0 {
		for _, id := range ids {
			if path, ok := j.cachedInput(id); ok && old(path) {
				if err := j.inputs.Delete(id); err == nil {
					j.log.Info("pruned a cached job input", "deal", id)
				}
			}
		}
	}
	entries, err := os.ReadDir(j.cfg.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		id, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		j.mu.Lock()
		busy := j.running[id]
		j.mu.Unlock()
		if busy {
			continue
		}
		rec, ok := j.load(id)
		if ok && !rec.Done {
			continue
		}
		if _, err := os.Stat(filepath.Join(j.jobDir(id), "result.json")); !ok && !os.IsNotExist(err) {
			continue // a record we cannot read now is not proof there is none
		}
		marker := j.jobDir(id)
		if ok {
			marker = filepath.Join(j.jobDir(id), "result.json")
		}
		if !old(marker) {
			continue
		}
		if err := os.RemoveAll(j.jobDir(id)); err != nil {
			j.log.Warn("pruning a finished job", "job", id, "err", err)
			continue
		}
		j.log.Info("pruned the output of a finished job", "job", id)
	}
}

func (j *Jobs) commit(ctx context.Context, job computetypes.Job, rec record, h int64) {
	if j.sentRecently(fmt.Sprintf("commit/%d", job.Id), h) {
		return
	}
	res, salt, err := rec.result()
	if err != nil {
		j.log.Error("bad result record", "job", job.Id, "err", err)
		return
	}
	tx, err := j.sender.Send(ctx, &computetypes.MsgCommitResult{
		Provider: j.me, JobId: job.Id, Commitment: computetypes.Commitment(j.meAddr, job.Id, res, salt),
	})
	if err != nil {
		j.txError("commit_result", job.Id, err)
		return
	}
	if j.Metrics != nil {
		j.Metrics.JobResults.WithLabelValues("commit").Inc()
	}
	j.log.Info("job result committed", "job", job.Id, "verdict", rec.Verdict, "tx", tx.TxHash)
}

func (j *Jobs) reveal(ctx context.Context, job computetypes.Job, rec record, h int64) {
	if j.sentRecently(fmt.Sprintf("reveal/%d", job.Id), h) {
		return
	}
	res, salt, err := rec.result()
	if err != nil {
		j.log.Error("bad result record", "job", job.Id, "err", err)
		return
	}
	tx, err := j.sender.Send(ctx, &computetypes.MsgRevealResult{Provider: j.me, JobId: job.Id, Result: res, Salt: salt})
	if err != nil {
		j.txError("reveal_result", job.Id, err)
		return
	}
	rec.Revealed = true
	if err := j.save(rec); err != nil {
		j.log.Warn("saving the job record", "job", job.Id, "err", err)
	}
	if j.Metrics != nil {
		j.Metrics.JobResults.WithLabelValues("reveal").Inc()
	}
	j.log.Info("job result revealed", "job", job.Id, "root", rec.Root, "exit_code", rec.ExitCode, "tx", tx.TxHash)
}

func (j *Jobs) txError(msg string, id uint64, err error) {
	j.log.Warn("transaction failed", "msg", msg, "job", id, "err", err)
	if j.Metrics != nil {
		j.Metrics.TxErrors.WithLabelValues(msg).Inc()
	}
}

// finish looks at the jobs it has a result for and no longer has to act on
// (open lists those it must still commit or reveal in). Once such a job
// ends, an agreed output that the job stores as a deal is moved into the
// store, where it is proven like any replica.
func (j *Jobs) finish(ctx context.Context, open map[uint64]bool) {
	j.mu.Lock()
	ids := make([]uint64, 0, len(j.pending))
	for id := range j.pending {
		if !open[id] { // listed as still to act on: not ended
			ids = append(ids, id)
		}
	}
	j.mu.Unlock()
	for _, id := range ids {
		job, err := j.node.Job(ctx, id)
		if err != nil || job.Open() {
			continue
		}
		rec, ok := j.load(id)
		if !ok {
			continue
		}
		i := job.ExecutorIndex(j.me)
		if job.OutputDealId != 0 && i >= 0 && job.Executors[i].Status == computetypes.ExecutorStatus_EXECUTOR_STATUS_AGREED &&
			!j.store.Has(job.OutputDealId) {
			holds, err := j.holdsReplica(ctx, job.OutputDealId)
			if err != nil {
				continue // ask again at the next block
			}
			if !holds {
				j.log.Info("job output stored as a deal by other executors", "job", id, "deal", job.OutputDealId)
			} else if err := j.importOutput(job); err != nil {
				j.log.Error("storing the job output as a deal failed; retrying", "job", id, "deal", job.OutputDealId, "err", err)
				continue
			} else {
				j.log.Info("job output stored as a deal", "job", id, "deal", job.OutputDealId)
			}
		}
		rec.Done = true
		if err := j.save(rec); err != nil {
			j.log.Warn("saving the job record", "job", id, "err", err)
		}
		status := job.Status.String()
		if i >= 0 {
			status = job.Executors[i].Status.String()
		}
		j.log.Info("job finished", "job", id, "job_status", job.Status.String(), "verdict", status)
		j.mu.Lock()
		delete(j.pending, id)
		j.mu.Unlock()
	}
}

// holdsReplica reports whether this provider has a committed replica of deal id.
func (j *Jobs) holdsReplica(ctx context.Context, id uint64) (bool, error) {
	_, replicas, err := j.node.Deal(ctx, id)
	if err != nil {
		return false, err
	}
	for _, r := range replicas {
		if r.Provider == j.me && r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			return true, nil
		}
	}
	return false, nil
}

func (j *Jobs) importOutput(job computetypes.Job) error {
	root, err := merkle.HashFromBytes(job.Result.OutputRoot)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(j.jobDir(job.Id), "output.tar"))
	if err != nil {
		return err
	}
	defer f.Close()
	return j.store.Put(job.OutputDealId, store.Expect{Root: root, Size: job.Result.Size_, ChunkSize: int(job.ChunkSize)}, f)
}

// start runs a job in the background unless it runs already or too many do.
func (j *Jobs) start(ctx context.Context, job computetypes.Job) {
	j.mu.Lock()
	if j.running[job.Id] || len(j.running) >= j.cfg.MaxConcurrent {
		j.mu.Unlock()
		return
	}
	j.running[job.Id] = true
	j.mu.Unlock()
	go func() {
		defer func() {
			j.mu.Lock()
			delete(j.running, job.Id)
			j.mu.Unlock()
		}()
		start := time.Now()
		rec, err := j.run(ctx, job)
		if m := j.Metrics; m != nil {
			m.JobRunSeconds.Observe(time.Since(start).Seconds())
			verdict := rec.Verdict
			if err != nil {
				verdict = "error"
			}
			m.JobsRun.WithLabelValues(verdict).Inc()
		}
		if err != nil {
			j.log.Warn("job run failed; will retry", "job", job.Id, "err", err)
			return
		}
		j.log.Info("job ran", "job", job.Id, "verdict", rec.Verdict, "exit_code", rec.ExitCode,
			"output_bytes", rec.Size, "took", time.Since(start).Round(time.Millisecond))
		if j.wake != nil {
			j.wake()
		}
	}()
}

// run fetches and verifies the program and the inputs, runs the program,
// and records the result with a fresh salt.
func (j *Jobs) run(ctx context.Context, job computetypes.Job) (record, error) {
	dir := j.jobDir(job.Id)
	work := filepath.Join(dir, "work")
	if err := os.RemoveAll(work); err != nil {
		return record{}, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return record{}, err
	}
	defer os.RemoveAll(work)
	deals := []uint64{job.ProgramDealId}
	for _, in := range job.Inputs {
		deals = append(deals, in.DealId)
	}
	j.markReading(deals, 1)
	defer j.markReading(deals, -1)
	program, err := j.program(ctx, job)
	if err != nil {
		return record{}, fmt.Errorf("program: %w", err)
	}
	inputs := make([]executor.Input, 0, len(job.Inputs))
	for _, in := range job.Inputs {
		path, err := j.input(ctx, job.Id, in.DealId, in.Root, in.Size_)
		if err != nil {
			return record{}, fmt.Errorf("input deal %d: %w", in.DealId, err)
		}
		inputs = append(inputs, executor.Input{Name: strconv.FormatUint(in.DealId, 10), Path: path})
	}
	var programRoot [32]byte
	copy(programRoot[:], job.ProgramRoot)
	res, err := j.exec.Run(ctx, executor.Job{
		ID: job.Id, Program: program, ProgramRoot: programRoot, Args: job.Args, Env: job.Env, Inputs: inputs,
		ChunkSize: int(job.ChunkSize),
		Limits: executor.Limits{
			MemoryBytes: job.Limits.MemoryBytes,
			Fuel:        job.Limits.Fuel,
			Timeout:     time.Duration(job.Limits.TimeoutMs) * time.Millisecond,
			MaxOutput:   job.Limits.MaxOutputBytes,
		},
	}, work)
	if err != nil {
		return record{}, err
	}
	if err := os.Rename(res.Archive, filepath.Join(dir, "output.tar")); err != nil {
		return record{}, err
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return record{}, err
	}
	root := res.Root
	if j.cfg.Fault == FaultWrongResult {
		root[0] ^= 0xff
		j.log.Warn("TEST FAULT: committing to a wrong result", "job", job.Id)
	}
	rec := record{
		JobID: job.Id, Root: hex.EncodeToString(root[:]), Size: res.Size, ExitCode: res.ExitCode,
		Verdict: string(res.Verdict), Salt: hex.EncodeToString(salt),
	}
	if err := j.save(rec); err != nil {
		return rec, err
	}
	j.mu.Lock()
	j.pending[job.Id] = true
	j.mu.Unlock()
	return rec, nil
}

// program returns the job's wasm, verified against its root.
func (j *Jobs) program(ctx context.Context, job computetypes.Job) ([]byte, error) {
	if job.ProgramDealId == 0 {
		wasm, err := j.node.Program(ctx, job.Id)
		if err != nil {
			return nil, err
		}
		root, err := merkle.Root(wasm, int(job.ChunkSize))
		if err != nil {
			return nil, err
		}
		if string(root[:]) != string(job.ProgramRoot) {
			return nil, errors.New("the chain's inline program does not match the job's program root")
		}
		return wasm, nil
	}
	path, err := j.input(ctx, job.Id, job.ProgramDealId, job.ProgramRoot, job.ProgramSize)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// input returns the path of a verified copy of a deal's data: the store's
// own when this provider holds it, otherwise a copy fetched from a holder
// into the input cache (verified by the store as any replica is).
func (j *Jobs) input(ctx context.Context, jobID, dealID uint64, rootBytes []byte, size uint64) (string, error) {
	root, err := merkle.HashFromBytes(rootBytes)
	if err != nil {
		return "", err
	}
	for _, st := range []*store.Store{j.store, j.inputs} {
		if f, meta, err := st.OpenData(dealID); err == nil {
			f.Close()
			if meta.Root == root && meta.Size == size {
				now := time.Now()
				_ = os.Chtimes(f.Name(), now, now) // recently used: not pruned
				return f.Name(), nil
			}
		}
	}
	d, replicas, err := j.node.Deal(ctx, dealID)
	if err != nil {
		return "", err
	}
	j.makeRoom(size)
	expect := store.Expect{Root: root, Size: size, ChunkSize: int(d.ChunkSize)}
	if d.Scheme().Erasure() {
		return j.decodeInput(ctx, jobID, d, replicas, expect)
	}
	var errs []error
	for _, r := range replicas {
		if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED || r.Provider == j.me {
			continue
		}
		ep, err := j.node.Endpoint(ctx, r.Provider)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := fetchInto(ctx, j.fetch, j.inputs, providerapi.Target{Provider: r.Provider, URL: ep}, dealID, jobID, expect); err != nil {
			errs = append(errs, fmt.Errorf("from %s: %w", r.Provider, err))
			continue
		}
		j.log.Info("job input fetched and verified", "deal", dealID, "from", r.Provider, "bytes", size)
		if path, ok := j.cachedInput(dealID); ok {
			return path, nil
		}
	}
	if len(errs) == 0 {
		return "", errors.New("no committed replica to fetch from")
	}
	return "", errors.Join(errs...)
}

// decodeInput fetches any k verified shards of erasure-coded deal d (this
// provider's own shard among them when it holds one), decodes the file and
// keeps it in the input cache, checked against the deal's root.
func (j *Jobs) decodeInput(ctx context.Context, jobID uint64, d storagetypes.Deal, replicas []storagetypes.Replica, expect store.Expect) (string, error) {
	plan, err := planShards(ctx, j.node, j.fetch, j.me, d, replicas, jobID, j.store)
	if err != nil {
		return "", err
	}
	if have := plan.count(); have < plan.scheme.K {
		return "", fmt.Errorf("deal %d: %d of the %d shards needed are held", d.Id, have, plan.scheme.K)
	}
	shards, err := erasure.Collect(ctx, plan.scheme, d.Size_, int(d.ChunkSize), plan.roots, plan.fetch, j.inputs.TempDir(), plan.local)
	if err != nil {
		return "", fmt.Errorf("deal %d: %w", d.Id, err)
	}
	defer shards.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(shards.Decode(pw)) }()
	err = j.inputs.Put(d.Id, expect, pr)
	pr.CloseWithError(err)
	if err != nil {
		return "", fmt.Errorf("decoding deal %d: %w", d.Id, err)
	}
	j.log.Info("job input decoded and verified", "deal", d.Id, "from shards", shards.Have(), "bytes", d.Size_)
	path, ok := j.cachedInput(d.Id)
	if !ok {
		return "", fmt.Errorf("deal %d: decoded but not in the input cache", d.Id)
	}
	return path, nil
}

// markReading counts the running jobs that read each deal (program and
// inputs): the input cache never deletes those.
func (j *Jobs) markReading(deals []uint64, delta int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.reading == nil {
		j.reading = map[uint64]int{}
	}
	for _, id := range deals {
		if id == 0 {
			continue
		}
		if j.reading[id] += delta; j.reading[id] <= 0 {
			delete(j.reading, id)
		}
	}
}

// cachedCopy is one cached input, for the quota.
type cachedCopy struct {
	id    uint64
	bytes uint64
	used  time.Time // the data file's mtime: touched on every use
}

// cacheUsage lists the cached inputs, least recently used first.
func (j *Jobs) cacheUsage() ([]cachedCopy, uint64) {
	ids, err := j.inputs.List()
	if err != nil {
		return nil, 0
	}
	var copies []cachedCopy
	var total uint64
	for _, id := range ids {
		f, _, err := j.inputs.OpenData(id)
		if err != nil {
			continue
		}
		st, err := f.Stat()
		f.Close()
		if err != nil {
			continue
		}
		copies = append(copies, cachedCopy{id: id, bytes: uint64(st.Size()), used: st.ModTime()})
		total += uint64(st.Size())
	}
	slices.SortFunc(copies, func(a, b cachedCopy) int { return a.used.Compare(b.used) })
	return copies, total
}

// makeRoom deletes the least recently used cached inputs that no running
// job reads until need more bytes fit within InputCacheBytes (need 0: until
// the cache is within it).
func (j *Jobs) makeRoom(need uint64) {
	quota := j.cfg.InputCacheBytes
	if quota == 0 {
		return
	}
	j.cacheMu.Lock()
	defer j.cacheMu.Unlock()
	copies, total := j.cacheUsage()
	for _, c := range copies {
		if total+need <= quota {
			return
		}
		j.mu.Lock()
		busy := j.reading[c.id] > 0
		j.mu.Unlock()
		if busy {
			continue
		}
		if err := j.inputs.Delete(c.id); err != nil {
			j.log.Warn("evicting a cached job input", "deal", c.id, "err", err)
			continue
		}
		total -= c.bytes
		j.log.Info("evicted a cached job input for room", "deal", c.id, "bytes", c.bytes, "quota", quota)
	}
	if total+need > quota {
		j.log.Warn("the input cache is over its quota: the running jobs read more than it holds",
			"cached", total, "fetching", need, "quota", quota)
	}
}

// cachedInput is the data file of a cached input.
func (j *Jobs) cachedInput(id uint64) (string, bool) {
	f, _, err := j.inputs.OpenData(id)
	if err != nil {
		return "", false
	}
	f.Close()
	return f.Name(), true
}
