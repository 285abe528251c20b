// Package jobarchive is the canonical output archive of a compute job: the
// bytes every executor of a job must produce alike (so their Merkle roots
// agree), and the safe extraction the client unpacks a verified archive
// with. The executor writes it, the chain bounds its size, and the SDK
// reads it.
package jobarchive

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	computetypes "github.com/stratusnet/stratus/x/compute/types"
)

// The canonical output archive. Every executor of a job must produce the same
// bytes, so the archive is fully determined by the verdict, the exit code and
// the contents (not the metadata) of stdout, stderr and /output:
//
//	verdict      "ok\n", "exit\n", ...
//	exit_code    decimal, "\n"
//	stdout
//	stderr
//	output/      then every directory and regular file under /output as
//	             "output/<path>" (directories with a trailing "/"), sorted by
//	             the byte-wise order of those names
//
// Headers are PAX-format tar (archive/tar FormatPAX: plain USTAR blocks, plus
// a PAX record only for names USTAR cannot hold), ModTime the Unix epoch,
// Uid/Gid 0, no user or group names, mode 0644 for files and 0755 for
// directories. Symbolic links, devices and other special files under /output,
// and names that are not valid UTF-8, are skipped.
const (
	entryVerdict  = "verdict"
	entryExitCode = "exit_code"
	entryStdout   = "stdout"
	entryStderr   = "stderr"
	entryOutput   = "output/"
)

// MaxEntries bounds the directories and files a job may leave in
// /output: each costs a header in the archive whatever its size. The chain
// bounds revealed archive sizes with the same number.
const MaxEntries = computetypes.MaxOutputEntries

// Entry is one directory or regular file under /output.
type Entry struct {
	Name string // archive name, "output/..."
	Host string // host path
	Dir  bool
	Size int64
}

// ErrTooManyEntries means /output holds more than MaxEntries entries.
var ErrTooManyEntries = errors.New("too many files in /output")

// ScanOutput lists dir (the job's /output) in archive order and sums the
// regular files' sizes. It never follows a symbolic link.
func ScanOutput(dir string) ([]Entry, uint64, error) {
	var entries []Entry
	var total uint64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := entryOutput + filepath.ToSlash(rel)
		if !utf8.ValidString(name) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			entries = append(entries, Entry{Name: name + "/", Host: p, Dir: true})
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			entries = append(entries, Entry{Name: name, Host: p, Size: info.Size()})
			total += uint64(info.Size())
		default:
			return nil // symlinks and special files are not output
		}
		if len(entries) > MaxEntries {
			return ErrTooManyEntries
		}
		return nil
	})
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return entries, total, err
}

var (
	zeroTime      = time.Unix(0, 0).UTC()
	archiveFormat = tar.FormatPAX
)

func header(name string, dir bool, size int64) *tar.Header {
	h := &tar.Header{Name: name, ModTime: zeroTime, Format: archiveFormat, Mode: 0o644, Typeflag: tar.TypeReg, Size: size}
	if dir {
		h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
	}
	return h
}

// Content is what goes into an archive.
type Content struct {
	Verdict  Verdict
	ExitCode uint32
	Stdout   string // host paths; "" for empty
	Stderr   string
	Output   []Entry
}

// Write writes the canonical archive of c to w.
func Write(w io.Writer, c Content) error {
	tw := tar.NewWriter(w)
	small := func(name, text string) error {
		if err := tw.WriteHeader(header(name, false, int64(len(text)))); err != nil {
			return err
		}
		_, err := io.WriteString(tw, text)
		return err
	}
	if err := small(entryVerdict, string(c.Verdict)+"\n"); err != nil {
		return err
	}
	if err := small(entryExitCode, strconv.FormatUint(uint64(c.ExitCode), 10)+"\n"); err != nil {
		return err
	}
	for _, f := range []struct{ name, host string }{{entryStdout, c.Stdout}, {entryStderr, c.Stderr}} {
		if err := copyFile(tw, f.name, f.host); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(header(entryOutput, true, 0)); err != nil {
		return err
	}
	for _, e := range c.Output {
		if e.Dir {
			if err := tw.WriteHeader(header(e.Name, true, 0)); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(tw, e.Name, e.Host); err != nil {
			return err
		}
	}
	return tw.Close()
}

// copyFile adds the host file as a regular entry; "" adds an empty one.
func copyFile(tw *tar.Writer, name, host string) error {
	if host == "" {
		return tw.WriteHeader(header(name, false, 0))
	}
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(header(name, false, info.Size())); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err == nil && n != info.Size() {
		err = fmt.Errorf("%s changed size while archived", host)
	}
	return err
}

// Manifest is what Extract found in an archive.
type Manifest struct {
	Verdict  Verdict
	ExitCode uint32
	// Files are the regular files under output/, as archive names
	// ("output/report.txt"), in archive order.
	Files []string
}

// ErrUnsafe is returned by Extract for an archive that names
// something outside its layout: an absolute or unclean path, "..", a link or
// special file, a duplicate, or an entry other than verdict, exit_code,
// stdout, stderr and output/....
var ErrUnsafe = errors.New("jobarchive: unsafe or malformed output archive")

// Extract unpacks an output archive into dir (created if missing):
// dir/verdict, dir/exit_code, dir/stdout, dir/stderr and dir/output/. It
// never writes outside dir, never follows or creates links, and never
// overwrites an existing file; on error, what was written so far stays.
func Extract(r io.Reader, dir string) (Manifest, error) {
	var m Manifest
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	made := map[string]bool{".": true} // directories this extraction created
	unsafe := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrUnsafe}, args...)...)
	}
	// mkdirs creates the directories of rel (slash-separated, clean) that this
	// extraction has not made yet, refusing anything already on disk.
	mkdirs := func(rel string) error {
		parts := strings.Split(rel, "/")
		for i := range parts {
			sub := strings.Join(parts[:i+1], "/")
			if made[sub] {
				continue
			}
			if err := os.Mkdir(filepath.Join(dir, filepath.FromSlash(sub)), 0o755); err != nil {
				return err
			}
			made[sub] = true
		}
		return nil
	}
	var haveVerdict, haveExit bool
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, fmt.Errorf("%w: %v", ErrUnsafe, err)
		}
		name := h.Name
		isDir := h.Typeflag == tar.TypeDir
		clean := strings.TrimSuffix(name, "/")
		switch {
		case h.Typeflag != tar.TypeReg && !isDir:
			return m, unsafe("%q is not a regular file or directory (type %q)", name, h.Typeflag)
		case clean == "" || path.IsAbs(clean) || strings.Contains(clean, "\\") || strings.ContainsRune(clean, 0):
			return m, unsafe("bad name %q", name)
		case path.Clean(clean) != clean || slices.Contains(strings.Split(clean, "/"), ".."):
			return m, unsafe("unclean name %q", name)
		case isDir != strings.HasSuffix(name, "/") && !(isDir && clean == name):
			return m, unsafe("bad name %q", name)
		case seen[clean]:
			return m, unsafe("%q appears twice", name)
		}
		seen[clean] = true
		top := strings.SplitN(clean, "/", 2)[0]
		switch {
		case clean == "output":
			if !isDir {
				return m, unsafe("output is not a directory")
			}
		case top == "output":
		case isDir:
			return m, unsafe("unexpected directory %q", name)
		case clean == entryVerdict || clean == entryExitCode:
			if h.Size > 64 {
				return m, unsafe("%s is %d bytes", clean, h.Size)
			}
			var b bytes.Buffer
			if _, err := io.Copy(&b, tr); err != nil {
				return m, err
			}
			text, ok := strings.CutSuffix(b.String(), "\n")
			if !ok {
				return m, unsafe("%s does not end with a newline", clean)
			}
			if clean == entryVerdict {
				if !Verdict(text).Valid() {
					return m, unsafe("unknown verdict %q", text)
				}
				m.Verdict, haveVerdict = Verdict(text), true
			} else {
				code, err := strconv.ParseUint(text, 10, 32)
				if err != nil {
					return m, unsafe("exit code %q", text)
				}
				m.ExitCode, haveExit = uint32(code), true
			}
			if err := writeNew(filepath.Join(dir, clean), b.Bytes()); err != nil {
				return m, err
			}
			continue
		case clean == entryStdout || clean == entryStderr:
		default:
			return m, unsafe("unexpected entry %q", name)
		}
		if isDir {
			if err := mkdirs(clean); err != nil {
				return m, err
			}
			continue
		}
		if parent := path.Dir(clean); parent != "." {
			if err := mkdirs(parent); err != nil {
				return m, err
			}
		}
		if err := extractFile(filepath.Join(dir, filepath.FromSlash(clean)), tr); err != nil {
			return m, err
		}
		if top == "output" {
			m.Files = append(m.Files, clean)
		}
	}
	if !haveVerdict || !haveExit {
		return m, unsafe("verdict or exit_code missing")
	}
	return m, nil
}

func writeNew(p string, b []byte) error {
	return extractFile(p, bytes.NewReader(b))
}

// extractFile creates p, which must not exist (O_EXCL also refuses to
// follow a symlink planted at p), and fills it from r.
func extractFile(p string, r io.Reader) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
