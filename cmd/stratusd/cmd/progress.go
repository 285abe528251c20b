package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/stratusnet/stratus/client"
)

// progress shows long operations to a person: a redrawn bar on a terminal,
// plain lines (every 10%) otherwise, so logs stay readable.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	stages map[string]*counter
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, tty: ok && term.IsTerminal(int(f.Fd()))}
}

// Linef prints one line of status.
func (p *progress) Linef(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

type counter struct {
	p          *progress
	label      string
	total      uint64
	done       uint64
	lastTenth  uint64
	lastRedraw time.Time
}

func (c *counter) add(n int) {
	c.done += uint64(n)
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.total == 0 {
		return
	}
	pct := min(c.done*100/c.total, 100)
	if c.p.tty {
		if time.Since(c.lastRedraw) < 100*time.Millisecond && c.done < c.total {
			return
		}
		c.lastRedraw = time.Now()
		bar := strings.Repeat("#", int(pct/4)) + strings.Repeat(".", 25-int(pct/4))
		fmt.Fprintf(c.p.w, "\r%-9s [%s] %3d%% %s", c.label, bar, pct, client.HumanBytes(c.done))
		if c.done >= c.total {
			fmt.Fprintln(c.p.w)
		}
		return
	}
	if tenth := pct / 10; tenth > c.lastTenth || (c.done >= c.total && c.lastTenth < 10) {
		c.lastTenth = tenth
		fmt.Fprintf(c.p.w, "%s: %d%% (%s of %s)\n", c.label, pct, client.HumanBytes(c.done), client.HumanBytes(c.total))
	}
}

// Event shows an SDK event: a status line, or a stage's byte count.
func (p *progress) Event(e client.Event) {
	if e.Message != "" {
		p.Linef("%s", e.Message)
		return
	}
	p.mu.Lock()
	if p.stages == nil {
		p.stages = map[string]*counter{}
	}
	c := p.stages[e.Stage]
	if c == nil || e.Done < c.done { // a new pass of the stage
		c = &counter{p: p, label: e.Stage, total: e.Total}
		p.stages[e.Stage] = c
	}
	p.mu.Unlock()
	c.add(int(e.Done - c.done))
}
