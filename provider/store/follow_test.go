package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readAvailable reads from r until it has want bytes, failing the test if
// they do not come within a few seconds.
func readAvailable(t *testing.T, r io.Reader, want int) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, want)
		n, _ := io.ReadFull(r, buf)
		got <- buf[:n]
	}()
	select {
	case b := <-got:
		require.Len(t, b, want)
		return b
	case <-time.After(10 * time.Second):
		t.Fatalf("the follower did not get %d bytes that were written", want)
		return nil
	}
}

// startPut starts an upload of deal id through a pipe and sends its first
// n bytes; once that write returns the store is receiving. The test sends
// the rest to pw; done gets PutFrom's result.
func startPut(t *testing.T, st *Store, id uint64, expect Expect, data []byte, n int) (pw *io.PipeWriter, done chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done = make(chan error, 1)
	go func() { done <- st.PutFrom(id, expect, 0, pr) }()
	_, err := pw.Write(data[:n])
	require.NoError(t, err)
	return pw, done
}

// followSoon follows deal id's upload once it has started.
func followSoon(t *testing.T, st *Store, ctx context.Context, id uint64, expect Expect) io.ReadCloser {
	t.Helper()
	var r io.ReadCloser
	require.Eventually(t, func() bool {
		var err error
		r, err = st.Follow(ctx, id, expect)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	t.Cleanup(func() { r.Close() })
	return r
}

// A follower reads an upload's bytes while it arrives, before the upload
// is whole, waits for the rest, and ends with the whole file once it is
// stored; a second follower joining late reads from the start too.
func TestFollowReadsAnUploadAsItArrives(t *testing.T) {
	st, err := Open(t.TempDir())
	require.NoError(t, err)
	data := randomBytes(3, 300*1024+5)
	expect := expectFor(t, data)
	_, err = st.Follow(context.Background(), 9, expect)
	require.ErrorIs(t, err, ErrNoUpload, "nothing to follow before the upload starts")

	half := len(data) / 2
	pw, done := startPut(t, st, 9, expect, data, half)

	r := followSoon(t, st, context.Background(), 9, expect)
	other := expect
	other.Root[0] ^= 1
	_, err = st.Follow(context.Background(), 9, other)
	require.ErrorIs(t, err, ErrNoUpload, "an upload of other bytes is not followed")

	// The first half is readable while the upload still waits for the rest.
	require.Equal(t, data[:half], readAvailable(t, r, half))
	require.False(t, st.Has(9))

	late, err := st.Follow(context.Background(), 9, expect)
	require.NoError(t, err)
	defer late.Close()

	// Every byte is written, but the upload has not ended (the store waits
	// for the body's end): the last byte waits for the root check.
	_, err = pw.Write(data[half:])
	require.NoError(t, err)
	require.Equal(t, data[half:len(data)-1], readAvailable(t, r, len(data)-1-half))
	last := make(chan []byte, 1)
	go func() {
		b := make([]byte, 10)
		n, _ := r.Read(b)
		last <- b[:n]
	}()
	select {
	case <-last:
		t.Fatal("the last byte was read before the upload was checked")
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)
	require.True(t, st.Has(9))
	require.Equal(t, data[len(data)-1:], <-last)
	_, err = r.Read(make([]byte, 10))
	require.ErrorIs(t, err, io.EOF)
	all, err := io.ReadAll(late)
	require.NoError(t, err)
	require.Equal(t, data, all)

	_, err = st.Follow(context.Background(), 9, expect)
	require.ErrorIs(t, err, ErrNoUpload, "a stored deal is fetched, not followed")
}

// An upload that fails its root check fails its followers at once: they
// never see a clean end of bytes the deal does not hold.
func TestFollowFailsWithTheUpload(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(pw *io.PipeWriter, rest []byte)
		want error
		// whether the next upload of the deal may be followed again
		followAgain bool
	}{
		{"wrong bytes", func(pw *io.PipeWriter, rest []byte) {
			bad := bytes.Clone(rest)
			bad[len(bad)-1] ^= 1
			_, _ = pw.Write(bad)
			_ = pw.Close()
		}, ErrRootMismatch, false},
		{"connection cut", func(pw *io.PipeWriter, rest []byte) {
			_, _ = pw.Write(rest[:10])
			pw.CloseWithError(errCut)
		}, errCut, true},
		{"one byte too many", func(pw *io.PipeWriter, rest []byte) {
			// The store reads one byte past the size to refuse it: that
			// byte must not let the follower read the whole deal first.
			_, _ = pw.Write(append(bytes.Clone(rest), 0))
			_ = pw.Close()
		}, ErrTooLarge, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Open(t.TempDir())
			require.NoError(t, err)
			data := randomBytes(4, 64*1024)
			expect := expectFor(t, data)
			pw, done := startPut(t, st, 2, expect, data, 1024)
			r := followSoon(t, st, context.Background(), 2, expect)
			// The follower reads while the rest arrives, as over HTTP.
			type result struct {
				b   []byte
				err error
			}
			read := make(chan result, 1)
			go func() {
				b, err := io.ReadAll(r)
				read <- result{b, err}
			}()
			tc.end(pw, data[1024:])
			require.ErrorIs(t, <-done, tc.want)

			got := <-read
			require.ErrorIs(t, got.err, tc.want)
			require.Less(t, len(got.b), len(data), "the follower read a whole deal that failed")
			require.False(t, st.Has(2))

			// The next upload: after wrong bytes it is stored but not
			// offered to followers, so an owner cannot make providers
			// copy bad uploads to each other again and again.
			pw, done = startPut(t, st, 2, expect, data, 1024)
			if tc.followAgain {
				followSoon(t, st, context.Background(), 2, expect)
			} else {
				// The write above returned: the upload is running.
				_, err = st.Follow(context.Background(), 2, expect)
				require.ErrorIs(t, err, ErrNoUpload)
			}
			_, err = pw.Write(data[1024:])
			require.NoError(t, err)
			require.NoError(t, pw.Close())
			require.NoError(t, <-done)
			require.True(t, st.Has(2))
		})
	}
}

// A follower whose context ends stops waiting.
func TestFollowStopsWithItsContext(t *testing.T) {
	st, err := Open(t.TempDir())
	require.NoError(t, err)
	data := randomBytes(5, 8*1024)
	expect := expectFor(t, data)
	pw, done := startPut(t, st, 3, expect, data, 1024)
	t.Cleanup(func() { pw.CloseWithError(errCut); <-done }) // before the store's dir goes
	ctx, cancel := context.WithCancel(context.Background())
	r := followSoon(t, st, ctx, 3, expect)
	readAvailable(t, r, 1024)
	errc := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 10))
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the follower kept waiting after its context ended")
	}
}

// Uploads of a deal that keep failing (cut short, too slow) stop being
// offered to followers after maxFailedFollows; a stored deal forgets them.
func TestFailedUploadsStopBeingFollowed(t *testing.T) {
	st, err := Open(t.TempDir())
	require.NoError(t, err)
	data := randomBytes(6, 16*1024)
	expect := expectFor(t, data)
	upload := func(cut bool) (followed bool) {
		pw, done := startPut(t, st, 5, expect, data, 1024)
		r, ferr := st.Follow(context.Background(), 5, expect)
		if ferr == nil {
			r.Close()
		}
		if cut {
			pw.CloseWithError(errCut)
			require.ErrorIs(t, <-done, errCut)
		} else {
			_, err = pw.Write(data[1024:])
			require.NoError(t, err)
			require.NoError(t, pw.Close())
			require.NoError(t, <-done)
		}
		return ferr == nil
	}
	for range maxFailedFollows {
		require.True(t, upload(true))
	}
	require.False(t, upload(false), "an upload was followed after %d failed ones", maxFailedFollows)
	require.True(t, st.Has(5))
	require.NotContains(t, st.failed, uint64(5), "a stored deal keeps its count")
}

// AwaitUpload returns as soon as an upload of the deal starts, or the deal
// is stored, and false once its wait or its context ends without either.
func TestAwaitUpload(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	require.False(t, s.AwaitUpload(context.Background(), 1, 50*time.Millisecond), "no upload runs")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.False(t, s.AwaitUpload(ctx, 1, time.Minute), "a cancelled wait went on")
	require.Zero(t, s.AwaitingUploads())

	waiting := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool { return s.AwaitingUploads() == n }, 10*time.Second, time.Millisecond)
	}
	done := make(chan bool, 1)
	go func() { done <- s.AwaitUpload(context.Background(), 1, time.Minute) }()
	waiting(1)
	s.startUpload(2, "other", Expect{}, 0) // another deal's upload wakes it, but does not end it
	select {
	case <-done:
		t.Fatal("the wait ended on another deal's upload")
	case <-time.After(50 * time.Millisecond):
	}
	waiting(1)
	s.startUpload(1, "one", Expect{}, 0)
	select {
	case ok := <-done:
		require.True(t, ok)
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end when the upload started")
	}
	waiting(0)

	// An upload that starts and is stored before the woken waiter looks:
	// the deal is stored, which ends the wait too.
	data := randomBytes(3, 3*1024)
	expect := expectFor(t, data)
	go func() { done <- s.AwaitUpload(context.Background(), 3, time.Minute) }()
	waiting(1)
	require.NoError(t, s.Put(3, expect, bytes.NewReader(data)))
	s.startUpload(4, "other", Expect{}, 0) // a wakeup, as the upload's start would be
	select {
	case ok := <-done:
		require.True(t, ok, "the wait did not see the stored deal")
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end once the deal was stored")
	}
}
