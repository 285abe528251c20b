package executor

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

const benchInputSize = 32 << 20

// BenchmarkRun is one executor run of wordcount over 32 MiB of text, the
// program already compiled (as for a provider's second job with it).
func BenchmarkRun(b *testing.B) {
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(context.Background())
	j := job(1, program(b, "wordcount"))
	j.Inputs = []Input{{Name: "1", Path: textFile(b, b.TempDir(), "in", benchInputSize, 1)}}
	work := b.TempDir()
	if _, err := e.Run(context.Background(), j, work); err != nil { // compile outside the loop
		b.Fatal(err)
	}
	b.SetBytes(benchInputSize)
	b.ResetTimer()
	for b.Loop() {
		res, err := e.Run(context.Background(), j, work)
		if err != nil || res.Verdict != VerdictOK {
			b.Fatal(res.Verdict, err)
		}
	}
}

// BenchmarkTerminationChecks runs the same program on bare wazero with and
// without WithCloseOnContextDone, to show what the executor pays for being
// able to stop a program at its timeout (docs/adr/007).
func BenchmarkTerminationChecks(b *testing.B) {
	prog := program(b, "wordcount")
	dir := b.TempDir()
	textFile(b, dir, "1", benchInputSize, 1)
	for _, checks := range []bool{true, false} {
		name := "checks=on"
		if !checks {
			name = "checks=off"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(checks))
			defer r.Close(ctx)
			wasi_snapshot_preview1.MustInstantiate(ctx, r)
			compiled, err := r.CompileModule(ctx, prog)
			if err != nil {
				b.Fatal(err)
			}
			out := b.TempDir()
			cfg := wazero.NewModuleConfig().WithName("").WithArgs("program").WithStdout(io.Discard).
				WithFSConfig(wazero.NewFSConfig().WithReadOnlyDirMount(dir, "/input").WithDirMount(out, "/output"))
			b.SetBytes(benchInputSize)
			for b.Loop() {
				runCtx, cancel := context.WithTimeout(ctx, time.Minute)
				_, err := r.InstantiateModule(runCtx, compiled, cfg) // runs _start
				cancel()
				if exit := (*sys.ExitError)(nil); err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 0) {
					b.Fatal(err)
				}
				os.Remove(filepath.Join(out, "wordcount.txt"))
			}
		})
	}
}
