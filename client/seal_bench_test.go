package client

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

// benchChunkSize is the deal default leaf size.
const benchChunkSize = 1024

// sealFileEnv names a file for BenchmarkSealFile to seal; scripts/bench-client.sh
// sets it to compare one seal with sha256sum over the same bytes.
const sealFileEnv = "STRATUS_BENCH_SEAL_FILE"

// BenchmarkSeal encrypts and Merkle-hashes a 256 MiB file of random bytes
// from disk into a ciphertext file, as `storage put` does before the deal.
func BenchmarkSeal(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "plain.bin")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, 256<<20); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	benchmarkSealFile(b, path, dir)
}

// BenchmarkSealFile seals the file named by $STRATUS_BENCH_SEAL_FILE; it is
// skipped when the variable is unset.
func BenchmarkSealFile(b *testing.B) {
	path := os.Getenv(sealFileEnv)
	if path == "" {
		b.Skipf("set %s to the file to seal", sealFileEnv)
	}
	benchmarkSealFile(b, path, b.TempDir())
}

func benchmarkSealFile(b *testing.B, path, dir string) {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	for b.Loop() {
		sealed := sealFile(b, path, id.Recipient(), dir)
		// Removing the ciphertext is part of each put too (deferred), and
		// keeps the benchmark's disk use at one ciphertext.
		if err := sealed.Remove(); err != nil {
			b.Fatal(err)
		}
	}
}

// sealFile seals the file at path to recipient into dir.
func sealFile(b *testing.B, path string, recipient age.Recipient, dir string) Sealed {
	b.Helper()
	in, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	sealed, err := Seal(in, recipient, benchChunkSize, dir)
	if err != nil {
		b.Fatal(err)
	}
	return sealed
}
