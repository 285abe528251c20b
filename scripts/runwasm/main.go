// Command runwasm runs a WASI program through the provider's executor, as a
// compute job would run, and prints how long each run took with its verdict
// and output root. scripts/bench-compute.sh uses it to compare with native
// builds.
//
//	go run ./scripts/runwasm [-input NAME=PATH]... [-runs N] [-stdout FILE] PROGRAM.wasm [ARG...]
//
// The first run includes compiling the program; later runs reuse the
// compiled module, as a provider does for a program it has run before.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stratusnet/stratus/jobarchive"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/executor"
)

type inputFlags []executor.Input

func (f *inputFlags) String() string { return fmt.Sprint(*f) }

func (f *inputFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want NAME=PATH")
	}
	*f = append(*f, executor.Input{Name: name, Path: path})
	return nil
}

func main() {
	// With -isolated, this program is also the job's child process.
	if len(os.Args) == 3 && os.Args[1] == "exec-job" {
		os.Exit(executor.ChildMain(os.Args[2]))
	}
	var inputs inputFlags
	flag.Var(&inputs, "input", "mount PATH read-only at /input/NAME (repeatable)")
	runs := flag.Int("runs", 1, "how many times to run the program")
	memory := flag.Uint64("memory", 256, "memory limit in MiB")
	timeout := flag.Duration("timeout", 10*time.Minute, "wall-clock safety limit of each run")
	fuel := flag.Uint64("fuel", 1<<60, "fuel budget of each run (about the instructions it may execute)")
	maxOutput := flag.Uint64("max-output", 1<<30, "output limit in bytes")
	jobID := flag.Uint64("job", 1, "job id (seeds the program's random numbers)")
	chunk := flag.Int("chunk-size", merkle.DefaultChunkSize, "Merkle leaf size of the output root")
	stdout := flag.String("stdout", "", "write the last run's stdout to this file")
	isolated := flag.Bool("isolated", false, "run each job in a child process, as the daemon does by default")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: runwasm [flags] PROGRAM.wasm [ARG...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 || *runs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Args()[1:], inputs, *runs, *memory<<20, *timeout, *fuel, *maxOutput, *jobID, *chunk, *stdout, *isolated); err != nil {
		fmt.Fprintln(os.Stderr, "runwasm:", err)
		os.Exit(1)
	}
}

func run(programPath string, args []string, inputs []executor.Input, runs int, memory uint64, timeout time.Duration, fuel uint64,
	maxOutput, jobID uint64, chunk int, stdoutPath string, isolated bool) error {
	program, err := os.ReadFile(programPath)
	if err != nil {
		return err
	}
	root, err := merkle.Root(program, chunk)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "runwasm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	ctx := context.Background()
	var e interface {
		Run(context.Context, executor.Job, string) (executor.Result, error)
	}
	if isolated {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		if e, err = executor.NewIsolated([]string{self, "exec-job"}, filepath.Join(work, "cache")); err != nil {
			return err
		}
	} else {
		inProcess, err := executor.New(executor.Options{})
		if err != nil {
			return err
		}
		defer inProcess.Close(ctx)
		e = inProcess
	}

	job := executor.Job{
		ID: jobID, Program: program, ProgramRoot: root, Args: args, Inputs: inputs, ChunkSize: chunk,
		Limits: executor.Limits{MemoryBytes: memory, Fuel: fuel, Timeout: timeout, MaxOutput: maxOutput},
	}
	var res executor.Result
	for i := 1; i <= runs; i++ {
		start := time.Now()
		res, err = e.Run(ctx, job, filepath.Join(work, fmt.Sprint(i)))
		if err != nil {
			return err
		}
		fmt.Printf("run %d: %.3fs verdict %s exit %d size %d fuel %d root %s\n",
			i, time.Since(start).Seconds(), res.Verdict, res.ExitCode, res.Size, res.FuelUsed, hex.EncodeToString(res.Root[:]))
	}
	if stdoutPath == "" {
		return nil
	}
	f, err := os.Open(res.Archive)
	if err != nil {
		return err
	}
	defer f.Close()
	dir := filepath.Join(work, "extracted")
	if _, err := jobarchive.Extract(f, dir); err != nil {
		return err
	}
	return copyFile(filepath.Join(dir, "stdout"), stdoutPath)
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
