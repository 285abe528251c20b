package executor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary act as the child (see TestMain).
const childEnv = "STRATUS_EXECUTOR_TEST_CHILD"

func isolated(t *testing.T) *Isolated {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	t.Setenv(childEnv, "1")
	s, err := NewIsolated([]string{exe}, t.TempDir())
	require.NoError(t, err)
	return s
}

// The child process gives the same archives as the in-process executor,
// for a normal run and for each verdict it decides itself.
func TestIsolatedMatchesInProcess(t *testing.T) {
	s := isolated(t)
	prog := program(t, "testprog")
	in := t.TempDir()
	textFile(t, in, "data", 10_000, 3)
	for name, j := range map[string]Job{
		"env":          job(11, prog, "env"),
		"exit":         job(12, prog, "exit", "3"),
		"wordcount":    job(13, program(t, "wordcount")),
		"invalid":      job(14, []byte("not wasm")),
		"memory_limit": job(15, bigMemory),
		"trap":         job(16, unreachable),
	} {
		j.Env = []string{"B=2", "A=1"}
		j.Inputs = []Input{{Name: "7", Path: filepath.Join(in, "data")}}
		if name == "memory_limit" {
			j.Limits.MemoryBytes = 64 << 20
		}
		want, err := sharedExecutor(t).Run(context.Background(), j, t.TempDir())
		require.NoError(t, err, name)
		got, err := s.Run(context.Background(), j, t.TempDir())
		require.NoError(t, err, name)
		require.Equal(t, want.Verdict, got.Verdict, name)
		require.Equal(t, want.ExitCode, got.ExitCode, name)
		require.Equal(t, want.Root, got.Root, name)
		require.Equal(t, want.Size, got.Size, name)
		a, err := os.ReadFile(want.Archive)
		require.NoError(t, err)
		b, err := os.ReadFile(got.Archive)
		require.NoError(t, err)
		require.True(t, bytes.Equal(a, b), name)
	}
}

func TestIsolatedTimeoutKillsTheChild(t *testing.T) {
	s := isolated(t)
	j := job(21, program(t, "testprog"), "loop")
	j.Limits.Timeout = time.Second
	start := time.Now()
	res, err := s.Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	require.Less(t, time.Since(start), 30*time.Second)
	require.Equal(t, VerdictTimeout, res.Verdict)
	want, err := sharedExecutor(t).Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, want.Root, res.Root, "a timeout archives the same in both modes")
}

func TestIsolatedOutputLimitEndsTheChild(t *testing.T) {
	s := isolated(t)
	j := job(22, program(t, "testprog"), "env")
	j.Limits.MaxOutput = 10
	res, err := s.Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, VerdictOutputLimit, res.Verdict)

	j = job(23, program(t, "testprog"), "write", "100001")
	j.Limits.MaxOutput = 100_000
	res, err = s.Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, VerdictOutputLimit, res.Verdict)
}

func TestIsolatedErrors(t *testing.T) {
	s := isolated(t)
	j := job(24, program(t, "testprog"), "loop")
	j.Env = []string{"NOEQUALS"}
	_, err := s.Run(context.Background(), j, t.TempDir())
	require.ErrorIs(t, err, ErrInvalidJob)

	j = job(25, program(t, "testprog"), "loop")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = s.Run(ctx, j, t.TempDir())
	require.ErrorIs(t, err, context.DeadlineExceeded)

	bad, err := NewIsolated([]string{filepath.Join(t.TempDir(), "missing")}, "")
	require.NoError(t, err)
	_, err = bad.Run(context.Background(), job(26, program(t, "testprog"), "exit", "0"), t.TempDir())
	require.ErrorContains(t, err, "starting the child")
}

// A module whose start section never returns is timed like a program: the
// time limit covers instantiation in both modes.
func TestIsolatedStartSectionLoopTimesOut(t *testing.T) {
	startLoop := assemble(typeVoid, funcs1,
		[]byte{0x08, 0x01, 0x00}, // start: func 0
		[]byte{0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b}) // loop br 0 end end
	j := job(27, startLoop)
	j.Limits.Timeout = time.Second
	want, err := sharedExecutor(t).Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, VerdictTimeout, want.Verdict)

	s := isolated(t)
	start := time.Now()
	got, err := s.Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	require.Less(t, time.Since(start), 30*time.Second)
	require.Equal(t, want.Root, got.Root)
}

// A child that never starts the program is stopped at CompileTimeout.
func TestIsolatedChildThatNeverStartsIsStopped(t *testing.T) {
	s, err := NewIsolated([]string{"sh", "-c", "sleep 60", "child"}, "")
	require.NoError(t, err)
	s.CompileTimeout = time.Second
	start := time.Now()
	_, err = s.Run(context.Background(), job(28, []byte("x"), "exit", "0"), t.TempDir())
	require.ErrorContains(t, err, "did not start the program")
	require.Less(t, time.Since(start), 20*time.Second)
}
