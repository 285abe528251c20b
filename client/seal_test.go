package client

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/merkle"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

func TestIdentityCreatedOnceWithPrivateMode(t *testing.T) {
	home := t.TempDir()
	id, created, err := LoadOrCreateIdentity(home)
	require.NoError(t, err)
	require.True(t, created)
	st, err := os.Stat(filepath.Join(home, KeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	again, created, err := LoadOrCreateIdentity(home)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, id.String(), again.String())

	require.NoError(t, os.WriteFile(filepath.Join(home, KeyFile), []byte("garbage"), 0o600))
	_, _, err = LoadOrCreateIdentity(home)
	require.Error(t, err)
}

func TestSealVerifyUnsealRoundTrip(t *testing.T) {
	dir := t.TempDir()
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	plain := make([]byte, 200_000)
	_, _ = rand.Read(plain)

	sealed, err := Seal(bytes.NewReader(plain), id.Recipient(), 1024, dir)
	require.NoError(t, err)
	cipher, err := os.ReadFile(sealed.Path)
	require.NoError(t, err)
	require.Equal(t, uint64(len(cipher)), sealed.Size)
	require.False(t, bytes.Contains(cipher, plain[:64]), "providers must only see ciphertext")
	root, err := merkle.Root(cipher, 1024)
	require.NoError(t, err)
	require.Equal(t, root, sealed.Root)

	require.NoError(t, VerifyFile(sealed.Path, sealed.Root, sealed.Size, 1024))
	out := filepath.Join(dir, "out.bin")
	require.NoError(t, Unseal(sealed.Path, out, id))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, plain, got)

	// A flipped byte fails verification; a wrong key fails decryption and
	// leaves no output behind.
	cipher[100] ^= 1
	bad := filepath.Join(dir, "bad.age")
	require.NoError(t, os.WriteFile(bad, cipher, 0o600))
	require.ErrorIs(t, VerifyFile(bad, sealed.Root, sealed.Size, 1024), ErrVerify)
	require.ErrorIs(t, VerifyFile(sealed.Path, sealed.Root, sealed.Size+1, 1024), ErrVerify)

	other, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	out2 := filepath.Join(dir, "out2.bin")
	require.Error(t, Unseal(sealed.Path, out2, other))
	_, err = os.Stat(out2)
	require.ErrorIs(t, err, os.ErrNotExist)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".stratus-get-", "temp output left behind")
	}
	require.NoError(t, sealed.Remove())
}

func TestLoadIdentityNeverCreates(t *testing.T) {
	home := t.TempDir()
	_, err := LoadIdentity(home)
	require.ErrorIs(t, err, ErrNoIdentity)
	_, err = os.Stat(filepath.Join(home, KeyFile))
	require.ErrorIs(t, err, os.ErrNotExist)
	created, _, err := LoadOrCreateIdentity(home)
	require.NoError(t, err)
	loaded, err := LoadIdentity(home)
	require.NoError(t, err)
	require.Equal(t, created.String(), loaded.String())
}

func TestHashFileAndIsSealed(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	data := make([]byte, 5000)
	_, err := rand.Read(data)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(plain, data, 0o600))
	f, err := os.Open(plain)
	require.NoError(t, err)
	defer f.Close()
	h, err := HashFile(f, plain, 1024)
	require.NoError(t, err)
	want, err := merkle.Root(data, 1024)
	require.NoError(t, err)
	require.Equal(t, want, h.Root)
	require.Equal(t, uint64(len(data)), h.Size)
	require.Equal(t, plain, h.Path)
	sealed, err := IsSealed(plain)
	require.NoError(t, err)
	require.False(t, sealed)

	id, _, err := LoadOrCreateIdentity(dir)
	require.NoError(t, err)
	s, err := Seal(bytes.NewReader(data), id.Recipient(), 1024, dir)
	require.NoError(t, err)
	sealed, err = IsSealed(s.Path)
	require.NoError(t, err)
	require.True(t, sealed)

	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("age"), 0o600))
	sealed, err = IsSealed(short)
	require.NoError(t, err)
	require.False(t, sealed)
}

// StagingBytes bounds what a put really stages: the ciphertext Seal
// writes, plus the shards of an erasure-coded deal, and is not far over.
func TestStagingBytesBoundsTheSealedCopyAndShards(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	for _, size := range []int{1, 64 << 10, 64<<10 + 1, 1<<20 + 3} {
		plain := make([]byte, size)
		_, _ = rand.Read(plain)
		s, err := Seal(bytes.NewReader(plain), id.Recipient(), 1024, t.TempDir())
		require.NoError(t, err)
		require.LessOrEqual(t, int64(s.Size), StagingBytes(int64(size), PutOptions{Replicas: 3}), "size %d", size)
		require.Less(t, StagingBytes(int64(size), PutOptions{Replicas: 3}), int64(s.Size)+1024, "size %d", size)

		o := PutOptions{DataShards: 6, ParityShards: 3}
		staged := int64(s.Size) + 9*int64(storagetypes.ShardSizeFor(s.Size, 6))
		require.LessOrEqual(t, staged, StagingBytes(int64(size), o), "size %d", size)
		require.Less(t, StagingBytes(int64(size), o), staged+4*1024, "size %d", size)
	}
}

// A source that fails part way fails Seal with its error, and leaves no
// ciphertext behind; one that succeeds hashes exactly what was written.
func TestSealFailsWithItsSource(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	dir := t.TempDir()
	boom := errors.New("disk read failed")
	src := io.MultiReader(bytes.NewReader(make([]byte, 5<<20)), iotest.ErrReader(boom))
	_, err = Seal(src, id.Recipient(), 1024, dir)
	require.ErrorIs(t, err, boom)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left)

	plain := make([]byte, 3<<20+17)
	_, _ = rand.Read(plain)
	s, err := Seal(bytes.NewReader(plain), id.Recipient(), 1024, dir)
	require.NoError(t, err)
	ct, err := os.ReadFile(s.Path)
	require.NoError(t, err)
	require.EqualValues(t, len(ct), s.Size)
	b, err := merkle.NewBuilder(1024)
	require.NoError(t, err)
	_, _ = b.Write(ct)
	require.Equal(t, b.Root(), s.Root, "the root is the file's")
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, plain, got)
}
