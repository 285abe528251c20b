package client

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// What is written comes out in order, whatever the sizes of the writes and
// reads, and the writer's close ends the reads.
func TestBufPipeKeepsOrder(t *testing.T) {
	data := make([]byte, 5<<20+123)
	_, _ = rand.Read(data)
	p := newBufPipe(3, 64<<10)
	go func() {
		rest := data
		for i := 1; len(rest) > 0; i++ {
			n := min(len(rest), i*7919)
			_, err := p.Write(rest[:n])
			if err != nil {
				p.CloseWithError(err)
				return
			}
			rest = rest[n:]
		}
		p.CloseWithError(nil)
	}()
	var got bytes.Buffer
	buf := make([]byte, 10007)
	for {
		n, err := p.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
	require.Equal(t, data, got.Bytes())
}

// A write returns once its bytes are buffered, not once they are read: the
// writer runs ahead by up to the pipe's buffers, and no further.
func TestBufPipeBuffersAhead(t *testing.T) {
	p := newBufPipe(2, 1024)
	n, err := p.Write(make([]byte, 2048))
	require.NoError(t, err)
	require.Equal(t, 2048, n)

	wrote := make(chan struct{})
	go func() {
		_, _ = p.Write([]byte{1})
		close(wrote)
	}()
	select {
	case <-wrote:
		t.Fatal("a write went past the pipe's buffers with nothing read")
	case <-time.After(100 * time.Millisecond):
	}
	_, err = io.ReadFull(p, make([]byte, 1024))
	require.NoError(t, err)
	// The first buffer goes back once the next read moves past it.
	_, err = p.Read(make([]byte, 1))
	require.NoError(t, err)
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the write did not go on once a buffer was read")
	}
}

// The writer's error reaches the reader after the bytes before it; the
// reader's error stops the writer, even one waiting for a buffer.
func TestBufPipeErrors(t *testing.T) {
	errBad := errors.New("the download failed")
	p := newBufPipe(2, 16)
	_, err := p.Write([]byte("hello"))
	require.NoError(t, err)
	p.CloseWithError(errBad)
	_, err = p.Write([]byte("more"))
	require.ErrorIs(t, err, io.ErrClosedPipe)
	b, err := io.ReadAll(p)
	require.ErrorIs(t, err, errBad)
	require.Equal(t, "hello", string(b))

	errDecrypt := errors.New("decrypting failed")
	p = newBufPipe(1, 4)
	_, err = p.Write([]byte("full"))
	require.NoError(t, err)
	blocked := make(chan error, 1)
	go func() {
		_, err := p.Write([]byte("waits for a buffer"))
		blocked <- err
	}()
	p.CloseReader(errDecrypt)
	select {
	case err := <-blocked:
		require.ErrorIs(t, err, errDecrypt)
	case <-time.After(10 * time.Second):
		t.Fatal("a writer waiting for a buffer was not stopped by the reader's close")
	}
	_, err = p.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.ErrClosedPipe)
}
