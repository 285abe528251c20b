package store

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/merkle"
)

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func expectFor(t *testing.T, data []byte) Expect {
	t.Helper()
	root, err := merkle.Root(data, 1024)
	require.NoError(t, err)
	return Expect{Root: root, Size: uint64(len(data)), ChunkSize: 1024}
}

func tmpEntries(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	e, err := os.ReadDir(filepath.Join(dir, "tmp"))
	require.NoError(t, err)
	return e
}

func TestPutProofReadBack(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	data := randomBytes(1, 300_000)
	exp := expectFor(t, data)

	require.NoError(t, s.Put(7, exp, bytes.NewReader(data)))
	require.True(t, s.Has(7))
	require.Empty(t, tmpEntries(t, dir))

	f, meta, err := s.OpenData(7)
	require.NoError(t, err)
	got, err := io.ReadAll(f)
	require.NoError(t, err)
	f.Close()
	require.Equal(t, data, got)
	require.Equal(t, exp.Root, meta.Root)

	n := merkle.LeafCount(exp.Size, 1024)
	for _, idx := range []uint64{0, 1, 100, n - 1} {
		leaf, path, err := s.Proof(7, idx)
		require.NoError(t, err)
		require.NoError(t, merkle.VerifyProof(exp.Root, n, idx, leaf, path))
	}
	_, _, err = s.Proof(7, n)
	require.ErrorIs(t, err, merkle.ErrIndexOutOfTree)
	require.NoError(t, s.Verify(7))

	ids, err := s.List()
	require.NoError(t, err)
	require.Equal(t, []uint64{7}, ids)
	deals, used, err := s.Usage()
	require.NoError(t, err)
	require.Equal(t, 1, deals)
	require.Equal(t, uint64(len(data)), used)

	// Idempotent: the same deal again succeeds without reading.
	require.NoError(t, s.Put(7, exp, iotest.ErrReader(errors.New("must not be read"))))

	require.NoError(t, s.Delete(7))
	require.False(t, s.Has(7))
	_, _, err = s.Proof(7, 0)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestPutRejectsWrongDataAndKeepsNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	data := randomBytes(2, 5000)
	exp := expectFor(t, data)

	flipped := bytes.Clone(data)
	flipped[4321] ^= 0x01
	cases := []struct {
		name string
		body io.Reader
		want error
	}{
		{"one byte flipped", bytes.NewReader(flipped), ErrRootMismatch},
		{"truncated", bytes.NewReader(data[:4999]), ErrTruncated},
		{"too long", bytes.NewReader(append(bytes.Clone(data), 0)), ErrTooLarge},
		{"empty", bytes.NewReader(nil), ErrTruncated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Put(1, exp, tc.body)
			require.ErrorIs(t, err, tc.want)
			require.False(t, s.Has(1))
			require.Empty(t, tmpEntries(t, dir))
			_, err = os.Stat(filepath.Join(dir, "deals", "1"))
			require.ErrorIs(t, err, os.ErrNotExist)
		})
	}

	boom := errors.New("connection reset")
	err = s.Put(1, exp, io.MultiReader(bytes.NewReader(data[:100]), iotest.ErrReader(boom)))
	require.ErrorIs(t, err, boom)
	require.False(t, s.Has(1))
	require.Empty(t, tmpEntries(t, dir))

	require.ErrorIs(t, s.Put(1, Expect{}, bytes.NewReader(data)), ErrBadExpect)
}

func TestOpenCleansCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	data := randomBytes(3, 2048)
	require.NoError(t, s.Put(2, expectFor(t, data), bytes.NewReader(data)))
	// A crash mid-upload leaves a temp directory behind.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tmp", "9-dead"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tmp", "9-dead", "data"), []byte("half"), 0o640))

	s, err = Open(dir)
	require.NoError(t, err)
	require.Empty(t, tmpEntries(t, dir))
	require.True(t, s.Has(2))
	require.False(t, s.Has(9))
}

func TestVerifyDetectsCorruptionOnDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	data := randomBytes(4, 40_000)
	exp := expectFor(t, data)
	require.NoError(t, s.Put(3, exp, bytes.NewReader(data)))

	path := filepath.Join(dir, "deals", "3", "data")
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	onDisk[20_000] ^= 0xff
	require.NoError(t, os.WriteFile(path, onDisk, 0o640))

	require.ErrorIs(t, s.Verify(3), ErrRootMismatch)
	// A proof of the damaged leaf no longer verifies against the root.
	idx := uint64(20_000 / 1024)
	leaf, path2, err := s.Proof(3, idx)
	require.NoError(t, err)
	require.Error(t, merkle.VerifyProof(exp.Root, merkle.LeafCount(exp.Size, 1024), idx, leaf, path2))
}

func TestInspectLeavesUploadsInProgressAlone(t *testing.T) {
	dir := t.TempDir()
	_, err := Inspect(dir)
	require.Error(t, err, "no store yet")
	_, err = Open(dir)
	require.NoError(t, err)
	inProgress := filepath.Join(dir, "tmp", "5-abc")
	require.NoError(t, os.MkdirAll(inProgress, 0o750))
	s, err := Inspect(dir)
	require.NoError(t, err)
	_, err = s.List()
	require.NoError(t, err)
	_, err = os.Stat(inProgress)
	require.NoError(t, err, "Inspect must not delete uploads in progress")
}
