package executor

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// The griefing attack on a wall-clock limit: a job that runs for about its
// time limit, so that fast executors finish and slow ones time out, and the
// majority outvotes the minority. Under fuel every executor stops at the
// same instruction with the same archive, in process and in a child.
func TestFuelStopsTheProgramAtTheSameInstructionEverywhere(t *testing.T) {
	j := job(30, program(t, "testprog"), "loop")
	j.Limits.Fuel = 300_000_000
	a, m, _ := run(t, sharedExecutor(t), j)
	require.Equal(t, VerdictOutOfFuel, a.Verdict)
	require.Equal(t, j.Limits.Fuel, a.FuelUsed)
	require.Empty(t, m.Files)

	b, err := isolated(t).Run(context.Background(), j, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, VerdictOutOfFuel, b.Verdict)
	require.Equal(t, a.Root, b.Root)
}

// The fuel a run spends is exact: the same on every run, enough with
// exactly that budget, and one unit less runs out.
func TestFuelUsedIsExact(t *testing.T) {
	j := job(31, program(t, "testprog"), "floats")
	e := sharedExecutor(t)
	first, _, _ := run(t, e, j)
	require.Equal(t, VerdictOK, first.Verdict)
	require.Greater(t, first.FuelUsed, uint64(1_000_000))
	again, _, _ := run(t, e, j)
	require.Equal(t, first.FuelUsed, again.FuelUsed)
	require.Equal(t, first.Root, again.Root)

	j.Limits.Fuel = first.FuelUsed
	res, _, _ := run(t, e, j)
	require.Equal(t, VerdictOK, res.Verdict)
	require.Equal(t, first.Root, res.Root)

	j.Limits.Fuel = first.FuelUsed - 1
	res, _, _ = run(t, e, j)
	require.Equal(t, VerdictOutOfFuel, res.Verdict)
}

func TestNoFuelIsAnInvalidJob(t *testing.T) {
	j := job(32, program(t, "testprog"), "exit", "0")
	j.Limits.Fuel = 0
	_, err := sharedExecutor(t).Run(context.Background(), j, t.TempDir())
	require.ErrorIs(t, err, ErrInvalidJob)
}

// Cross-architecture determinism. The vectors are the three jobs:
// wordcount, a float program full of NaNs and infinities, and one that
// sorts a map's keys (and records the map's iteration order).

const vectorsDirEnv = "STRATUS_VECTORS_DIR"

type vector struct {
	Name  string
	Args  []string
	Input bool // mounts the text file as /input/text
}

var vectors = []vector{
	{Name: "wordcount", Args: []string{"/input/text"}, Input: true},
	{Name: "testprog", Args: []string{"floats"}},
	{Name: "testprog", Args: []string{"mapkeys", "20000"}},
}

// runVectors runs every vector with the programs and input in dir and
// returns each archive's root, verdict and fuel.
func runVectors(t *testing.T, dir string) map[string]string {
	e, err := New(Options{})
	require.NoError(t, err)
	defer e.Close(context.Background())
	out := map[string]string{}
	for i, v := range vectors {
		prog, err := os.ReadFile(filepath.Join(dir, v.Name))
		require.NoError(t, err)
		j := job(uint64(40+i), prog, v.Args...)
		if v.Input {
			j.Inputs = []Input{{Name: "text", Path: filepath.Join(dir, "text")}}
		}
		res, err := e.Run(context.Background(), j, t.TempDir())
		require.NoError(t, err)
		require.Equal(t, VerdictOK, res.Verdict, "%s %v", v.Name, v.Args)
		key := v.Name + " " + v.Args[0]
		out[key] = hex.EncodeToString(res.Root[:]) + " " + string(res.Verdict)
		out[key+" fuel"] = strconv.FormatUint(res.FuelUsed, 10)
	}
	return out
}

// TestSameArchivesOnArm64 runs the vectors here and in this package's test
// binary built for arm64 under qemu-aarch64, and wants the same archives
// and the same fuel. Without qemu-aarch64 it skips, unless
// STRATUS_REQUIRE_QEMU is set (CI sets it).
func TestSameArchivesOnArm64(t *testing.T) {
	if os.Getenv(vectorsDirEnv) != "" {
		t.Skip("the arm64 side runs TestVectorsChild")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("compares amd64 with arm64 under emulation")
	}
	qemu, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		qemu, err = exec.LookPath("qemu-aarch64-static")
	}
	if err != nil {
		if os.Getenv("STRATUS_REQUIRE_QEMU") != "" {
			t.Fatal("qemu-aarch64 is not installed (Debian package qemu-user)")
		}
		t.Skip("qemu-aarch64 is not installed (Debian package qemu-user)")
	}

	dir := t.TempDir()
	for _, name := range []string{"wordcount", "testprog"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), program(t, name), 0o644))
	}
	textFile(t, dir, "text", 2<<20, 7)
	native := runVectors(t, dir)

	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "executor.test.arm64")
	build := exec.Command(goTool, "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the arm64 test binary: %s", out)

	result := filepath.Join(dir, "arm64.json")
	cmd := exec.Command(qemu, bin, "-test.run", "^TestVectorsChild$", "-test.v")
	cmd.Env = append(os.Environ(), vectorsDirEnv+"="+dir)
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "the arm64 run: %s", out)
	bz, err := os.ReadFile(result)
	require.NoError(t, err, "the arm64 run wrote no result: %s", out)
	var arm64 map[string]string
	require.NoError(t, json.Unmarshal(bz, &arm64))
	require.Equal(t, native, arm64, "archives and fuel on amd64 (expected) and arm64 (actual)")
	t.Logf("arm64 under qemu produced the same %d archives", len(vectors))
}

// TestVectorsChild is the arm64 side of TestSameArchivesOnArm64.
func TestVectorsChild(t *testing.T) {
	dir := os.Getenv(vectorsDirEnv)
	if dir == "" {
		t.Skip("run by TestSameArchivesOnArm64")
	}
	require.Equal(t, "arm64", runtime.GOARCH)
	bz, err := json.Marshal(runVectors(t, dir))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "arm64.json"), bz, 0o644))
}

// randomGet16MiB calls random_get on 16 MiB four times: four host calls
// that each do 16 MiB of work. Found by review: before host calls were
// charged, this cost 40 fuel, and a job could be tuned to finish on fast
// executors and time out on slow ones.
var randomGet16MiB = func() []byte {
	leb := func(x uint32) []byte {
		var b []byte
		for x >= 0x80 {
			b = append(b, byte(x)|0x80)
			x >>= 7
		}
		return append(b, byte(x))
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	sec := func(id byte, parts ...[]byte) []byte {
		p := cat(parts...)
		return cat([]byte{id}, leb(uint32(len(p))), p)
	}
	name := func(s string) []byte { return cat(leb(uint32(len(s))), []byte(s)) }
	code := []byte{0x01, 0x01, 0x7f, // one i32 local
		0x41, 0x04, 0x21, 0x00, // i32.const 4; local.set 0
		0x03, 0x40, // loop
		0x41, 0x00, 0x41, 0x80, 0x80, 0x80, 0x08, 0x10, 0x00, 0x1a, // random_get(0, 16 MiB); drop
		0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, 0x0d, 0x00, // local.get 0; i32.const 1; i32.sub; local.tee 0; br_if 0
		0x0b, 0x0b}
	return cat(wasmHeader,
		sec(0x01, []byte{0x02, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00}),
		sec(0x02, []byte{0x01}, name("wasi_snapshot_preview1"), name("random_get"), []byte{0x00, 0x00}),
		sec(0x03, []byte{0x01, 0x01}),
		sec(0x05, []byte{0x01, 0x00, 0x80, 0x02}),
		sec(0x07, []byte{0x02}, name("_start"), []byte{0x00, 0x01}, name("memory"), []byte{0x02, 0x00}),
		sec(0x0a, []byte{0x01}, leb(uint32(len(code))), code),
	)
}()

func TestHostCallsAreChargedByTheByte(t *testing.T) {
	j := job(33, randomGet16MiB)
	res, _, _ := run(t, sharedExecutor(t), j)
	require.Equal(t, VerdictOK, res.Verdict)
	require.GreaterOrEqual(t, res.FuelUsed, uint64(4*(16<<20)/64), "each call pays for its 16 MiB")

	j.Limits.Fuel = 1_000_000 // about 3.8 calls' worth
	res, _, _ = run(t, sharedExecutor(t), j)
	require.Equal(t, VerdictOutOfFuel, res.Verdict)
}
