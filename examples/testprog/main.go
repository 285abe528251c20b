// Command testprog misbehaves on purpose, for the executor's tests. Its first
// argument picks what it does:
//
//	exit N     prints "exiting N" and exits with status N
//	loop       spins forever without a system call
//	alloc MiB  allocates and touches MiB mebibytes, then prints "allocated MiB MiB"
//	env        prints its environment (sorted), arguments, the time, 4 random
//	           bytes and a recursive listing of the input directory
//	write N    writes N bytes to big in the output directory
//	readonly   tries to create x in the input directory and to open an input
//	           for writing; exits 0 when both fail, as they must
//	tree       leaves files and directories in the output directory, tries to
//	           make a symbolic link out of it, and prints the directory's
//	           entries in the order the system returns them
//	floats     computes NaNs, infinities and a long float-heavy series, and
//	           writes the bits of every result to floats.bin in the output
//	           directory (the cross-architecture determinism test)
//	mapkeys N  fills a map with N keys, writes its iteration order and its
//	           sorted keys to keys.txt in the output directory
//
// STRATUS_INPUT and STRATUS_OUTPUT move the two directories (defaults /input
// and /output) so the same source runs natively.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	inputDir := dirFromEnv("STRATUS_INPUT", "/input")
	outputDir := dirFromEnv("STRATUS_OUTPUT", "/output")
	arg := func() string {
		if len(os.Args) < 3 {
			usage()
		}
		return os.Args[2]
	}

	switch os.Args[1] {
	case "exit":
		code, err := strconv.Atoi(arg())
		if err != nil {
			usage()
		}
		fmt.Printf("exiting %d\n", code)
		os.Exit(code)
	case "loop":
		spin()
	case "alloc":
		alloc(number(arg()))
	case "env":
		env(inputDir)
	case "write":
		write(filepath.Join(outputDir, "big"), number(arg()))
	case "readonly":
		readonly(inputDir)
	case "tree":
		tree(outputDir)
	case "floats":
		floats(filepath.Join(outputDir, "floats.bin"))
	case "mapkeys":
		mapkeys(filepath.Join(outputDir, "keys.txt"), number(arg()))
	default:
		usage()
	}
}

var sink uint64

// spin loops with no call the compiler could turn into a system call.
func spin() {
	for i := uint64(0); ; i++ {
		sink += i * i
	}
}

var kept [][]byte

func alloc(mib int) {
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		kept = append(kept, b)
	}
	fmt.Printf("allocated %d MiB\n", mib)
}

func env(inputDir string) {
	environ := os.Environ()
	slices.Sort(environ)
	fmt.Printf("env %q\n", environ)
	fmt.Printf("args %q\n", os.Args)
	fmt.Printf("time %s\n", time.Now().UTC().Format(time.RFC3339Nano))
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		fail(err)
	}
	fmt.Printf("rand %s\n", hex.EncodeToString(r[:]))
	err := filepath.WalkDir(inputDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Printf("file %s %d %s %s\n", p, info.Size(), info.Mode(), info.ModTime().UTC().Format(time.RFC3339))
		return nil
	})
	if err != nil {
		fail(err)
	}
}

func write(path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	buf := []byte(strings.Repeat("0123456789abcdef", 4096))
	for n > 0 {
		k := min(n, len(buf))
		if _, err := f.Write(buf[:k]); err != nil {
			fail(err)
		}
		n -= k
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func readonly(inputDir string) {
	ok := true
	if err := os.WriteFile(filepath.Join(inputDir, "x"), []byte("x"), 0o644); err != nil {
		fmt.Println("create failed as expected:", err)
	} else {
		fmt.Println("create succeeded")
		ok = false
	}
	entries, err := os.ReadDir(inputDir)
	if err != nil {
		fail(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.OpenFile(filepath.Join(inputDir, e.Name()), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			fmt.Printf("open %s for writing failed as expected: %v\n", e.Name(), err)
			continue
		}
		f.Close()
		fmt.Printf("open %s for writing succeeded\n", e.Name())
		ok = false
	}
	if !ok {
		os.Exit(1)
	}
}

func tree(outputDir string) {
	for _, dir := range []string{"b", "a"} {
		if err := os.Mkdir(filepath.Join(outputDir, dir), 0o755); err != nil {
			fail(err)
		}
	}
	for _, name := range []string{"b/z.txt", "c", "a/y", "a.txt"} {
		if err := os.WriteFile(filepath.Join(outputDir, name), []byte(name+"\n"), 0o600); err != nil {
			fail(err)
		}
	}
	if err := os.Symlink("../../../../etc/passwd", filepath.Join(outputDir, "link")); err != nil {
		fmt.Println("symlink failed:", err)
	} else {
		fmt.Println("symlink succeeded")
	}
	f, err := os.Open(outputDir)
	if err != nil {
		fail(err)
	}
	names, err := f.Readdirnames(-1) // unsorted, unlike os.ReadDir
	if err != nil {
		fail(err)
	}
	fmt.Printf("entries %q\n", names)
}

func number(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		usage()
	}
	return n
}

func dirFromEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// floats writes the bits of results whose NaN sign and payload WebAssembly
// leaves to the machine, computed from values the compiler cannot fold.
func floats(path string) {
	zero := float64(len(os.Args) - 2) // 0, but not a constant
	one := zero + 1
	inf := one / zero
	var bits []byte
	put64 := func(x float64) { bits = binary.LittleEndian.AppendUint64(bits, math.Float64bits(x)) }
	put32 := func(x float32) { bits = binary.LittleEndian.AppendUint32(bits, math.Float32bits(x)) }
	nan := zero / zero
	for _, x := range []float64{
		nan, -nan, inf - inf, inf * zero, math.Sqrt(-one), nan + one, nan * -one,
		math.Min(nan, one), math.Max(-inf, nan), inf, -inf, -zero, one / 3,
		math.Float64frombits(0xFFF4000000000001) + zero, // a signalling NaN with a payload
	} {
		put64(x)
		put32(float32(x))
		put32(float32(x) * float32(one))
		put64(float64(float32(x)))
	}
	// A series that passes through infinities and NaNs on the way.
	x, sum := 0.5, 0.0
	for i := 0; i < 200_000; i++ {
		x = 3.99 * x * (1 - x) // the logistic map: chaotic, so any rounding difference shows
		y := math.Log(x-0.5) + math.Sqrt(x-0.25)*math.Exp(x*40)
		if i%7 == 0 {
			y += math.Tan(x) / (x - x)
		}
		put64(y)
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			sum += y
		}
		if i%1000 == 0 {
			put64(sum)
			put32(float32(y) / float32(zero))
		}
	}
	put64(x)
	if err := os.WriteFile(path, bits, 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("floats: %d bytes, sum %v, x %v\n", len(bits), sum, x)
}

// mapkeys writes a map's iteration order (which the Go runtime randomises
// from the job's random stream) and its keys sorted.
func mapkeys(path string, n int) {
	m := make(map[string]int, n)
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("key-%x", uint32(i)*2654435761)] = i
	}
	var b strings.Builder
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
		fmt.Fprintln(&b, "order", k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintln(&b, "sorted", k, m[k])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("mapkeys: %d keys, first %s\n", len(keys), keys[0])
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testprog exit N | loop | alloc MiB | env | write N | readonly | tree | floats | mapkeys N")
	os.Exit(64)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "testprog:", err)
	os.Exit(1)
}
