package executor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/jobarchive"
	"github.com/stratusnet/stratus/merkle"
)

// The example programs, built for wasip1 once per test binary.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	// The isolated tests start this test binary as the job's child process.
	if os.Getenv(childEnv) == "1" {
		os.Exit(ChildMain(os.Args[len(os.Args)-1]))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// program returns the wasm bytes of examples/<name>, building all three
// examples on first use.
func program(t testing.TB, name string) []byte {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "stratus-examples-")
		if buildErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", buildDir+string(filepath.Separator),
			"github.com/stratusnet/stratus/examples/wordcount",
			"github.com/stratusnet/stratus/examples/sha256sum",
			"github.com/stratusnet/stratus/examples/testprog")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the examples for wasip1: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	b, err := os.ReadFile(filepath.Join(buildDir, name))
	require.NoError(t, err)
	return b
}

// shared is one executor for the tests that do not count compilations, so
// each example is compiled once for the whole package.
var (
	sharedOnce sync.Once
	shared     *Executor
)

func sharedExecutor(t *testing.T) *Executor {
	t.Helper()
	sharedOnce.Do(func() {
		var err error
		shared, err = New(Options{})
		if err != nil {
			panic(err)
		}
	})
	return shared
}

func job(id uint64, prog []byte, args ...string) Job {
	return Job{
		ID:          id,
		Program:     prog,
		ProgramRoot: sha256.Sum256(prog), // any stable key will do in tests
		Args:        args,
		Limits:      Limits{MemoryBytes: 256 << 20, Fuel: 1 << 40, Timeout: 60 * time.Second, MaxOutput: 64 << 20},
		ChunkSize:   merkle.DefaultChunkSize,
	}
}

func run(t *testing.T, e *Executor, j Job) (Result, jobarchive.Manifest, string) {
	t.Helper()
	res, err := e.Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	f, err := os.Open(res.Archive)
	require.NoError(t, err)
	defer f.Close()
	dir := t.TempDir()
	m, err := jobarchive.Extract(f, dir)
	require.NoError(t, err)
	require.Equal(t, res.Verdict, m.Verdict)
	require.Equal(t, res.ExitCode, m.ExitCode)
	return res, m, dir
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// textFile writes n bytes of ASCII words, spaces, tabs, \r and newlines.
func textFile(t testing.TB, dir, name string, n int, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		for range 1 + r.IntN(12) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		switch r.IntN(10) {
		case 0:
			b.WriteString("\n")
		case 1:
			b.WriteString("\t")
		case 2:
			b.WriteString("  \r\n\n")
		default:
			b.WriteString(" ")
		}
	}
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b.Bytes()[:n], 0o644))
	return p
}

func TestWordcountMatchesNativeCount(t *testing.T) {
	in := t.TempDir()
	j := job(1, program(t, "wordcount"))
	j.Inputs = []Input{
		{Name: "7", Path: textFile(t, in, "b.txt", 300_000, 7)},
		{Name: "12", Path: textFile(t, in, "a.txt", 5_000, 12)},
	}

	res, m, dir := run(t, sharedExecutor(t), j)

	// What wc prints, computed here: names sorted as strings ("12" < "7").
	var want strings.Builder
	var tl, tw, tb int
	for _, in := range []Input{j.Inputs[1], j.Inputs[0]} {
		b, err := os.ReadFile(in.Path)
		require.NoError(t, err)
		l, w := bytes.Count(b, []byte("\n")), len(strings.Fields(string(b)))
		fmt.Fprintf(&want, "%d %d %d %s\n", l, w, len(b), in.Name)
		tl, tw, tb = tl+l, tw+w, tb+len(b)
	}
	fmt.Fprintf(&want, "%d %d %d total\n", tl, tw, tb)
	require.Equal(t, VerdictOK, res.Verdict)
	require.Equal(t, want.String(), readFile(t, filepath.Join(dir, "stdout")))
	require.Equal(t, want.String(), readFile(t, filepath.Join(dir, "output", "wordcount.txt")))
	require.Equal(t, []string{"output/wordcount.txt"}, m.Files)

	archive, err := os.ReadFile(res.Archive)
	require.NoError(t, err)
	root, err := merkle.Root(archive, merkle.DefaultChunkSize)
	require.NoError(t, err)
	require.Equal(t, [32]byte(root), res.Root)
	require.Equal(t, uint64(len(archive)), res.Size)
}

func TestWordcountCountsTheNamedFiles(t *testing.T) {
	in := t.TempDir()
	j := job(1, program(t, "wordcount"), "/input/b")
	j.Inputs = []Input{
		{Name: "a", Path: textFile(t, in, "a", 1000, 1)},
		{Name: "b", Path: textFile(t, in, "b", 2000, 2)},
	}
	res, _, dir := run(t, sharedExecutor(t), j)
	require.Equal(t, VerdictOK, res.Verdict)
	lines := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dir, "stdout"))), "\n")
	require.Len(t, lines, 2)
	require.True(t, strings.HasSuffix(lines[0], " 2000 /input/b"), lines[0])
}

func TestSha256sumMatchesCryptoSHA256(t *testing.T) {
	in := t.TempDir()
	j := job(2, program(t, "sha256sum"))
	j.Inputs = []Input{
		{Name: "1", Path: textFile(t, in, "one", 1<<20+3, 1)},
		{Name: "2", Path: textFile(t, in, "two", 0, 2)},
	}
	res, _, dir := run(t, sharedExecutor(t), j)

	var want strings.Builder
	for _, in := range j.Inputs {
		b, err := os.ReadFile(in.Path)
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		fmt.Fprintf(&want, "%s  %s\n", hex.EncodeToString(sum[:]), in.Name)
	}
	require.Equal(t, VerdictOK, res.Verdict)
	require.Equal(t, want.String(), readFile(t, filepath.Join(dir, "stdout")))
	require.Equal(t, want.String(), readFile(t, filepath.Join(dir, "output", "SHA256SUMS")))
}

func TestTwoExecutorsProduceTheSameArchive(t *testing.T) {
	in := t.TempDir()
	prog := program(t, "testprog")
	j := job(42, prog, "env", "extra arg")
	j.Env = []string{"ZETA=last", "ALPHA=first", "EMPTY="}
	j.Inputs = []Input{
		{Name: "9", Path: textFile(t, in, "nine", 1234, 9)},
		{Name: "10", Path: textFile(t, in, "ten", 99, 10)},
	}
	// A second executor with its own on-disk compilation cache, and an input
	// file with a different host mtime and mode: none of it may show.
	other, err := New(Options{CacheDir: t.TempDir()})
	require.NoError(t, err)
	defer other.Close(context.Background())
	require.NoError(t, os.Chtimes(j.Inputs[0].Path, time.Now(), time.Now().Add(-time.Hour)))
	require.NoError(t, os.Chmod(j.Inputs[1].Path, 0o600))

	a, _, dirA := run(t, sharedExecutor(t), j)
	b, _, _ := run(t, other, j)

	require.Equal(t, VerdictOK, a.Verdict)
	bytesA, err := os.ReadFile(a.Archive)
	require.NoError(t, err)
	bytesB, err := os.ReadFile(b.Archive)
	require.NoError(t, err)
	require.Equal(t, bytesA, bytesB)
	require.Equal(t, a.Root, b.Root)
	require.NotEqual(t, filepath.Dir(a.Archive), filepath.Dir(b.Archive))

	stdout := readFile(t, filepath.Join(dirA, "stdout"))
	require.Contains(t, stdout, `env ["ALPHA=first" "EMPTY=" "ZETA=last"]`)
	require.Contains(t, stdout, `args ["program" "env" "extra arg"]`)
	require.Contains(t, stdout, "time 2026-01-01T00:00:00.")
	// WASI has no permission bits: Go's wasip1 port shows 0600 and 0700.
	require.Contains(t, stdout, "file /input 0 drwx------ 2026-01-01T00:00:00Z\n")
	require.Contains(t, stdout, "file /input/10 99 -rw------- 2026-01-01T00:00:00Z\n")
	require.Contains(t, stdout, "file /input/9 1234 -rw------- 2026-01-01T00:00:00Z\n")
	require.Less(t, strings.Index(stdout, "/input/10 "), strings.Index(stdout, "/input/9 "))

	// The random bytes come from the job id, and only from it.
	j2 := j
	j2.ID = 43
	c, _, dirC := run(t, sharedExecutor(t), j2)
	require.NotEqual(t, a.Root, c.Root)
	randLine := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "rand ") {
				return l
			}
		}
		return ""
	}
	require.NotEmpty(t, randLine(stdout))
	require.NotEqual(t, randLine(stdout), randLine(readFile(t, filepath.Join(dirC, "stdout"))))
}

func TestInputsAreReadOnly(t *testing.T) {
	in := t.TempDir()
	j := job(3, program(t, "testprog"), "readonly")
	j.Inputs = []Input{{Name: "1", Path: textFile(t, in, "one", 100, 1)}}
	before := readFile(t, j.Inputs[0].Path)

	res, _, dir := run(t, sharedExecutor(t), j)

	stdout := readFile(t, filepath.Join(dir, "stdout"))
	require.Equal(t, VerdictOK, res.Verdict, stdout)
	require.Contains(t, stdout, "create failed as expected")
	require.Contains(t, stdout, "open 1 for writing failed as expected")
	require.Equal(t, before, readFile(t, j.Inputs[0].Path))
	require.NoFileExists(t, filepath.Join(in, "x"))
}

func TestTimeoutStopsTheProgram(t *testing.T) {
	j := job(4, program(t, "testprog"), "loop")
	j.Limits.Timeout = 2 * time.Second
	sharedExecutor(t) // compile outside the timed part
	_, err := shared.Run(context.Background(), job(4, j.Program, "exit", "0"), t.TempDir())
	require.NoError(t, err)

	start := time.Now()
	res, m, dir := run(t, shared, j)

	require.Less(t, time.Since(start), 10*time.Second)
	require.Equal(t, VerdictTimeout, res.Verdict)
	require.Zero(t, res.ExitCode)
	require.Empty(t, m.Files)
	require.Empty(t, readFile(t, filepath.Join(dir, "stdout")))
}

func TestCallerCancelIsAnError(t *testing.T) {
	j := job(4, program(t, "testprog"), "loop")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := sharedExecutor(t).Run(ctx, j, t.TempDir())
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestExitCodeIsKept(t *testing.T) {
	res, _, dir := run(t, sharedExecutor(t), job(5, program(t, "testprog"), "exit", "3"))
	require.Equal(t, VerdictExit, res.Verdict)
	require.Equal(t, uint32(3), res.ExitCode)
	require.Equal(t, "exiting 3\n", readFile(t, filepath.Join(dir, "stdout")))
	require.Equal(t, "3\n", readFile(t, filepath.Join(dir, "exit_code")))
	require.Equal(t, "exit\n", readFile(t, filepath.Join(dir, "verdict")))

	res, _, _ = run(t, shared, job(5, program(t, "testprog"), "exit", "0"))
	require.Equal(t, VerdictOK, res.Verdict)
}

func TestOutputLimit(t *testing.T) {
	prog := program(t, "testprog")
	e := sharedExecutor(t)

	// /output over the limit, counted with stdout.
	j := job(6, prog, "write", "100000")
	j.Limits.MaxOutput = 100_000 // plus nothing on stdout: fits exactly
	res, m, _ := run(t, e, j)
	require.Equal(t, VerdictOK, res.Verdict)
	require.Equal(t, []string{"output/big"}, m.Files)

	j.Args = []string{"write", "100001"}
	res, m, dir := run(t, e, j)
	require.Equal(t, VerdictOutputLimit, res.Verdict)
	require.Zero(t, res.ExitCode)
	require.Empty(t, m.Files)
	require.NoFileExists(t, filepath.Join(dir, "output", "big"))

	// stdout over the limit stops the program.
	j = job(6, prog, "env")
	j.Limits.MaxOutput = 10
	res, _, dir = run(t, e, j)
	require.Equal(t, VerdictOutputLimit, res.Verdict)
	require.Empty(t, readFile(t, filepath.Join(dir, "stdout")))
}

// Hand-assembled modules, for what Go programs cannot do on purpose.
var (
	wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	typeVoid   = []byte{0x01, 0x04, 0x01, 0x60, 0x00, 0x00}                               // type 0: () -> ()
	funcs1     = []byte{0x03, 0x02, 0x01, 0x00}                                           // one function of type 0
	export0    = []byte{0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00} // "_start" = func 0
)

func assemble(sections ...[]byte) []byte {
	return bytes.Join(append([][]byte{wasmHeader}, sections...), nil)
}

var (
	emptyStart  = assemble(typeVoid, funcs1, export0, []byte{0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b})
	unreachable = assemble(typeVoid, funcs1, export0, []byte{0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b})
	noStart     = assemble(typeVoid, funcs1, []byte{0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b})
	// (memory 2000): 125 MiB of initial memory.
	bigMemory = assemble(typeVoid, funcs1, []byte{0x05, 0x04, 0x01, 0x00, 0xd0, 0x0f}, export0, []byte{0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b})
	// imports env.f: nothing but WASI is linked.
	importsEnv = assemble(typeVoid, []byte{0x02, 0x09, 0x01, 0x03, 'e', 'n', 'v', 0x01, 'f', 0x00, 0x00})
)

func TestProgramVerdicts(t *testing.T) {
	e := sharedExecutor(t)
	for _, tc := range []struct {
		name    string
		program []byte
		want    Verdict
	}{
		{"empty _start", emptyStart, VerdictOK},
		{"garbage", []byte("this is not wasm"), VerdictInvalidProgram},
		{"truncated", program(t, "testprog")[:5000], VerdictInvalidProgram},
		{"no _start", noStart, VerdictInvalidProgram},
		{"imports other than WASI", importsEnv, VerdictInvalidProgram},
		{"unreachable", unreachable, VerdictTrap},
		{"initial memory over the limit", bigMemory, VerdictMemoryLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := job(7, tc.program)
			j.Limits.MemoryBytes = 64 << 20
			res, m, dir := run(t, e, j)
			require.Equal(t, tc.want, res.Verdict)
			require.Zero(t, res.ExitCode)
			require.Empty(t, m.Files)
			require.Empty(t, readFile(t, filepath.Join(dir, "stderr")))
		})
	}

	// The same program under a limit it fits.
	j := job(7, bigMemory)
	j.Limits.MemoryBytes = 2000 * 65536
	res, _, _ := run(t, e, j)
	require.Equal(t, VerdictOK, res.Verdict)
}

// A Go program that needs more memory than the limit dies in its runtime
// ("fatal error: out of memory", exit 2); wazero refuses the grow at the
// same point on every executor, so the result is an ordinary, reproducible
// exit (see the ADR).
func TestAllocOverTheLimitIsReproducible(t *testing.T) {
	prog := program(t, "testprog")
	e := sharedExecutor(t)
	j := job(8, prog, "alloc", "100")
	j.Limits.MemoryBytes = 64 << 20

	a, _, dir := run(t, e, j)
	b, _, _ := run(t, e, j)

	require.Equal(t, VerdictExit, a.Verdict)
	require.Equal(t, uint32(2), a.ExitCode)
	require.Contains(t, readFile(t, filepath.Join(dir, "stderr")), "out of memory")
	require.Equal(t, a.Root, b.Root)

	j.Args = []string{"alloc", "16"}
	res, _, dir := run(t, e, j)
	require.Equal(t, VerdictOK, res.Verdict)
	require.Equal(t, "allocated 16 MiB\n", readFile(t, filepath.Join(dir, "stdout")))
}

func TestCompiledModulesAreCached(t *testing.T) {
	e, err := New(Options{MaxCachedModules: 2})
	require.NoError(t, err)
	defer e.Close(context.Background())
	other := assemble(typeVoid, funcs1, export0, []byte{0x0a, 0x05, 0x01, 0x03, 0x00, 0x01, 0x0b}) // nop

	run(t, e, job(1, emptyStart))
	run(t, e, job(2, emptyStart))
	require.EqualValues(t, 1, e.compilations.Load(), "the second run must not compile")

	j := job(3, emptyStart)
	j.Limits.MemoryBytes = 1 << 20 // another limit is another runtime
	run(t, e, j)
	require.EqualValues(t, 2, e.compilations.Load())

	run(t, e, job(4, other)) // evicts the least recently used (emptyStart at 256 MiB)
	run(t, e, job(5, emptyStart))
	require.EqualValues(t, 4, e.compilations.Load())
	run(t, e, job(6, other))
	require.EqualValues(t, 4, e.compilations.Load())
}

func TestMalformedJobsAreErrors(t *testing.T) {
	e := sharedExecutor(t)
	for name, mutate := range map[string]func(*Job){
		"env without =":   func(j *Job) { j.Env = []string{"NOEQUALS"} },
		"input name a/b":  func(j *Job) { j.Inputs = []Input{{Name: "a/b", Path: j.Inputs[0].Path}} },
		"duplicate input": func(j *Job) { j.Inputs = append(j.Inputs, j.Inputs[0]) },
		"no timeout":      func(j *Job) { j.Limits.Timeout = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			j := job(1, emptyStart)
			j.Inputs = []Input{{Name: "1", Path: textFile(t, t.TempDir(), "f", 10, 1)}}
			mutate(&j)
			_, err := e.Run(context.Background(), j, t.TempDir())
			require.ErrorIs(t, err, ErrInvalidJob)
		})
	}
}

func TestJobRandIsSeededByTheJobID(t *testing.T) {
	read := func(id uint64, sizes ...int) []byte {
		r := newJobRand(id)
		var out []byte
		for _, n := range sizes {
			b := make([]byte, n)
			_, _ = r.Read(b)
			out = append(out, b...)
		}
		return out
	}
	require.Equal(t, read(1, 100), read(1, 7, 50, 43), "reads of any size draw the same stream")
	require.NotEqual(t, read(1, 100), read(2, 100))
	first := sha256.Sum256(append([]byte("stratus-job"), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0))
	require.Equal(t, first[:], read(1, 32))
}

// The archive's root is computed with the job's chunk size, the one the
// chain records for the job and gives its output deal: an executor that
// hashed with another would commit a root no holder could prove.
func TestArchiveRootUsesTheJobsChunkSize(t *testing.T) {
	e := sharedExecutor(t)
	j := job(40, program(t, "testprog"), "exit", "0")
	j.ChunkSize = 4096
	res, err := e.Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	archive, err := os.ReadFile(res.Archive)
	require.NoError(t, err)
	want, err := merkle.Root(archive, 4096)
	require.NoError(t, err)
	require.Equal(t, [32]byte(want), res.Root)
	other, err := merkle.Root(archive, 1024)
	require.NoError(t, err)
	require.NotEqual(t, [32]byte(other), res.Root, "the test needs an archive of more than one 1 KiB leaf")

	// The isolated child gets the chunk size with the job.
	iso, err := isolated(t).Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, res.Root, iso.Root)

	j.ChunkSize = 0
	_, err = e.Run(context.Background(), j, t.TempDir())
	require.ErrorIs(t, err, ErrInvalidJob)
}
