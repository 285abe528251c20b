// Package executor runs a compute job's WebAssembly program (WASI preview 1)
// deterministically on wazero and packs what it produced into the canonical
// output archive whose Merkle root the provider commits on chain.
//
// Every honest executor of a job must arrive at the same archive, so the
// program sees nothing of its host: a virtual clock starting at Epoch, a
// random stream seeded by the job id, only the job's arguments and
// environment, its inputs read-only at /input/<name>, an empty /output, no
// network and no other host functions. See docs/adr/007-deterministic-executor.md.
package executor

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	experimentalsysfs "github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/stratusnet/stratus/jobarchive"
	"github.com/stratusnet/stratus/provider/wasmfuel"
)

// Limits bound one run.
type Limits struct {
	MemoryBytes uint64 // max linear memory; rounded down to 64 KiB pages
	// Fuel is the run's deterministic budget: at least the number of
	// WebAssembly instructions it may execute (package wasmfuel). A run
	// that spends it ends as out_of_fuel on every executor alike.
	Fuel uint64
	// Timeout is a wall-clock safety kill for the host's sake. A run it
	// stops ends as timeout, which the chain never counts as dissent.
	Timeout   time.Duration
	MaxOutput uint64 // max total bytes of /output files + stdout + stderr
}

// Input is one file mounted read-only under /input.
type Input struct {
	Name string // directory entry name under /input, e.g. "1" for deal 1 (caller chooses)
	Path string // host path to the verified input file (read-only)
}

// Job is one program run.
type Job struct {
	ID          uint64   // seeds the RNG (and nothing else varies per job)
	Program     []byte   // wasm bytes
	ProgramRoot [32]byte // cache key (Merkle root of Program, computed by the caller)
	Args        []string // argv[1:]; argv[0] is always "program"
	Env         []string // "K=V" pairs, passed sorted
	Inputs      []Input
	Limits      Limits
	// ChunkSize is the Merkle leaf size of the output archive's root: the
	// job's chunk_size on chain, which the chain and the output deal use.
	ChunkSize int
}

// Verdict is how a run ended (jobarchive.Verdict: the archive records it).
type Verdict = jobarchive.Verdict

// The verdicts (see jobarchive).
const (
	VerdictOK             = jobarchive.VerdictOK
	VerdictExit           = jobarchive.VerdictExit
	VerdictInvalidProgram = jobarchive.VerdictInvalidProgram
	VerdictMemoryLimit    = jobarchive.VerdictMemoryLimit
	VerdictTimeout        = jobarchive.VerdictTimeout
	VerdictOutputLimit    = jobarchive.VerdictOutputLimit
	VerdictTrap           = jobarchive.VerdictTrap
	VerdictOutOfFuel      = jobarchive.VerdictOutOfFuel
)

// Result is a finished run.
type Result struct {
	Verdict  Verdict
	ExitCode uint32
	Root     [32]byte // merkle.Root of the archive bytes with the given chunk size
	Size     uint64   // archive byte length
	Archive  string   // host path of the archive file written in workDir
	// FuelUsed is the fuel the run spent (Limits.Fuel when it ran out, 0
	// when it never started). Not part of the archive: for the operator.
	FuelUsed uint64
}

// Options configure an Executor.
type Options struct {
	// CacheDir keeps compiled machine code across restarts ("" keeps it in
	// memory only).
	CacheDir string
	// MaxCachedModules bounds the compiled programs kept ready (default 16).
	MaxCachedModules int

	// child is set in a job's child process (isolated.go): the runtime has
	// no termination checks (the parent kills the process at the timeout),
	// started is called just before the program starts, and overflowed ends
	// the process as soon as the output budget is spent.
	child *childHooks
}

type childHooks struct {
	started    func()
	overflowed func(job Job, workDir string)
}

// ErrInvalidJob means the job itself is malformed (bad input names,
// environment entries without "=", no timeout): the caller's fault, not the
// program's, so Run does not give it a verdict.
var ErrInvalidJob = errors.New("executor: invalid job")

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("executor: closed")

// File names Run owns in its workDir.
const (
	archiveFile = "output.tar"
	outputDir   = "output"
	stdoutFile  = "stdout"
	stderrFile  = "stderr"
)

// Executor runs jobs. It is safe for concurrent use.
type Executor struct {
	opts  Options
	cache wazero.CompilationCache

	mu      sync.Mutex
	closed  bool
	lru     *list.List // of *module, most recently used first
	modules map[moduleKey]*list.Element

	compilations atomic.Int64 // CompileModule calls, for the cache test
}

// moduleKey names a compiled program under a memory limit: wazero fixes the
// limit per runtime, so each limit has its own runtime. They share one
// compilation cache, so a program's machine code is built once whatever the
// limits it runs under.
type moduleKey struct {
	root  [32]byte
	pages uint32
}

type module struct {
	key      moduleKey
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	users    int
	evicted  bool
}

// New returns an Executor.
func New(opts Options) (*Executor, error) {
	if opts.MaxCachedModules <= 0 {
		opts.MaxCachedModules = 16
	}
	e := &Executor{opts: opts, lru: list.New(), modules: map[moduleKey]*list.Element{}}
	if opts.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("executor: compilation cache in %s: %w", opts.CacheDir, err)
		}
		e.cache = c
	} else {
		e.cache = wazero.NewCompilationCache()
	}
	return e, nil
}

// Close releases every compiled program; runs still going are stopped.
func (e *Executor) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	var runtimes []wazero.Runtime
	for el := e.lru.Front(); el != nil; el = el.Next() {
		runtimes = append(runtimes, el.Value.(*module).runtime)
	}
	e.lru.Init()
	clear(e.modules)
	e.mu.Unlock()
	var errs []error
	for _, r := range runtimes {
		errs = append(errs, r.Close(ctx))
	}
	errs = append(errs, e.cache.Close(ctx))
	return errors.Join(errs...)
}

// maxPages is wasm32's 4 GiB of linear memory.
const maxPages = 65536

func memoryPages(bytes uint64) uint32 {
	return uint32(min(bytes/65536, maxPages))
}

func (e *Executor) newRuntime(ctx context.Context, pages uint32) wazero.Runtime {
	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(pages).
		WithCloseOnContextDone(e.opts.child == nil).
		WithCompilationCache(e.cache)
	r := wazero.NewRuntimeWithConfig(ctx, cfg)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	return r
}

// acquire returns the program compiled under the job's memory limit, from
// the cache or freshly compiled, or the verdict that it cannot run.
func (e *Executor) acquire(ctx context.Context, job Job) (*module, Verdict, error) {
	key := moduleKey{root: job.ProgramRoot, pages: memoryPages(job.Limits.MemoryBytes)}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, "", ErrClosed
	}
	if el, ok := e.modules[key]; ok {
		e.lru.MoveToFront(el)
		m := el.Value.(*module)
		m.users++
		e.mu.Unlock()
		return m, "", nil
	}
	e.mu.Unlock()

	program, err := wasmfuel.Instrument(job.Program)
	if err != nil {
		// Something the meter cannot handle (SIMD, threads) or not a module
		// at all: the same answer on every executor.
		return nil, VerdictInvalidProgram, nil
	}
	r := e.newRuntime(ctx, key.pages)
	e.compilations.Add(1)
	compiled, err := r.CompileModule(ctx, program)
	if err != nil {
		_ = r.Close(ctx)
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		verdict := e.compileVerdict(ctx, program, key.pages)
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return nil, verdict, nil
	}
	m := &module{key: key, runtime: r, compiled: compiled, users: 1}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = r.Close(ctx)
		return nil, "", ErrClosed
	}
	if el, ok := e.modules[key]; ok { // compiled concurrently: keep the first
		_ = r.Close(ctx)
		e.lru.MoveToFront(el)
		m = el.Value.(*module)
		m.users++
		return m, "", nil
	}
	e.modules[key] = e.lru.PushFront(m)
	for e.lru.Len() > e.opts.MaxCachedModules {
		old := e.lru.Remove(e.lru.Back()).(*module)
		delete(e.modules, old.key)
		old.evicted = true
		if old.users == 0 {
			_ = old.runtime.Close(context.Background())
		}
	}
	return m, "", nil
}

// compileVerdict tells a program that wazero refused under a memory limit of
// pages apart: if it compiles without the limit, what failed was its
// declared minimum memory (memory_limit); otherwise it is invalid.
func (e *Executor) compileVerdict(ctx context.Context, program []byte, pages uint32) Verdict {
	if pages >= maxPages {
		return VerdictInvalidProgram
	}
	r := e.newRuntime(ctx, maxPages)
	defer r.Close(ctx)
	if _, err := r.CompileModule(ctx, program); err == nil {
		return VerdictMemoryLimit
	}
	return VerdictInvalidProgram
}

func (e *Executor) release(m *module) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m.users--
	if m.evicted && m.users == 0 {
		_ = m.runtime.Close(context.Background())
	}
}

// Run executes job with workDir as its scratch space: workDir/output is the
// job's /output, stdout and stderr are captured beside it, and the archive
// is written to workDir/output.tar (fsynced). Anything Run left there from
// an earlier attempt is removed first.
//
// The error is only for the host's failures (disk, the caller's context, a
// malformed Job); whatever the program does ends in a Result.
func (e *Executor) Run(ctx context.Context, job Job, workDir string) (Result, error) {
	if job.Limits.Timeout <= 0 {
		return Result{}, fmt.Errorf("%w: timeout %v", ErrInvalidJob, job.Limits.Timeout)
	}
	if job.Limits.Fuel == 0 || job.Limits.Fuel > math.MaxInt64 {
		return Result{}, fmt.Errorf("%w: fuel %d", ErrInvalidJob, job.Limits.Fuel)
	}
	if job.ChunkSize <= 0 {
		return Result{}, fmt.Errorf("%w: chunk size %d (the job's chunk_size on chain)", ErrInvalidJob, job.ChunkSize)
	}
	env, err := splitEnv(job.Env)
	if err != nil {
		return Result{}, err
	}
	inputs, err := newInputFS(job.Inputs)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	for _, in := range job.Inputs {
		if info, err := os.Stat(in.Path); err != nil {
			return Result{}, fmt.Errorf("executor: input %s: %w", in.Name, err)
		} else if !info.Mode().IsRegular() {
			return Result{}, fmt.Errorf("executor: input %s: %s is not a regular file", in.Name, in.Path)
		}
	}
	if err := prepareWorkDir(workDir); err != nil {
		return Result{}, err
	}

	out, err := e.execute(ctx, job, env, inputs, workDir)
	if err != nil {
		return Result{}, err
	}
	return pack(out, workDir, job.Limits.MaxOutput, job.ChunkSize)
}

// splitEnv checks and sorts "K=V" pairs.
func splitEnv(pairs []string) ([][2]string, error) {
	sorted := slices.Clone(pairs)
	slices.Sort(sorted)
	env := make([][2]string, 0, len(sorted))
	for _, kv := range sorted {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("%w: environment entry %q is not K=V", ErrInvalidJob, kv)
		}
		env = append(env, [2]string{k, v})
	}
	return env, nil
}

func prepareWorkDir(workDir string) error {
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return fmt.Errorf("executor: work dir: %w", err)
	}
	for _, name := range []string{outputDir, stdoutFile, stderrFile, archiveFile} {
		if err := os.RemoveAll(filepath.Join(workDir, name)); err != nil {
			return fmt.Errorf("executor: clearing work dir: %w", err)
		}
	}
	if err := os.Mkdir(filepath.Join(workDir, outputDir), 0o755); err != nil {
		return fmt.Errorf("executor: work dir: %w", err)
	}
	return nil
}

// outcome is how the program ended, before its output is archived.
type outcome struct {
	verdict  Verdict
	exitCode uint32
	fuelUsed uint64
}

// execute runs the program and classifies its end. Only ok and exit keep
// what it wrote.
func (e *Executor) execute(ctx context.Context, job Job, env [][2]string, inputs *inputFS, workDir string) (outcome, error) {
	m, verdict, err := e.acquire(ctx, job)
	if err != nil {
		return outcome{}, err
	}
	if m == nil {
		return outcome{verdict: verdict}, nil
	}
	defer e.release(m)

	stdout, err := os.Create(filepath.Join(workDir, stdoutFile))
	if err != nil {
		return outcome{}, fmt.Errorf("executor: %w", err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(workDir, stderrFile))
	if err != nil {
		return outcome{}, fmt.Errorf("executor: %w", err)
	}
	defer stderr.Close()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	timeoutCtx, cancel := context.WithTimeout(runCtx, job.Limits.Timeout)
	defer cancel()
	budget := &outputBudget{left: job.Limits.MaxOutput, exceeded: stop}
	if c := e.opts.child; c != nil {
		// The parent times the run; nothing here could interrupt it.
		timeoutCtx = runCtx
		budget.overflowed = func() { c.overflowed(job, workDir) }
	}

	clock := &virtualClock{}
	meter := &hostMeter{}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{"program"}, job.Args...)...).
		WithStdin(eofReader{}).
		WithStdout(&budgetWriter{b: budget, f: stdout, meter: meter}).
		WithStderr(&budgetWriter{b: budget, f: stderr, meter: meter}).
		WithWalltime(clock.walltime, clockResolution).
		WithNanotime(clock.nanotime, clockResolution).
		WithNanosleep(clock.nanosleep).
		WithOsyield(func() {}).
		WithRandSource(&meteredReader{r: newJobRand(job.ID), meter: meter}).
		WithStartFunctions(). // _start is called below, so a failure to link is told apart from one while running
		WithFSConfig(wazero.NewFSConfig().(experimentalsysfs.FSConfig).
			WithSysFSMount(&sandboxFS{fs: &experimentalsysfs.AdaptFS{FS: inputs}, readOnly: true, meter: meter}, "/input").(experimentalsysfs.FSConfig).
			WithSysFSMount(&sandboxFS{fs: experimentalsysfs.DirFS(filepath.Join(workDir, outputDir)), meter: meter}, "/output"))
	for _, kv := range env {
		cfg = cfg.WithEnv(kv[0], kv[1])
	}

	classify := func(err error) (outcome, error) {
		out, err := end(ctx, timeoutCtx, budget, meter, err)
		out.fuelUsed = meter.used(job.Limits.Fuel)
		return out, err
	}

	if c := e.opts.child; c != nil {
		// The time limit covers instantiation (a start section runs there),
		// as timeoutCtx does in process.
		c.started()
	}
	mod, err := m.runtime.InstantiateModule(timeoutCtx, m.compiled, cfg)
	if err != nil {
		if ctx.Err() != nil || timeoutCtx.Err() != nil {
			return classify(err)
		}
		// Unresolved imports (anything but wasi_snapshot_preview1), a data
		// segment outside memory, a failing start section.
		return outcome{verdict: VerdictInvalidProgram}, nil
	}
	defer mod.Close(context.Background())
	fuel, _ := mod.ExportedGlobal(wasmfuel.FuelExport).(api.MutableGlobal)
	if fuel == nil {
		return outcome{}, errors.New("executor: the metered program has no fuel global")
	}
	fuel.Set(job.Limits.Fuel)
	meter.fuel = fuel
	if section := mod.ExportedFunction(wasmfuel.StartExport); section != nil {
		// The module's start section, which the meter moved here so that
		// it runs on the budget, as part of instantiating.
		if _, err = section.Call(timeoutCtx); err != nil {
			if out, cerr := classify(err); cerr != nil || out.verdict != VerdictTrap {
				return out, cerr
			}
			return outcome{verdict: VerdictInvalidProgram}, nil // a failing start section
		}
	}
	start := mod.ExportedFunction("_start")
	if start == nil {
		return outcome{verdict: VerdictInvalidProgram}, nil
	}
	_, err = start.Call(timeoutCtx)
	if err == nil {
		err = sys.NewExitError(0) // returning from _start is exiting 0
	}
	return classify(err)
}

// end classifies how a run ended: err is what instantiating or calling the
// program returned.
func end(ctx, timeoutCtx context.Context, budget *outputBudget, meter *hostMeter, err error) (outcome, error) {
	switch {
	case ctx.Err() != nil:
		return outcome{}, ctx.Err() // the caller gave up: no verdict
	case budget.writeErr() != nil:
		return outcome{}, fmt.Errorf("executor: capturing output: %w", budget.writeErr())
	case budget.over():
		return outcome{verdict: VerdictOutputLimit}, nil
	case timeoutCtx.Err() != nil && isContextExit(err):
		return outcome{verdict: VerdictTimeout}, nil
	case meter.exhausted():
		return outcome{verdict: VerdictOutOfFuel}, nil
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		if exit.ExitCode() == 0 {
			return outcome{verdict: VerdictOK}, nil
		}
		return outcome{verdict: VerdictExit, exitCode: exit.ExitCode()}, nil
	}
	return outcome{verdict: VerdictTrap}, nil
}

// hostMeter charges the work of host calls to the run's fuel: one unit per
// 64 bytes a call moves (random bytes drawn, file bytes read or written,
// stdout and stderr), plus one per call, as memory.fill is charged. A
// single random_get or fd_read could otherwise do unbounded work for one
// instruction's fuel. The amounts depend only on the program's calls, so
// every executor charges the same; a run that overdraws is stopped at its
// next check (a loop head or function entry).
type hostMeter struct {
	fuel api.MutableGlobal // the run's fuel global, set once the module is instantiated
}

// exhausted reports whether the run has spent its budget (the rewrite traps
// at the first check after the fuel goes negative).
func (m *hostMeter) exhausted() bool { return m.fuel != nil && int64(m.fuel.Get()) < 0 }

// used is the fuel spent of budget (0 before the program started, at most
// budget).
func (m *hostMeter) used(budget uint64) uint64 {
	if m.fuel == nil {
		return 0
	}
	return min(uint64(int64(budget)-int64(m.fuel.Get())), budget)
}

func (m *hostMeter) charge(n int) {
	if m == nil || m.fuel == nil {
		return
	}
	m.fuel.Set(uint64(int64(m.fuel.Get()) - int64(n/wasmfuel.BulkBytesPerFuel) - 1))
}

// meteredReader charges what it reads.
type meteredReader struct {
	r     io.Reader
	meter *hostMeter
}

func (r *meteredReader) Read(p []byte) (int, error) {
	r.meter.charge(len(p))
	return r.r.Read(p)
}

// isContextExit reports whether err is wazero stopping the module for a done
// context (WithCloseOnContextDone).
func isContextExit(err error) bool {
	var exit *sys.ExitError
	return errors.As(err, &exit) &&
		(exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled)
}

// pack checks the output limit and writes the archive.
func pack(out outcome, workDir string, maxOutput uint64, chunkSize int) (Result, error) {
	content := jobarchive.Content{Verdict: out.verdict, ExitCode: out.exitCode}
	if out.verdict == VerdictOK || out.verdict == VerdictExit {
		entries, size, err := jobarchive.ScanOutput(filepath.Join(workDir, outputDir))
		var stdSize uint64
		for _, name := range []string{stdoutFile, stderrFile} {
			info, statErr := os.Stat(filepath.Join(workDir, name))
			if statErr != nil {
				return Result{}, fmt.Errorf("executor: %w", statErr)
			}
			stdSize += uint64(info.Size())
		}
		switch {
		case errors.Is(err, jobarchive.ErrTooManyEntries):
			content = jobarchive.Content{Verdict: VerdictOutputLimit}
		case err != nil:
			return Result{}, fmt.Errorf("executor: reading /output: %w", err)
		case size > maxOutput || stdSize > maxOutput-size:
			content = jobarchive.Content{Verdict: VerdictOutputLimit}
		default:
			content.Stdout = filepath.Join(workDir, stdoutFile)
			content.Stderr = filepath.Join(workDir, stderrFile)
			content.Output = entries
		}
	}
	res, err := writeArchiveFile(content, filepath.Join(workDir, archiveFile), chunkSize)
	res.FuelUsed = out.fuelUsed
	return res, err
}
