package client

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/writeback"
)

// The floor benchmarks run, in one process and with no network, only the
// work the protocol makes every put and get do, through the same code the
// real paths use. scripts/bench-floor.sh turns their CPU time into the
// fastest put and get any implementation could reach on the machine
// (docs/benchmarks.md, "The floor"). They report CPU seconds per GiB next
// to the wall time: on a machine of n cores no pipeline finishes before
// its CPU time / n.

// floorMiBEnv sets the file size of the floor benchmarks (default 256).
const floorMiBEnv = "STRATUS_BENCH_FLOOR_MIB"

func floorSize(b *testing.B) int64 {
	mib := int64(256)
	if s := os.Getenv(floorMiBEnv); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 {
			b.Fatalf("%s must be a positive number of MiB, not %q", floorMiBEnv, s)
		}
		mib = v
	}
	return mib << 20
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU seconds per GiB the loop used since c0.
func reportCPU(b *testing.B, c0 time.Duration, size int64) {
	perOp := (cpuTime(b) - c0).Seconds() / float64(b.N)
	b.ReportMetric(perOp*float64(1<<30)/float64(size), "cpu-s/GiB")
}

// floorSetup makes a client home in a temp dir with a storage key, and
// a file of random bytes of the benchmarks' size in it.
func floorSetup(b *testing.B) (dir string, size int64, id *age.X25519Identity, plain string) {
	dir, size = b.TempDir(), floorSize(b)
	id, _, err := LoadOrCreateIdentity(dir)
	if err != nil {
		b.Fatal(err)
	}
	return dir, size, id, floorPlain(b, dir, size)
}

// floorPlain writes size random bytes into dir and returns the path.
func floorPlain(b *testing.B, dir string, size int64) string {
	path := filepath.Join(dir, "plain.bin")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkFloorGet is a private get's own work with the bytes already at
// hand: the ciphertext (in the page cache, as a provider would send it) is
// hashed against the deal's root and decrypted in the same pass by the
// real decryptInto, which writes and syncs the plaintext. A real get also
// receives the bytes over TLS from providers, which read and encrypt them.
func BenchmarkFloorGet(b *testing.B) {
	dir, size, id, plain := floorSetup(b)
	sealed := sealFile(b, plain, id.Recipient(), dir)
	if err := os.Remove(plain); err != nil {
		b.Fatal(err)
	}
	// In the page cache, as a provider serving it from memory.
	if err := VerifyFile(sealed.Path, sealed.Root, sealed.Size, benchChunkSize); err != nil {
		b.Fatal(err)
	}
	c := &Client{Home: dir}
	out := filepath.Join(dir, "out.bin")
	b.SetBytes(int64(sealed.Size))
	c0 := cpuTime(b)
	for b.Loop() {
		err := c.decryptInto(out, GetOptions{}, func(w io.Writer) error {
			f, err := os.Open(sealed.Path)
			if err != nil {
				return err
			}
			defer f.Close()
			v, err := NewVerifier(sealed.Root, sealed.Size, benchChunkSize)
			if err != nil {
				return err
			}
			if _, err := io.CopyBuffer(io.MultiWriter(v, w), f, make([]byte, pipeBuffer)); err != nil {
				return err
			}
			return v.Check()
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(out); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0, size)
}

// BenchmarkFloorPut is a put's own work for 3 replicas with the network
// taken out: the client seals (encrypts and hashes) the file, and each of
// three providers hashes the ciphertext against the root while it writes
// and syncs its copy, the three at once. A real put also sends the
// ciphertext over TLS to one provider and from it to two more, and waits
// for two blocks.
func BenchmarkFloorPut(b *testing.B) {
	const replicas = 3
	dir, size, id, plain := floorSetup(b)
	b.SetBytes(size)
	c0 := cpuTime(b)
	for b.Loop() {
		sealed := sealFile(b, plain, id.Recipient(), dir)
		var wg sync.WaitGroup
		errs := make([]error, replicas)
		for i := range replicas {
			wg.Go(func() { errs[i] = floorStore(sealed, filepath.Join(dir, "copy"+strconv.Itoa(i))) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := sealed.Remove(); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0, size)
}

// floorStore is one provider taking a copy: hash it against the root as
// it is written (keeping the tree's levels, for proofs), sync, drop it
// from the cache, check the root.
func floorStore(s Sealed, path string) error {
	src, err := os.Open(s.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	defer dst.Close()
	tree, err := merkle.NewBuilderKeeping(benchChunkSize, 0)
	if err != nil {
		return err
	}
	w := writeback.NewWriter(dst, 0)
	if _, err := io.CopyBuffer(io.MultiWriter(w, tree), src, make([]byte, pipeBuffer)); err != nil {
		return err
	}
	if err := dst.Sync(); err != nil {
		return err
	}
	w.Finish()
	if got := tree.Tree().Root; got != s.Root {
		return ErrVerify
	}
	return nil
}
