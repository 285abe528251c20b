// Command sha256sum prints "<hex>  <name>" for every file under the job's
// input directory, sorted by name, like coreutils sha256sum, and writes the
// same lines to SHA256SUMS in the output directory. Names are relative to
// the input directory, so `cd input && sha256sum -c SHA256SUMS` checks a
// downloaded copy.
//
// STRATUS_INPUT and STRATUS_OUTPUT move the two directories (defaults /input
// and /output) so the same source runs natively for comparison.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

func main() {
	inputDir := dirFromEnv("STRATUS_INPUT", "/input")
	outputDir := dirFromEnv("STRATUS_OUTPUT", "/output")

	var sums bytes.Buffer
	err := fs.WalkDir(os.DirFS(inputDir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		sum, err := sumFile(filepath.Join(inputDir, p))
		if err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum), p)
		return nil
	})
	if err != nil {
		fail(err)
	}
	if _, err := os.Stdout.Write(sums.Bytes()); err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(outputDir, "SHA256SUMS"), sums.Bytes(), 0o644); err != nil {
		fail(err)
	}
}

func dirFromEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func sumFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 64<<10)); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sha256sum:", err)
	os.Exit(1)
}
