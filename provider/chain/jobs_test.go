package chain

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	computetypes "github.com/stratusnet/stratus/x/compute/types"
)

func TestParseFault(t *testing.T) {
	for _, s := range []string{"", "wrong-result", "ignore-jobs"} {
		f, err := ParseFault(s)
		require.NoError(t, err)
		require.Equal(t, Fault(s), f)
	}
	_, err := ParseFault("lie")
	require.ErrorContains(t, err, "unknown test fault")
}

// fakeJobs answers Job queries from a map of statuses.
type fakeJobs struct {
	computetypes.QueryClient
	status map[uint64]computetypes.JobStatus
}

func (f *fakeJobs) Job(_ context.Context, in *computetypes.QueryJobRequest, _ ...grpc.CallOption) (*computetypes.QueryJobResponse, error) {
	st, ok := f.status[in.JobId]
	if !ok {
		return nil, fmt.Errorf("job %d not found", in.JobId)
	}
	return &computetypes.QueryJobResponse{Job: computetypes.Job{Id: in.JobId, Status: st}}, nil
}

func newTestJobs(t *testing.T, keep time.Duration) *Jobs {
	t.Helper()
	dir := t.TempDir()
	inputs, err := store.Open(filepath.Join(dir, "inputs"))
	require.NoError(t, err)
	chain := &fakeJobs{status: map[uint64]computetypes.JobStatus{7: computetypes.JobStatus_JOB_STATUS_SUCCEEDED}}
	return &Jobs{cfg: JobsConfig{Dir: dir, KeepOutputs: keep}, inputs: inputs, log: slog.New(slog.DiscardHandler),
		node:    &Node{compute: chain},
		running: map[uint64]bool{}, sent: map[string]int64{}, pending: map[uint64]bool{}}
}

func TestRecordRoundTripAndOutputPath(t *testing.T) {
	j := newTestJobs(t, 0)
	ctx := context.Background()
	_, ok, err := j.OutputPath(ctx, 7)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, os.MkdirAll(j.jobDir(7), 0o755))
	rec := record{JobID: 7, Root: "00ff", Size: 3, ExitCode: 2, Verdict: "exit", Salt: "0102"}
	require.NoError(t, j.save(rec))
	got, ok := j.load(7)
	require.True(t, ok)
	require.Equal(t, rec, got)
	res, salt, err := got.result()
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0xff}, res.OutputRoot)
	require.Equal(t, "exit", res.Verdict)
	require.Equal(t, []byte{1, 2}, salt)
	_, ok, err = j.OutputPath(ctx, 7)
	require.NoError(t, err)
	require.False(t, ok, "no archive yet")
	require.NoError(t, os.WriteFile(filepath.Join(j.jobDir(7), "output.tar"), []byte("x"), 0o600))
	p, ok, err := j.OutputPath(ctx, 7)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, filepath.Join(j.jobDir(7), "output.tar"), p)
	// Blind until the verdict is final: committing or revealing, nobody
	// gets it; failed (a final verdict too) serves it.
	jobs := j.node.compute.(*fakeJobs)
	for _, open := range []computetypes.JobStatus{computetypes.JobStatus_JOB_STATUS_COMMITTING, computetypes.JobStatus_JOB_STATUS_REVEALING} {
		jobs.status[7] = open
		_, ok, err = j.OutputPath(ctx, 7)
		require.ErrorIs(t, err, server.ErrJobNotSettled, open.String())
		require.False(t, ok)
	}
	jobs.status[7] = computetypes.JobStatus_JOB_STATUS_FAILED
	_, ok, err = j.OutputPath(ctx, 7)
	require.NoError(t, err)
	require.True(t, ok)
	// A record of another job under this id is not trusted.
	require.NoError(t, os.WriteFile(filepath.Join(j.jobDir(7), "result.json"), []byte(`{"job_id": 8}`), 0o600))
	_, ok = j.load(7)
	require.False(t, ok)
}

func TestPruneKeepsOpenAndRecentJobs(t *testing.T) {
	j := newTestJobs(t, time.Hour)
	old := time.Now().Add(-2 * time.Hour)
	for id, done := range map[uint64]bool{1: true, 2: false, 3: true} {
		require.NoError(t, os.MkdirAll(j.jobDir(id), 0o755))
		require.NoError(t, j.save(record{JobID: id, Done: done}))
		if id != 3 {
			require.NoError(t, os.Chtimes(filepath.Join(j.jobDir(id), "result.json"), old, old))
		}
	}
	// A job that never got a result, and cached inputs, old and recent.
	require.NoError(t, os.MkdirAll(j.jobDir(4), 0o755))
	require.NoError(t, os.Chtimes(j.jobDir(4), old, old))
	require.NoError(t, os.MkdirAll(j.jobDir(5), 0o755))
	for id, data := range map[uint64]string{1: "old input", 2: "new input"} {
		root, err := merkle.Root([]byte(data), 1024)
		require.NoError(t, err)
		require.NoError(t, j.inputs.Put(id, store.Expect{Root: root, Size: uint64(len(data)), ChunkSize: 1024}, strings.NewReader(data)))
	}
	oldInput, ok := j.cachedInput(1)
	require.True(t, ok)
	require.NoError(t, os.Chtimes(oldInput, old, old))
	j.prune()
	require.NoDirExists(t, j.jobDir(4), "an old job without a result is pruned")
	require.DirExists(t, j.jobDir(5), "a recent one is kept")
	require.False(t, j.inputs.Has(1), "an input unused for long is pruned")
	require.True(t, j.inputs.Has(2), "a recently used input is kept")
	_, err := os.Stat(j.jobDir(1))
	require.True(t, os.IsNotExist(err), "an old finished job is pruned")
	_, err = os.Stat(j.jobDir(2))
	require.NoError(t, err, "an unfinished job is kept")
	_, err = os.Stat(j.jobDir(3))
	require.NoError(t, err, "a recent finished job is kept")
}

// The input cache stays within its quota: before a fetch, the least
// recently used copies that no running job reads are deleted; copies a
// running job reads never are.
func TestInputCacheKeepsItsQuota(t *testing.T) {
	j := newTestJobs(t, 0)
	j.cfg.InputCacheBytes = 3000
	put := func(id uint64, age time.Duration) {
		data := strings.Repeat(string(rune('a'+id)), 1000)
		root, err := merkle.Root([]byte(data), 1024)
		require.NoError(t, err)
		require.NoError(t, j.inputs.Put(id, store.Expect{Root: root, Size: 1000, ChunkSize: 1024}, strings.NewReader(data)))
		path, ok := j.cachedInput(id)
		require.True(t, ok)
		used := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(path, used, used))
	}
	put(1, 3*time.Hour) // least recently used
	put(2, 2*time.Hour)
	put(3, time.Hour)
	_, total := j.cacheUsage()
	require.Equal(t, uint64(3000), total)

	// Job reading deal 1 is running: fetching 1,500 bytes evicts 2 and 3
	// (oldest first, skipping 1).
	j.markReading([]uint64{0, 1}, 1)
	j.makeRoom(1500)
	require.True(t, j.inputs.Has(1), "a running job's input is kept")
	require.False(t, j.inputs.Has(2))
	require.False(t, j.inputs.Has(3), "evicted until 1,000 + 1,500 fits")

	// With nothing else to evict, the running job's input stays although
	// the cache is over its quota.
	j.makeRoom(2500)
	require.True(t, j.inputs.Has(1))

	// Once the job ended, its input is evictable, least recently used first.
	j.markReading([]uint64{0, 1}, -1)
	put(4, 0)
	j.makeRoom(1500)
	require.False(t, j.inputs.Has(1))
	require.True(t, j.inputs.Has(4), "the recent copy is kept: 1,000 + 1,500 fits")
	require.Empty(t, j.reading)

	// No quota: nothing is evicted.
	j.cfg.InputCacheBytes = 0
	j.makeRoom(1 << 40)
	require.True(t, j.inputs.Has(4))
}
