package cmd

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/client"
	computetypes "github.com/stratusnet/stratus/x/compute/types"
)

func computeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compute",
		Short: "Run WebAssembly programs over stored data on several providers, and fetch verified outputs",
		RunE:  sdkclient.ValidateCmd,
	}
	addProviderCAFlag(cmd)
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
	f.String("price", "2000"+app.BondDenom, "most you pay each executor whose result the majority agrees on (plus the chain's input fee per MiB of input and program deals)")
	f.String("memory", "256MiB", "memory limit of the program")
	f.Uint64("fuel", 100_000_000_000, "deterministic budget of one run: about the WebAssembly instructions it may execute (a run that spends it ends as out_of_fuel)")
	f.Duration("timeout", 10*time.Second, "wall-clock safety limit of one run (a run it stops is refunded, nobody is slashed)")
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
	f := cmd.Flags()
	inputList, _ := f.GetUintSlice("input")
	spec := client.JobSpec{ProgramPath: path, ProgramDeal: programDeal, Inputs: make([]uint64, len(inputList))}
	for i, v := range inputList {
		spec.Inputs[i] = uint64(v)
	}
	spec.Args, _ = f.GetStringArray("arg")
	spec.Env, _ = f.GetStringArray("env")
	spec.Executors, _ = f.GetUint32("executors")
	spec.Public, _ = f.GetBool("public")
	priceS, _ := f.GetString("price")
	price, err := sdk.ParseCoinNormalized(priceS)
	if err != nil {
		return fmt.Errorf("--price %q: %w", priceS, err)
	}
	spec.Price = price
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
	fuel, _ := f.GetUint64("fuel")
	if fuel == 0 {
		return errors.New("--fuel must be positive")
	}
	spec.Limits = computetypes.Limits{MemoryBytes: memory, TimeoutMs: uint64(timeout / time.Millisecond), MaxOutputBytes: maxOut, Fuel: fuel}
	storePriceS, _ := f.GetString("output-max-price")
	storePrice, err := sdk.ParseDecCoin(storePriceS)
	if err != nil {
		return fmt.Errorf("--output-max-price %q: %w", storePriceS, err)
	}
	if store, _ := f.GetBool("store-output"); store {
		replicas, _ := f.GetUint32("output-replicas")
		duration, _ := f.GetUint64("output-duration")
		spec.StoreOutput = &computetypes.StoreOutput{Replicas: replicas, DurationBlocks: duration, MaxPrice: storePrice}
	}
	spec.ProgramTerms.Replicas, _ = f.GetUint32("program-replicas")
	spec.ProgramTerms.Duration, _ = f.GetUint64("program-duration")
	spec.ProgramTerms.MaxPrice, spec.ProgramTerms.Timeout = storePrice, 5*time.Minute

	sdkc, err := newSDK(cmd, cctx, txf)
	if err != nil {
		return err
	}
	job, err := sdkc.RunJob(cmd.Context(), spec)
	if err != nil {
		return err
	}
	if wait, _ := f.GetBool("wait"); !wait {
		cmd.Println(job.ID)
		return nil
	}
	waitTimeout, _ := f.GetDuration("wait-timeout")
	j, err := sdkc.WaitJob(cmd.Context(), job.ID, waitTimeout)
	if err != nil {
		return err
	}
	printJob(cmd, j)
	if j.Status != computetypes.JobStatus_JOB_STATUS_SUCCEEDED {
		return fmt.Errorf("job %d %s: %s", j.Id, client.ShortStatus(j.Status.String()), j.Reason)
	}
	return nil
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
	cmd.Printf("job %d: %s\n", j.Id, client.ShortStatus(j.Status.String()))
	cmd.Printf("  owner      %s\n", j.Owner)
	program := "inline"
	if j.ProgramDealId != 0 {
		program = fmt.Sprintf("deal %d", j.ProgramDealId)
	}
	cmd.Printf("  program    %s (%s, %s)\n", hex.EncodeToString(j.ProgramRoot), client.HumanBytes(j.ProgramSize), program)
	for _, in := range j.Inputs {
		cmd.Printf("  input      deal %d at /input/%d (%s)\n", in.DealId, in.DealId, client.HumanBytes(in.Size_))
	}
	if len(j.Args) > 0 {
		cmd.Printf("  args       %q\n", j.Args)
	}
	cmd.Printf("  limits     memory %s, fuel %d, timeout %s, output %s\n", client.HumanBytes(j.Limits.MemoryBytes), j.Limits.Fuel,
		time.Duration(j.Limits.TimeoutMs)*time.Millisecond, client.HumanBytes(j.Limits.MaxOutputBytes))
	cmd.Printf("  blocks     submitted %d", j.SubmittedHeight)
	if j.FinishedHeight > 0 {
		cmd.Printf(", finished %d (%d blocks)", j.FinishedHeight, j.FinishedHeight-j.SubmittedHeight)
	} else {
		cmd.Printf(", phase ends at %d", j.Deadline)
	}
	fee := ""
	if j.InputFeeAmount().IsPositive() {
		fee = fmt.Sprintf(" plus an input fee of %s", j.InputFee)
	}
	cmd.Printf("\n  executors  %d requested, %d judged against, %d replacements; price %s each%s\n", j.Requested, j.Target, j.Retries, j.Price, fee)
	for _, e := range j.Executors {
		line := fmt.Sprintf("    %-10s %s", client.ShortStatus(e.Status.String()), e.Provider)
		if e.Result != nil {
			line += fmt.Sprintf("  %s  root %s  %s  exit %d", e.Result.Verdict, shortRoot(e.Result.OutputRoot), client.HumanBytes(e.Result.Size_), e.Result.ExitCode)
		}
		if e.Replacement {
			line += "  (replacement)"
		}
		cmd.Println(line)
	}
	if j.Result != nil {
		cmd.Printf("  verdict    %s, exit code %d\n", j.Result.Verdict, j.Result.ExitCode)
		cmd.Printf("  result     root %s, %s\n", hex.EncodeToString(j.Result.OutputRoot), client.HumanBytes(j.Result.Size_))
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
					output = client.HumanBytes(j.Result.Size_)
					if j.OutputDealId != 0 {
						output += fmt.Sprintf(" (deal %d)", j.OutputDealId)
					}
				}
				if j.FinishedHeight > 0 {
					blocks = strconv.FormatInt(j.FinishedHeight-j.SubmittedHeight, 10)
				}
				cmd.Printf("%-6d %-11s %-10d %-16s %-9s %s\n", j.Id, client.ShortStatus(j.Status.String()), len(j.Executors), verdict, blocks, output)
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
			cctx, err = signingContext(cmd, cctx)
			if err != nil {
				return err
			}
			sdkc, err := newSDK(cmd, cctx, tx.Factory{})
			if err != nil {
				return err
			}
			manifest, err := sdkc.FetchOutput(cmd.Context(), id, dir)
			if err != nil {
				return err
			}
			cmd.Printf("job %d: verdict %s, exit code %d, %d output files\n", id, manifest.Verdict, manifest.ExitCode, len(manifest.Files))
			for _, name := range manifest.Files {
				cmd.Printf("  %s\n", filepath.Join(dir, name))
			}
			return nil
		},
	}
	cmd.Flags().String(flags.FlagNode, "", "<host>:<port> to the CometBFT RPC of a node (default from client.toml)")
	cmd.Flags().StringP("output-dir", "o", "", "directory to unpack the output into (empty or new)")
	addSignerFlags(cmd, "a private job's output is served only to its owner")
	return cmd
}
