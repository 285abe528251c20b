package writeback

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// resident counts the pages of [off, off+n) of f in the page cache.
func resident(t *testing.T, f *os.File, off, n int64) int {
	t.Helper()
	m, err := unix.Mmap(int(f.Fd()), off, int(n), unix.PROT_READ, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	require.Zero(t, errno, "mincore: %v", errno)
	count := 0
	for _, v := range vec {
		count += int(v & 1)
	}
	return count
}

// canDrop skips the test where the file system keeps dropped pages (tmpfs
// holds its files in the page cache): there is nothing to check there.
func canDrop(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "probe"))
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Write(make([]byte, 1<<20))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	drop(f, 0, 1<<20)
	if resident(t, f, 0, 1<<20) > 0 {
		t.Skip("this file system keeps pages that are dropped (tmpfs?)")
	}
}

func pages(n int64) int { return int(n) / os.Getpagesize() }

// created is a new empty file, open for writing (skipping the test where
// dropping does nothing).
func created(t *testing.T) *os.File {
	t.Helper()
	dir := t.TempDir()
	canDrop(t, dir)
	f, err := os.Create(filepath.Join(dir, "out"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// written is a synced file of n random bytes, open for reading (skipping
// the test where dropping does nothing).
func written(t *testing.T, n int) ([]byte, *os.File) {
	t.Helper()
	dir := t.TempDir()
	canDrop(t, dir)
	path := filepath.Join(dir, "in")
	data := make([]byte, n)
	_, _ = rand.Read(data)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	require.NoError(t, f.Sync())
	return data, f
}

// A Writer keeping Keep bytes keeps the last Keep bytes in the page cache
// and drops what is behind them once it is on disk.
func TestWriterDropsBehind(t *testing.T) {
	f := created(t)
	data := make([]byte, 2*Keep+3*Every)
	_, _ = rand.Read(data)
	w := NewWriter(f, 0).Keeping(Keep)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1<<20+4097) // stretches that end between large pages
		_, err := w.Write(rest[:n])
		require.NoError(t, err)
		rest = rest[n:]
	}
	size := int64(len(data))
	require.LessOrEqual(t, w.dropped, size-Keep, "a page inside the kept stretch was dropped")
	require.Greater(t, w.dropped, size-Keep-2*Every, "a full stretch behind the kept one is still cached")
	// The kernel may bring a few pages back (readahead of the mapping);
	// not a whole dropped stretch.
	require.Less(t, resident(t, f, 0, w.dropped), pages(Align), "the dropped stretch is still in the page cache")
	require.Greater(t, resident(t, f, size-Keep, Keep), pages(Keep)/2, "the last stretch written is gone from the page cache")
	require.NoError(t, f.Sync())
	got, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "the file differs from what was written")
}

// A Reader reads the file in order, seeks as io.Seeker does, and drops
// what it has read.
func TestReaderReadsAndDrops(t *testing.T) {
	data, f := written(t, 4*Every+123)

	r := NewReader(f, 0)
	end, err := r.Seek(0, io.SeekEnd)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), end)
	at, err := r.Seek(10, io.SeekStart)
	require.NoError(t, err)
	require.Equal(t, int64(10), at)
	at, err = r.Seek(-5, io.SeekCurrent)
	require.NoError(t, err)
	require.Equal(t, int64(5), at)
	_, err = r.Seek(-6, io.SeekCurrent)
	require.Error(t, err, "a seek before the start was accepted")

	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data[5:], got), "read bytes differ from the file")
	require.Less(t, resident(t, f, 0, 4*Every+123), pages(Align), "what was read is still in the page cache")
}

// A Writer made by NewWriter keeps about two stretches in the page cache,
// and none once finished.
func TestWriterKeepsLittleByDefault(t *testing.T) {
	f := created(t)
	data := make([]byte, 6*Every+5)
	w := NewWriter(f, 0)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1<<20+4097)
		_, err := w.Write(rest[:n])
		require.NoError(t, err)
		rest = rest[n:]
	}
	size := int64(len(data))
	require.Less(t, resident(t, f, 0, size-3*Every), pages(Align), "more than two stretches stayed in the page cache")
	require.NoError(t, f.Sync())
	w.Finish()
	require.Less(t, resident(t, f, 0, size), pages(Align), "Finish left pages in the page cache")
}

// A ReaderAt reads what the file holds at each offset, and drops what it
// read: here by three readers each going through its own third.
func TestReaderAtReadsOnce(t *testing.T) {
	data, f := written(t, 3*Every+77)

	r := NewReaderAt(f)
	third := int64(len(data)) / 3
	got := make([]byte, len(data))
	for part := range int64(3) {
		end := (part + 1) * third
		if part == 2 {
			end = int64(len(data))
		}
		for off := part * third; off < end; {
			n, err := r.ReadAt(got[off:min(off+100_003, end)], off)
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
			}
			require.Positive(t, n)
			off += int64(n)
		}
	}
	require.True(t, bytes.Equal(data, got), "read bytes differ from the file")
	// Each third leaves at most the large page its end falls in.
	require.LessOrEqual(t, resident(t, f, 0, int64(len(data))), 2*pages(Align), "what was read is still in the page cache")
}
