package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/jobarchive"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	computetypes "github.com/stratusnet/stratus/x/compute/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// JobSpec is a compute job to submit.
type JobSpec struct {
	// ProgramPath is a .wasm file; when it is larger than the chain sends
	// inline it is stored first as a public deal with ProgramDeal's terms.
	ProgramPath string
	// ProgramDeal runs the program already stored in this deal instead.
	ProgramDeal uint64
	// ProgramTerms are the terms of the deal a large program is stored as
	// (Public is forced: executors read it as stored).
	ProgramTerms PutOptions
	Inputs       []uint64
	Args, Env    []string
	Limits       computetypes.Limits
	Executors    uint32
	// Price is the most paid to each executor whose result is agreed.
	Price sdk.Coin
	// StoreOutput keeps the agreed output as a deal (nil: do not).
	StoreOutput *computetypes.StoreOutput
	// Public serves the output to anyone once the verdict is final.
	Public bool
}

// SubmittedJob is a job the chain accepted. Its executors are drawn at the
// next block (WaitJob and Job show them).
type SubmittedJob struct {
	ID     uint64
	Escrow sdk.Coin
	// ProgramDeal is the deal the program was stored as, when it was.
	ProgramDeal uint64
}

// RunJob submits a job. It does not wait: follow it with WaitJob.
func (c *Client) RunJob(ctx context.Context, spec JobSpec) (SubmittedJob, error) {
	params, err := computetypes.NewQueryClient(c.cctx).Params(ctx, &computetypes.QueryParamsRequest{})
	if err != nil {
		return SubmittedJob{}, fmt.Errorf("reading compute params: %w", err)
	}
	msg := &computetypes.MsgSubmitJob{
		Owner: c.Account(), Inputs: spec.Inputs, Args: spec.Args, Env: spec.Env, Executors: spec.Executors,
		Price: spec.Price, Limits: spec.Limits, StoreOutput: spec.StoreOutput, Public: spec.Public,
	}
	var out SubmittedJob
	programDeal := spec.ProgramDeal
	if programDeal == 0 {
		wasm, err := os.ReadFile(spec.ProgramPath)
		if err != nil {
			return out, err
		}
		if len(wasm) == 0 {
			return out, fmt.Errorf("%s is empty: give a WebAssembly module", spec.ProgramPath)
		}
		if uint64(len(wasm)) <= params.Params.MaxInlineProgram {
			msg.Program = wasm
		} else {
			c.linef("%s is %s, above the %s sent inline: storing it as a public deal first", spec.ProgramPath,
				HumanBytes(uint64(len(wasm))), HumanBytes(params.Params.MaxInlineProgram))
			terms := spec.ProgramTerms
			terms.Public = true
			stored, err := c.Put(ctx, spec.ProgramPath, terms)
			if err != nil {
				return out, fmt.Errorf("storing the program: %w", err)
			}
			programDeal, out.ProgramDeal = stored.DealID, stored.DealID
			c.linef("program stored as deal %d; reuse it with --program-deal %d", programDeal, programDeal)
		}
	}
	if programDeal != 0 {
		d, _, err := c.Deal(ctx, programDeal)
		if err != nil {
			return out, fmt.Errorf("program deal %d: %w", programDeal, err)
		}
		msg.ProgramDealId, msg.ProgramRoot = programDeal, d.Root
	}
	if err := msg.ValidateBasic(); err != nil {
		return out, err
	}
	res, err := c.send(ctx, msg)
	if err != nil {
		return out, fmt.Errorf("submitting the job: %w", err)
	}
	var resp computetypes.MsgSubmitJobResponse
	if err := c.decodeMsgResponse(res, &resp); err != nil {
		return out, err
	}
	out.ID, out.Escrow = resp.JobId, resp.Escrow
	c.linef("job %d submitted: escrow %s; its %d executors are drawn at the next block", resp.JobId, resp.Escrow, spec.Executors)
	return out, nil
}

// WaitJob follows a job until it ends (or timeout passes), reporting its
// phases as status lines. Node errors are retried for a while.
func (c *Client) WaitJob(ctx context.Context, id uint64, timeout time.Duration) (computetypes.Job, error) {
	q := computetypes.NewQueryClient(c.cctx)
	deadline := time.Now().Add(timeout)
	last := ""
	failures := 0
	for {
		res, err := q.Job(ctx, &computetypes.QueryJobRequest{JobId: id})
		if err != nil {
			// A node restarting or busy: keep following for a while.
			if failures++; failures > 10 || ctx.Err() != nil {
				return computetypes.Job{}, err
			}
			c.linef("querying job %d failed (%v); retrying", id, err)
			select {
			case <-ctx.Done():
				return computetypes.Job{}, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		failures = 0
		j := res.Job
		counts := map[string]int{}
		for _, e := range j.Executors {
			counts[ShortStatus(e.Status.String())]++
		}
		state := fmt.Sprintf("job %d %s: %s", id, ShortStatus(j.Status.String()), formatCounts(counts))
		if j.Open() {
			state = fmt.Sprintf("job %d %s (phase ends at block %d): %s", id, ShortStatus(j.Status.String()), j.Deadline, formatCounts(counts))
		}
		if state != last {
			c.linef("%s", state)
			last = state
		}
		if !j.Open() {
			return j, nil
		}
		if time.Now().After(deadline) {
			return j, fmt.Errorf("job %d is still %s after %s; check 'stratusd compute status %d'", id, ShortStatus(j.Status.String()), timeout, id)
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func formatCounts(c map[string]int) string {
	var parts []string
	for _, k := range []string{"assigned", "committed", "revealed", "agreed", "dissented", "missed", "released"} {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[k], k))
		}
	}
	if len(parts) == 0 {
		return "no executors yet"
	}
	return strings.Join(parts, ", ")
}

// ShortStatus turns an enum name such as DEAL_STATUS_ACTIVE into "active".
func ShortStatus(s string) string {
	for _, p := range []string{"DEAL_STATUS_", "REPLICA_STATUS_", "JOB_STATUS_", "EXECUTOR_STATUS_"} {
		s = strings.TrimPrefix(s, p)
	}
	return strings.ToLower(s)
}

// FetchOutput downloads a succeeded job's output archive from one of the
// executors that agreed on it (or from its output deal), checks every byte
// against the agreed root and unpacks it into dir (empty or new).
func (c *Client) FetchOutput(ctx context.Context, id uint64, dir string) (jobarchive.Manifest, error) {
	var m jobarchive.Manifest
	res, err := computetypes.NewQueryClient(c.cctx).Job(ctx, &computetypes.QueryJobRequest{JobId: id})
	if err != nil {
		return m, err
	}
	j := res.Job
	if j.Status != computetypes.JobStatus_JOB_STATUS_SUCCEEDED || j.Result == nil {
		return m, fmt.Errorf("job %d is %s: only a succeeded job has an agreed output", id, ShortStatus(j.Status.String()))
	}
	if err := c.checkAccess(fmt.Sprintf("the output of job %d", id), j.Owner, j.Public); err != nil {
		return m, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return m, fmt.Errorf("%s is not empty: give a new or empty directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	root, err := merkle.HashFromBytes(j.Result.OutputRoot)
	if err != nil {
		return m, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(filepath.Clean(dir)), ".stratus-output-*")
	if err != nil {
		return m, err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)

	// The executors that agreed serve the archive; an output deal's
	// replicas serve the same bytes as deal data.
	var agreed []string
	for _, e := range j.Executors {
		if e.Status == computetypes.ExecutorStatus_EXECUTOR_STATUS_AGREED {
			agreed = append(agreed, e.Provider)
		}
	}
	_, err = c.FetchVerified(ctx, agreed, func(ctx context.Context, t providerapi.Target, w io.Writer) error {
		return c.api.JobOutput(ctx, t, id, w)
	}, root, j.Result.Size_, int(j.ChunkSize), tmpPath)
	if err != nil && j.OutputDealId != 0 {
		c.linef("no executor served job %d's output (%v); trying its output deal %d", id, err, j.OutputDealId)
		var holders []string
		if _, replicas, qerr := c.Deal(ctx, j.OutputDealId); qerr == nil {
			for _, r := range replicas {
				if r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
					holders = append(holders, r.Provider)
				}
			}
		}
		_, err = c.FetchVerified(ctx, holders, func(ctx context.Context, t providerapi.Target, w io.Writer) error {
			return c.api.Download(ctx, t, j.OutputDealId, w)
		}, root, j.Result.Size_, int(j.ChunkSize), tmpPath)
	}
	if err != nil {
		return m, fmt.Errorf("job %d's output: %w", id, err)
	}
	f, err := os.Open(tmpPath)
	if err != nil {
		return m, err
	}
	defer f.Close()
	if m, err = jobarchive.Extract(f, dir); err != nil {
		return m, fmt.Errorf("unpacking the verified output: %w", err)
	}
	c.linef("verified against the agreed root %s and unpacked into %s", root, dir)
	return m, nil
}
