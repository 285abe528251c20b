package writeback

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A Writer writes everything, in order, from its offset, whatever it asks
// the kernel to write back on the way, and starts that for every full
// stretch.
func TestWriterWritesEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	head := []byte("kept from before")
	require.NoError(t, os.WriteFile(path, head, 0o600))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Seek(int64(len(head)), 0)
	require.NoError(t, err)

	data := make([]byte, 3*Every+5)
	_, _ = rand.Read(data)
	w := NewWriter(f, int64(len(head)))
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 3<<20)
		k, err := w.Write(rest[:n])
		require.NoError(t, err)
		require.Equal(t, n, k)
		rest = rest[n:]
	}
	require.Equal(t, int64(len(head)+len(data)), w.off)
	require.Greater(t, w.started, int64(len(head)), "no writeback was started")
	require.Less(t, w.off-w.started, int64(Every), "a full stretch was left without writeback")
	require.NoError(t, f.Close())
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, append(head, data...), got)
}

// Two WriterAts fill their own halves of one file at once, each in order,
// without moving the file's offset.
func TestWriterAtsFillTheirParts(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer f.Close()
	data := make([]byte, 2*Every+2*4096+3)
	_, _ = rand.Read(data)
	half := len(data) / 2
	ws := []*Writer{NewWriterAt(f, 0), NewWriterAt(f, int64(half))}
	parts := [][]byte{data[:half], data[half:]}
	for off := 0; off < len(data)-half; off += 1 << 20 {
		for i, w := range ws {
			if off < len(parts[i]) {
				_, err := w.Write(parts[i][off:min(off+1<<20, len(parts[i]))])
				require.NoError(t, err)
			}
		}
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	require.Zero(t, pos, "a WriterAt moved the file's offset")
	got, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
}
