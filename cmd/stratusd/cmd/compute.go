package cmd

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/client"
	"github.com/stratusnet/stratus/jobarchive"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	computetypes "github.com/stratusnet/stratus/x/compute/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

func computeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compute",
		Short: "Run WebAssembly programs over stored data on several providers, and fetch verified outputs",
		RunE:  sdkclient.ValidateCmd,
	}
	cmd.AddCommand(runCmd(), outputCmd(), jobStatusCmd(), jobsLsCmd())
	return cmd
}

func runCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run [program.wasm]",
		Short: "Submit a job: run a WASI program over stored files on several providers",
		Long: `Submits PROGRAM (a WASI preview 1 module, e.g. Go built with GOOS=wasip1
GOARCH=wasm) to run over the given deals, each mounted read-only at
/input/<deal-id>. --executors providers run it independently, with no network,
a fixed clock and seed, and the given limits; each commits to the Merkle root
of its output (the files it wrote under /output, its stdout and stderr and its
exit code) and then reveals it. The result a strict majority agrees on is paid;
the others are slashed.

Programs up to the chain's max_inline_program go inline in the transaction;
larger ones are first stored as a public deal. Inputs are read as stored: use
'storage put --public' for data a program should read in the clear.

With --wait, follows the job to its verdict and prints every executor's.`,
		Example: `stratusd compute run wordcount.wasm --input 4 --executors 2 --wait --from alice
stratusd compute run sha256sum.wasm --input 4 --input 5 --store-output --wait --from alice
stratusd compute run --program-deal 9 --input 4 --arg -v --wait --from alice`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			txf, err := tx.NewFactoryCLI(cctx, cmd.Flags())
			if err != nil {
				return err
			}
			if err := requireFrom(cctx); err != nil {
				return err
			}
			programDeal, _ := cmd.Flags().GetUint64("program-deal")
			if (len(args) == 1) == (programDeal != 0) {
				return errors.New("give the program as a .wasm file or as --program-deal, one of the two")
			}
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			return runJob(cmd, cctx, simulatedGas(cmd, txf), path, programDeal)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	f := cmd.Flags()
	f.UintSlice("input", nil, "a deal to mount at /input/<deal-id> (repeat for more)")
	f.StringArray("arg", nil, "an argument for the program (repeat for more)")
	f.StringArray("env", nil, "an environment variable KEY=VALUE (repeat for more)")
	f.Uint32("executors", 2, "providers that run the job independently")
	f.String("price", "2000"+app.BondDenom, "most you pay each executor whose result the majority agrees on")
	f.String("memory", "256MiB", "memory limit of the program")
	f.Duration("timeout", 10*time.Second, "time limit of one run")
	f.String("max-output", "64MiB", "limit on the output (files under /output, stdout and stderr together)")
	f.Bool("store-output", false, "keep the agreed output as a storage deal you own")
	f.Uint32("output-replicas", 2, "replicas of the output deal (with --store-output)")
	f.Uint64("output-duration", 100_000, "blocks to keep the output deal (with --store-output)")
	f.String("output-max-price", "1000"+app.BondDenom, "most paid per replica per GiB per block for the output deal and a stored program")
	f.Uint64("program-deal", 0, "run the program already stored in this (public) deal instead of a .wasm file")
	f.Uint32("program-replicas", 2, "replicas of the program's deal when it is too large to send inline")
	f.Uint64("program-duration", 10_000, "blocks to keep the program's deal when it is too large to send inline")
	f.Bool("public", false, "anyone may download the agreed output (and a stored output deal is public); otherwise only you")
	f.Bool("wait", false, "follow the job to its verdict")
	f.Duration("wait-timeout", 10*time.Minute, "how long to follow the job with --wait")
	return cmd
}

func runJob(cmd *cobra.Command, cctx sdkclient.Context, txf tx.Factory, path string, programDeal uint64) error {
	ctx := cmd.Context()
	out := newProgress(cmd.ErrOrStderr())
	f := cmd.Flags()
	inputList, _ := f.GetUintSlice("input")
	inputs := make([]uint64, len(inputList))
	for i, v := range inputList {
		inputs[i] = uint64(v)
	}
	argv, _ := f.GetStringArray("arg")
	env, _ := f.GetStringArray("env")
	executors, _ := f.GetUint32("executors")
	priceS, _ := f.GetString("price")
	price, err := sdk.ParseCoinNormalized(priceS)
	if err != nil {
		return fmt.Errorf("--price %q: %w", priceS, err)
	}
	memS, _ := f.GetString("memory")
	memory, err := client.ParseBytes(memS)
	if err != nil {
		return fmt.Errorf("--memory: %w", err)
	}
	maxOutS, _ := f.GetString("max-output")
	maxOut, err := client.ParseBytes(maxOutS)
	if err != nil {
		return fmt.Errorf("--max-output: %w", err)
	}
	timeout, _ := f.GetDuration("timeout")
	if timeout < time.Millisecond {
		return errors.New("--timeout must be at least 1ms")
	}
	storePriceS, _ := f.GetString("output-max-price")
	storePrice, err := sdk.ParseDecCoin(storePriceS)
	if err != nil {
		return fmt.Errorf("--output-max-price %q: %w", storePriceS, err)
	}

	params, err := computetypes.NewQueryClient(cctx).Params(ctx, &computetypes.QueryParamsRequest{})
	if err != nil {
		return fmt.Errorf("reading compute params: %w", err)
	}
	msg := &computetypes.MsgSubmitJob{
		Owner: cctx.FromAddress.String(), Inputs: inputs, Args: argv, Env: env, Executors: executors, Price: price,
		Limits: computetypes.Limits{MemoryBytes: memory, TimeoutMs: uint64(timeout / time.Millisecond), MaxOutputBytes: maxOut},
	}
	msg.Public, _ = f.GetBool("public")
	if store, _ := f.GetBool("store-output"); store {
		replicas, _ := f.GetUint32("output-replicas")
		duration, _ := f.GetUint64("output-duration")
		msg.StoreOutput = &computetypes.StoreOutput{Replicas: replicas, DurationBlocks: duration, MaxPrice: storePrice}
	}
	if programDeal == 0 {
		wasm, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if len(wasm) == 0 {
			return fmt.Errorf("%s is empty", path)
		}
		if uint64(len(wasm)) <= params.Params.MaxInlineProgram {
			msg.Program = wasm
		} else {
			replicas, _ := f.GetUint32("program-replicas")
			duration, _ := f.GetUint64("program-duration")
			out.Linef("%s is %s, above the %s sent inline: storing it as a public deal first", path, humanBytes(uint64(len(wasm))),
				humanBytes(params.Params.MaxInlineProgram))
			if programDeal, err = put(cmd, cctx, txf, path, putOptions{
				replicas: replicas, duration: duration, maxPrice: storePrice, timeout: 5 * time.Minute, public: true,
			}); err != nil {
				return fmt.Errorf("storing the program: %w", err)
			}
			out.Linef("program stored as deal %d; reuse it with --program-deal %d", programDeal, programDeal)
		}
	}
	if programDeal != 0 {
		d, err := storagetypes.NewQueryClient(cctx).Deal(ctx, &storagetypes.QueryDealRequest{DealId: programDeal})
		if err != nil {
			return fmt.Errorf("program deal %d: %w", programDeal, err)
		}
		msg.ProgramDealId, msg.ProgramRoot = programDeal, d.Deal.Root
	}
	if err := msg.ValidateBasic(); err != nil {
		return err
	}

	res, err := client.NewTxSender(cctx, txf).Send(ctx, msg)
	if err != nil {
		return fmt.Errorf("submitting the job: %w", err)
	}
	var resp computetypes.MsgSubmitJobResponse
	if err := decodeMsgResponse(cctx, res, &resp); err != nil {
		return err
	}
	out.Linef("job %d submitted: escrow %s, executors %s", resp.JobId, resp.Escrow, strings.Join(resp.Executors, ", "))
	if wait, _ := f.GetBool("wait"); !wait {
		cmd.Println(resp.JobId)
		return nil
	}
	waitTimeout, _ := f.GetDuration("wait-timeout")
	job, err := waitJob(ctx, cctx, out, resp.JobId, waitTimeout)
	if err != nil {
		return err
	}
	printJob(cmd, job)
	if job.Status != computetypes.JobStatus_JOB_STATUS_SUCCEEDED {
		return fmt.Errorf("job %d %s: %s", job.Id, shortStatus(job.Status.String()), job.Reason)
	}
	return nil
}

// waitJob follows a job until it ends, printing its phases.
func waitJob(ctx context.Context, cctx sdkclient.Context, out *progress, id uint64, timeout time.Duration) (computetypes.Job, error) {
	q := computetypes.NewQueryClient(cctx)
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
			out.Linef("querying job %d failed (%v); retrying", id, err)
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
			counts[shortStatus(e.Status.String())]++
		}
		state := fmt.Sprintf("job %d %s: %s", id, shortStatus(j.Status.String()), formatCounts(counts))
		if j.Open() {
			state = fmt.Sprintf("job %d %s (phase ends at block %d): %s", id, shortStatus(j.Status.String()), j.Deadline, formatCounts(counts))
		}
		if state != last {
			out.Linef("%s", state)
			last = state
		}
		if !j.Open() {
			return j, nil
		}
		if time.Now().After(deadline) {
			return j, fmt.Errorf("job %d is still %s after %s; check 'stratusd compute status %d'", id, shortStatus(j.Status.String()), timeout, id)
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
	return strings.Join(parts, ", ")
}

func shortRoot(b []byte) string {
	h := hex.EncodeToString(b)
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// printJob prints a job, its executors and their verdicts.
func printJob(cmd *cobra.Command, j computetypes.Job) {
	cmd.Printf("job %d: %s\n", j.Id, shortStatus(j.Status.String()))
	cmd.Printf("  owner      %s\n", j.Owner)
	program := "inline"
	if j.ProgramDealId != 0 {
		program = fmt.Sprintf("deal %d", j.ProgramDealId)
	}
	cmd.Printf("  program    %s (%s, %s)\n", hex.EncodeToString(j.ProgramRoot), humanBytes(j.ProgramSize), program)
	for _, in := range j.Inputs {
		cmd.Printf("  input      deal %d at /input/%d (%s)\n", in.DealId, in.DealId, humanBytes(in.Size_))
	}
	if len(j.Args) > 0 {
		cmd.Printf("  args       %q\n", j.Args)
	}
	cmd.Printf("  limits     memory %s, timeout %s, output %s\n", humanBytes(j.Limits.MemoryBytes),
		time.Duration(j.Limits.TimeoutMs)*time.Millisecond, humanBytes(j.Limits.MaxOutputBytes))
	cmd.Printf("  blocks     submitted %d", j.SubmittedHeight)
	if j.FinishedHeight > 0 {
		cmd.Printf(", finished %d (%d blocks)", j.FinishedHeight, j.FinishedHeight-j.SubmittedHeight)
	} else {
		cmd.Printf(", phase ends at %d", j.Deadline)
	}
	cmd.Printf("\n  executors  %d requested, %d judged against, %d replacements; price %s each\n", j.Requested, j.Target, j.Retries, j.Price)
	for _, e := range j.Executors {
		line := fmt.Sprintf("    %-10s %s", shortStatus(e.Status.String()), e.Provider)
		if e.Result != nil {
			line += fmt.Sprintf("  %s  root %s  %s  exit %d", e.Result.Verdict, shortRoot(e.Result.OutputRoot), humanBytes(e.Result.Size_), e.Result.ExitCode)
		}
		if e.Replacement {
			line += "  (replacement)"
		}
		cmd.Println(line)
	}
	if j.Result != nil {
		cmd.Printf("  verdict    %s, exit code %d\n", j.Result.Verdict, j.Result.ExitCode)
		cmd.Printf("  result     root %s, %s\n", hex.EncodeToString(j.Result.OutputRoot), humanBytes(j.Result.Size_))
		if j.Public {
			cmd.Printf("  output     stratusd compute output %d -o DIR   (public: anyone may download it)\n", j.Id)
		} else {
			cmd.Printf("  output     stratusd compute output %d -o DIR --from OWNER-KEY   (served to the owner only)\n", j.Id)
		}
	}
	if j.OutputDealId != 0 {
		cmd.Printf("  stored as  deal %d\n", j.OutputDealId)
	}
	if j.Reason != "" {
		cmd.Printf("  note       %s\n", j.Reason)
	}
}

func jobsLsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "ls [owner]",
		Short:   "List your jobs (or an owner's)",
		Example: "stratusd compute ls --from alice",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			owner, err := ownerArg(cmd, cctx, args)
			if err != nil {
				return err
			}
			res, err := computetypes.NewQueryClient(cctx).JobsByOwner(cmd.Context(), &computetypes.QueryJobsByOwnerRequest{Owner: owner})
			if err != nil {
				return err
			}
			if cctx.OutputFormat == flags.OutputFormatJSON {
				return cctx.PrintProto(res)
			}
			if len(res.Jobs) == 0 {
				cmd.Printf("%s has no jobs\n", owner)
				return nil
			}
			cmd.Printf("%-6s %-11s %-10s %-16s %-9s %s\n", "JOB", "STATUS", "EXECUTORS", "VERDICT", "BLOCKS", "OUTPUT")
			for _, j := range res.Jobs {
				verdict, output, blocks := "-", "-", "-"
				if j.Result != nil {
					verdict = fmt.Sprintf("%s/%d", j.Result.Verdict, j.Result.ExitCode)
					output = humanBytes(j.Result.Size_)
					if j.OutputDealId != 0 {
						output += fmt.Sprintf(" (deal %d)", j.OutputDealId)
					}
				}
				if j.FinishedHeight > 0 {
					blocks = strconv.FormatInt(j.FinishedHeight-j.SubmittedHeight, 10)
				}
				cmd.Printf("%-6d %-11s %-10d %-16s %-9s %s\n", j.Id, shortStatus(j.Status.String()), len(j.Executors), verdict, blocks, output)
			}
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	cmd.Flags().String(flags.FlagFrom, "", "key whose jobs to list")
	cmd.Flags().String(flags.FlagKeyringBackend, flags.DefaultKeyringBackend, "keyring backend")
	return cmd
}

func jobStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "status [job-id]",
		Short:   "Show a job, its executors and their verdicts",
		Example: "stratusd compute status 7",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("job id %q: %w", args[0], err)
			}
			res, err := computetypes.NewQueryClient(cctx).Job(cmd.Context(), &computetypes.QueryJobRequest{JobId: id})
			if err != nil {
				return err
			}
			if cctx.OutputFormat == flags.OutputFormatJSON {
				return cctx.PrintProto(res)
			}
			printJob(cmd, res.Job)
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}

func outputCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "output [job-id]",
		Short: "Download a job's agreed output, verify it against the agreed root and unpack it",
		Long: `Downloads the output archive of a succeeded job from one of the executors
that agreed on it (or from its output deal), checks every byte against the root
the majority revealed, and unpacks it into -o DIR: output/ (the files the
program wrote), stdout, stderr, exit_code and verdict. DIR must be empty or new.`,
		Example: "stratusd compute output 7 -o result/",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cctx, err := sdkclient.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("job id %q: %w", args[0], err)
			}
			dir, _ := cmd.Flags().GetString("output-dir")
			if dir == "" {
				return errors.New("-o/--output-dir is required")
			}
			return jobOutput(cmd, cctx, id, dir)
		},
	}
	cmd.Flags().String(flags.FlagNode, "", "<host>:<port> to the CometBFT RPC of a node (default from client.toml)")
	cmd.Flags().StringP("output-dir", "o", "", "directory to unpack the output into (empty or new)")
	addSignerFlags(cmd, "a private job's output is served only to its owner")
	return cmd
}

func jobOutput(cmd *cobra.Command, cctx sdkclient.Context, id uint64, dir string) error {
	ctx := cmd.Context()
	out := newProgress(cmd.ErrOrStderr())
	res, err := computetypes.NewQueryClient(cctx).Job(ctx, &computetypes.QueryJobRequest{JobId: id})
	if err != nil {
		return err
	}
	j := res.Job
	if j.Status != computetypes.JobStatus_JOB_STATUS_SUCCEEDED || j.Result == nil {
		return fmt.Errorf("job %d is %s: only a succeeded job has an agreed output", id, shortStatus(j.Status.String()))
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := merkle.HashFromBytes(j.Result.OutputRoot)
	if err != nil {
		return err
	}
	api, signer, err := dataClient(cmd, cctx)
	if err != nil {
		return err
	}
	if !j.Public {
		if err := privateAccess(fmt.Sprintf("the output of job %d", id), j.Owner, signer); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(filepath.Clean(dir)), ".stratus-output-*")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)

	// The executors that agreed serve the archive; an output deal's
	// replicas serve the same bytes as deal data.
	type source struct {
		provider string
		fetch    func(ctx context.Context, t providerapi.Target, w io.Writer) error
	}
	var sources []source
	for _, e := range j.Executors {
		if e.Status == computetypes.ExecutorStatus_EXECUTOR_STATUS_AGREED {
			sources = append(sources, source{e.Provider, func(ctx context.Context, t providerapi.Target, w io.Writer) error {
				return api.JobOutput(ctx, t, id, w)
			}})
		}
	}
	if j.OutputDealId != 0 {
		d, err := storagetypes.NewQueryClient(cctx).Deal(ctx, &storagetypes.QueryDealRequest{DealId: j.OutputDealId})
		if err == nil {
			for _, r := range d.Replicas {
				if r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
					sources = append(sources, source{r.Provider, func(ctx context.Context, t providerapi.Target, w io.Writer) error {
						return api.Download(ctx, t, j.OutputDealId, w)
					}})
				}
			}
		}
	}
	var errs []error
	for _, src := range sources {
		t, err := providerTarget(ctx, cctx, src.provider)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := downloadVerified(out, tmpPath, root, j.Result.Size_, int(j.ChunkSize), func(w io.Writer) error {
			return src.fetch(ctx, t, w)
		}); err != nil {
			out.Linef("provider %s failed: %v; trying the next", t.URL, err)
			errs = append(errs, fmt.Errorf("%s: %w", t.URL, err))
			continue
		}
		f, err := os.Open(tmpPath)
		if err != nil {
			return err
		}
		manifest, err := jobarchive.Extract(f, dir)
		f.Close()
		if err != nil {
			return fmt.Errorf("unpacking the verified output: %w", err)
		}
		out.Linef("verified against the agreed root %s and unpacked into %s", root, dir)
		cmd.Printf("job %d: verdict %s, exit code %d, %d output files\n", id, manifest.Verdict, manifest.ExitCode, len(manifest.Files))
		for _, name := range manifest.Files {
			cmd.Printf("  %s\n", filepath.Join(dir, name))
		}
		return nil
	}
	if len(errs) == 0 {
		return fmt.Errorf("job %d has no executor or replica to download its output from", id)
	}
	return fmt.Errorf("no provider served job %d's output intact: %w", id, errors.Join(errs...))
}
