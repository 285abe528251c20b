// Command wordcount counts the lines, words and bytes of every file under
// the job's input directory, like wc: one "lines words bytes name" line per
// file, sorted by name, then a total line. The report goes to stdout and to
// wordcount.txt in the output directory.
//
// Words are maximal runs of bytes other than ASCII space, \t, \n, \v, \f and
// \r (wc in the C locale). Arguments, when given, name the files to count
// instead (paths as the program sees them, e.g. /input/1).
//
// STRATUS_INPUT and STRATUS_OUTPUT move the two directories (defaults /input
// and /output) so the same source runs natively for comparison.
package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

type counts struct{ lines, words, bytes uint64 }

func main() {
	inputDir := dirFromEnv("STRATUS_INPUT", "/input")
	outputDir := dirFromEnv("STRATUS_OUTPUT", "/output")

	names := os.Args[1:]
	base := ""
	if len(names) == 0 {
		var err error
		if names, err = filesUnder(inputDir); err != nil {
			fail(err)
		}
		base = inputDir
	}

	var report bytes.Buffer
	var total counts
	for _, name := range names {
		c, err := countFile(filepath.Join(base, name))
		if err != nil {
			fail(err)
		}
		total.lines += c.lines
		total.words += c.words
		total.bytes += c.bytes
		fmt.Fprintf(&report, "%d %d %d %s\n", c.lines, c.words, c.bytes, name)
	}
	fmt.Fprintf(&report, "%d %d %d total\n", total.lines, total.words, total.bytes)

	if _, err := os.Stdout.Write(report.Bytes()); err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(outputDir, "wordcount.txt"), report.Bytes(), 0o644); err != nil {
		fail(err)
	}
}

func dirFromEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// filesUnder lists the regular files under dir, relative to it, in
// lexical order (fs.WalkDir sorts each directory).
func filesUnder(dir string) ([]string, error) {
	var names []string
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			names = append(names, p)
		}
		return nil
	})
	return names, err
}

func countFile(path string) (counts, error) {
	f, err := os.Open(path)
	if err != nil {
		return counts{}, err
	}
	defer f.Close()
	return count(f)
}

func count(r io.Reader) (counts, error) {
	var c counts
	inWord := false
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			switch b {
			case '\n':
				c.lines++
				inWord = false
			case ' ', '\t', '\v', '\f', '\r':
				inWord = false
			default:
				if !inWord {
					c.words++
					inWord = true
				}
			}
		}
		c.bytes += uint64(n)
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return c, err
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "wordcount:", err)
	os.Exit(1)
}
