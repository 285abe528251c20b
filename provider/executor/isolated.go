package executor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Isolated runs each job in a child process (Command plus the work
// directory, which must end in ChildMain) and kills it at the job's
// timeout. The child's runtime needs no termination checks, which wazero
// makes expensive (it calls into Go at every loop back-edge): Go programs
// run about 12× faster than in-process (docs/benchmarks.md). The verdicts
// and archives are the same as Executor.Run's.
type Isolated struct {
	// Command starts a child, e.g. {os.Executable(), "exec-job"}; the work
	// directory is appended.
	Command []string
	// CacheDir is the compilation cache the children share (strongly
	// advised: without it each child compiles the program again).
	CacheDir string
	// CompileTimeout bounds the time before the program starts (compiling
	// or loading it); default 5 minutes.
	CompileTimeout time.Duration
}

func (s *Isolated) compileTimeout() time.Duration {
	if s.CompileTimeout > 0 {
		return s.CompileTimeout
	}
	return 5 * time.Minute
}

// NewIsolated checks the options.
func NewIsolated(command []string, cacheDir string) (*Isolated, error) {
	if len(command) == 0 {
		return nil, errors.New("executor: no child command")
	}
	return &Isolated{Command: command, CacheDir: cacheDir}, nil
}

// childSpec is what the parent hands the child in <workDir>/job.json; the
// program is beside it in <workDir>/program.wasm.
type childSpec struct {
	Job      Job    `json:"job"`
	CacheDir string `json:"cache_dir"`
}

// Files of the parent–child exchange in the work directory.
const (
	specFile        = "job.json"
	programFile     = "program.wasm"
	childResultFile = "result.json"
	childErrorFile  = "error.txt"
	startedMarker   = "started\n"
	// childInvalidJob is the child's exit code for ErrInvalidJob.
	childInvalidJob = 3
)

// Run runs job in a child process with workDir as its scratch space, like
// Executor.Run. The time limit counts from the moment the program starts,
// after compiling (or loading the compiled program from the cache).
func (s *Isolated) Run(ctx context.Context, job Job, workDir string) (Result, error) {
	if job.Limits.Timeout <= 0 {
		return Result{}, fmt.Errorf("%w: timeout %v", ErrInvalidJob, job.Limits.Timeout)
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("executor: work dir: %w", err)
	}
	for _, name := range []string{childResultFile, childErrorFile} {
		if err := os.RemoveAll(filepath.Join(workDir, name)); err != nil {
			return Result{}, err
		}
	}
	spec := childSpec{Job: job, CacheDir: s.CacheDir}
	spec.Job.Program = nil
	bz, err := json.Marshal(spec)
	if err != nil {
		return Result{}, err
	}
	if err := os.WriteFile(filepath.Join(workDir, specFile), bz, 0o600); err != nil {
		return Result{}, err
	}
	if err := os.WriteFile(filepath.Join(workDir, programFile), job.Program, 0o600); err != nil {
		return Result{}, err
	}

	// The child's stdout is a pipe we own (not cmd.StdoutPipe), so reading
	// it and waiting for the process may run at the same time.
	pr, pw, err := os.Pipe()
	if err != nil {
		return Result{}, err
	}
	defer pr.Close()
	cmd := exec.Command(s.Command[0], append(s.Command[1:], workDir)...)
	cmd.SysProcAttr = childProcAttr()
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, n: 64 << 10}
	cmd.Stdout = pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return Result{}, fmt.Errorf("executor: starting the child: %w", err)
	}
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	started := make(chan struct{})
	go func() {
		r := bufio.NewReader(pr)
		if line, err := r.ReadString('\n'); err == nil && line == startedMarker {
			close(started)
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Until the program starts, the child compiles or loads it: bounded by
	// CompileTimeout, so a child that never gets there cannot hang the slot.
	prepare := time.NewTimer(s.compileTimeout())
	defer prepare.Stop()
	var timer <-chan time.Time
	timedOut := false
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-started:
			started = nil
			prepare.Stop()
			t := time.NewTimer(job.Limits.Timeout)
			defer t.Stop()
			timer = t.C
		case <-prepare.C:
			kill()
			<-done
			return Result{}, fmt.Errorf("executor: the child did not start the program within %s", s.compileTimeout())
		case <-timer:
			timedOut = true
			kill()
			err = <-done
			break wait
		case <-ctx.Done():
			kill()
			<-done
			return Result{}, ctx.Err()
		}
	}
	if timedOut {
		// Only the verdict goes into the archive: whatever the program
		// wrote before it was stopped is not kept.
		return pack(outcome{verdict: VerdictTimeout}, workDir, job.Limits.MaxOutput, job.ChunkSize)
	}
	if err != nil {
		msg, _ := os.ReadFile(filepath.Join(workDir, childErrorFile))
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == childInvalidJob {
			return Result{}, fmt.Errorf("%w: %s", ErrInvalidJob, bytes.TrimSpace(msg))
		}
		return Result{}, fmt.Errorf("executor: child process: %v: %s%s", err, bytes.TrimSpace(msg), bytes.TrimSpace(stderr.Bytes()))
	}
	bz, err = os.ReadFile(filepath.Join(workDir, childResultFile))
	if err != nil {
		return Result{}, fmt.Errorf("executor: the child left no result: %w", err)
	}
	var res Result
	if err := json.Unmarshal(bz, &res); err != nil {
		return Result{}, fmt.Errorf("executor: the child's result: %w", err)
	}
	return res, nil
}

// ChildMain is the child side of Isolated.Run: it runs the job in workDir
// and returns the process exit code (0 when there is a result, whatever
// the program did).
func ChildMain(workDir string) int {
	fail := func(code int, err error) int {
		_ = os.WriteFile(filepath.Join(workDir, childErrorFile), []byte(err.Error()), 0o600)
		return code
	}
	bz, err := os.ReadFile(filepath.Join(workDir, specFile))
	if err != nil {
		return fail(1, err)
	}
	var spec childSpec
	if err := json.Unmarshal(bz, &spec); err != nil {
		return fail(1, fmt.Errorf("reading the job: %w", err))
	}
	if spec.Job.Program, err = os.ReadFile(filepath.Join(workDir, programFile)); err != nil {
		return fail(1, err)
	}
	var e *Executor
	writeResult := func(res Result) int {
		out, err := json.Marshal(res)
		if err != nil {
			return fail(1, err)
		}
		if err := os.WriteFile(filepath.Join(workDir, childResultFile), out, 0o600); err != nil {
			return fail(1, err)
		}
		return 0
	}
	e, err = New(Options{CacheDir: spec.CacheDir, MaxCachedModules: 1, child: &childHooks{
		started: func() { _, _ = os.Stdout.WriteString(startedMarker) },
		overflowed: func(job Job, workDir string) {
			// Spent its output budget: end now, as the in-process runtime
			// would by closing the module.
			res, err := pack(outcome{verdict: VerdictOutputLimit}, workDir, job.Limits.MaxOutput, job.ChunkSize)
			if err != nil {
				os.Exit(fail(1, err))
			}
			os.Exit(writeResult(res))
		},
	}})
	if err != nil {
		return fail(1, err)
	}
	res, err := e.Run(context.Background(), spec.Job, workDir)
	if errors.Is(err, ErrInvalidJob) {
		return fail(childInvalidJob, err)
	} else if err != nil {
		return fail(1, err)
	}
	return writeResult(res)
}

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
