package executor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/stratusnet/stratus/jobarchive"
	"github.com/stratusnet/stratus/merkle"
)

// outputBudget is Limits.MaxOutput shared by stdout and stderr while the
// program runs (/output is added when it has ended). The first write that
// does not fit stops the program: its verdict is output_limit whatever it
// would have done next, so running on would be wasted.
type outputBudget struct {
	mu       sync.Mutex
	left     uint64
	overflow bool
	err      error  // a host write failure
	exceeded func() // stops the run
	// overflowed, when set, is called (lock held) once the budget is spent;
	// a child process uses it to end the run at once (see isolated.go).
	overflowed func()
}

func (b *outputBudget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.overflow {
		return false
	}
	if uint64(n) > b.left {
		b.overflow = true
		b.exceeded()
		if b.overflowed != nil {
			b.overflowed()
		}
		return false
	}
	b.left -= uint64(n)
	return true
}

func (b *outputBudget) over() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.overflow
}

func (b *outputBudget) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
	}
	b.exceeded()
}

func (b *outputBudget) writeErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// errOutputLimit is what the program's write sees once the budget is spent.
var errOutputLimit = fmt.Errorf("output limit reached")

type budgetWriter struct {
	b     *outputBudget
	f     *os.File
	meter *hostMeter
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	w.meter.charge(len(p))
	if !w.b.take(len(p)) {
		return 0, errOutputLimit
	}
	n, err := w.f.Write(p)
	if err != nil {
		w.b.fail(err)
	}
	return n, err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// writeArchiveFile writes c's archive to path, hashing it on the way, and
// fsyncs it.
func writeArchiveFile(c jobarchive.Content, path string, chunkSize int) (Result, error) {
	tree, err := merkle.NewBuilder(chunkSize)
	if err != nil {
		return Result{}, fmt.Errorf("executor: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return Result{}, fmt.Errorf("executor: archive: %w", err)
	}
	defer f.Close()
	buf := bufio.NewWriterSize(io.MultiWriter(f, tree), 256<<10)
	if err := jobarchive.Write(buf, c); err != nil {
		return Result{}, fmt.Errorf("executor: archive: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return Result{}, fmt.Errorf("executor: archive: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Result{}, fmt.Errorf("executor: archive: %w", err)
	}
	if err := f.Close(); err != nil {
		return Result{}, fmt.Errorf("executor: archive: %w", err)
	}
	return Result{
		Verdict:  c.Verdict,
		ExitCode: c.ExitCode,
		Root:     tree.Root(),
		Size:     tree.Size(),
		Archive:  path,
	}, nil
}
