package client

import (
	"io"
	"sync"
)

// pipeDepth buffers of pipeBuffer bytes sit between the two ends of a
// pipe (8 MiB): encrypting and hashing a put, verifying and decrypting an
// erasure-coded get.
const (
	pipeDepth  = 8
	pipeBuffer = 1 << 20
)

// bufPipe is io.Pipe with buffers between its ends: a write returns once
// its bytes are copied into a free buffer, not once the reader took them,
// so the writer (hashing a download) and the reader (decrypting it and
// writing the file) run at the same time on two cores instead of taking
// turns. depth buffers of size bytes bound the memory it holds.
type bufPipe struct {
	full chan []byte // filled buffers, in order
	free chan []byte // buffers to fill

	cur  []byte // what is left of the buffer being read
	held []byte // that buffer, to give back when read

	wmu  sync.Mutex // serialises writes and the writer's close
	wend bool
	werr error // why the writer closed (nil: io.EOF); set before full is closed

	rOnce sync.Once
	rdone chan struct{} // closed when the reader closes
	rerr  error         // why (nil: io.ErrClosedPipe); set before rdone is closed
}

func newBufPipe(depth, size int) *bufPipe {
	p := &bufPipe{full: make(chan []byte, depth), free: make(chan []byte, depth), rdone: make(chan struct{})}
	for range depth {
		p.free <- make([]byte, size)
	}
	return p
}

// Write copies b into the pipe's buffers, waiting for a free one when all
// are full. It fails once the reader has closed.
func (p *bufPipe) Write(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.wend {
		return 0, io.ErrClosedPipe
	}
	n := 0
	for len(b) > 0 {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.rdone:
			return n, p.readErr()
		}
		k := copy(buf[:cap(buf)], b)
		select {
		case p.full <- buf[:k]:
		case <-p.rdone:
			return n, p.readErr()
		}
		n += k
		b = b[k:]
	}
	return n, nil
}

// CloseWithError ends the writes: the reader gets err after the bytes
// written so far (io.EOF when err is nil). Unlike io.Pipe's, it waits for
// a Write in progress: call it from the writing goroutine.
func (p *bufPipe) CloseWithError(err error) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.wend {
		return nil
	}
	p.wend, p.werr = true, err
	close(p.full)
	return nil
}

// Read reads what was written, in order.
func (p *bufPipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	select {
	case <-p.rdone:
		return 0, io.ErrClosedPipe
	default:
	}
	if len(p.cur) == 0 {
		if p.held != nil {
			p.free <- p.held[:cap(p.held)]
			p.held = nil
		}
		buf, ok := <-p.full
		if !ok {
			if p.werr != nil {
				return 0, p.werr
			}
			return 0, io.EOF
		}
		p.cur, p.held = buf, buf
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// CloseReader ends the reads: writes fail with err from then on
// (io.ErrClosedPipe when err is nil).
func (p *bufPipe) CloseReader(err error) {
	p.rOnce.Do(func() {
		p.rerr = err
		close(p.rdone)
	})
}

func (p *bufPipe) readErr() error {
	if p.rerr != nil {
		return p.rerr
	}
	return io.ErrClosedPipe
}

var _ io.ReadWriter = (*bufPipe)(nil)
