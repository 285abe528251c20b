package executor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// sandboxFS is what a job sees at /input and /output. It wraps a wazero file
// system so that nothing the host decides leaks into the program:
//
//   - stat results carry no host inode, device or link count, every time is
//     Epoch, permissions are fixed (0444/0555 read-only, 0644/0755 writable)
//     and directories have size 0, so a listing is the same on every
//     executor whatever its file system, umask or clock;
//   - directory entries are returned sorted by name, not in the host file
//     system's hash order;
//   - paths are cleaned against the mount root, so ".." cannot leave it;
//   - symbolic and hard links cannot be made (a relative symlink in /output
//     would otherwise point the host at files outside the sandbox);
//   - a read-only mount refuses every write with EROFS.
type sandboxFS struct {
	experimentalsys.UnimplementedFS
	fs       experimentalsys.FS
	readOnly bool
	meter    *hostMeter // charges file reads and writes to the run's fuel
}

var epochNanos = Epoch.UnixNano()

// rooted cleans a mount-relative path so that it cannot climb out of the
// mount: "a/../../x" is "x", as ".." of "/" is "/".
func rooted(p string) string {
	c := strings.TrimPrefix(path.Clean("/"+p), "/")
	if c == "" {
		return "."
	}
	return c
}

func (s *sandboxFS) normalize(st sys.Stat_t) sys.Stat_t {
	out := sys.Stat_t{Nlink: 1, Atim: epochNanos, Mtim: epochNanos, Ctim: epochNanos}
	typ := st.Mode.Type()
	switch {
	case typ == fs.ModeDir && s.readOnly:
		out.Mode = fs.ModeDir | 0o555
	case typ == fs.ModeDir:
		out.Mode = fs.ModeDir | 0o755
	case s.readOnly:
		out.Mode, out.Size = typ|0o444, st.Size
	default:
		out.Mode, out.Size = typ|0o644, st.Size
	}
	return out
}

func (s *sandboxFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if s.readOnly {
		if flag&(experimentalsys.O_WRONLY|experimentalsys.O_RDWR|experimentalsys.O_CREAT|experimentalsys.O_TRUNC|experimentalsys.O_APPEND) != 0 {
			return nil, experimentalsys.EROFS
		}
	}
	f, errno := s.fs.OpenFile(rooted(p), flag, perm)
	if errno != 0 {
		return nil, errno
	}
	return &sandboxFile{File: f, fs: s}, 0
}

func (s *sandboxFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	st, errno := s.fs.Lstat(rooted(p))
	return s.normalize(st), errno
}

func (s *sandboxFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	st, errno := s.fs.Stat(rooted(p))
	return s.normalize(st), errno
}

func (s *sandboxFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	if s.readOnly {
		return experimentalsys.EROFS
	}
	return s.fs.Mkdir(rooted(p), perm)
}

func (s *sandboxFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	if s.readOnly {
		return experimentalsys.EROFS
	}
	return s.fs.Chmod(rooted(p), perm)
}

func (s *sandboxFS) Rename(from, to string) experimentalsys.Errno {
	if s.readOnly {
		return experimentalsys.EROFS
	}
	return s.fs.Rename(rooted(from), rooted(to))
}

func (s *sandboxFS) Rmdir(p string) experimentalsys.Errno {
	if s.readOnly {
		return experimentalsys.EROFS
	}
	return s.fs.Rmdir(rooted(p))
}

func (s *sandboxFS) Unlink(p string) experimentalsys.Errno {
	if s.readOnly {
		return experimentalsys.EROFS
	}
	return s.fs.Unlink(rooted(p))
}

func (s *sandboxFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	if s.readOnly {
		return experimentalsys.EROFS
	}
	return s.fs.Utimens(rooted(p), atim, mtim)
}

// Link, Symlink and Readlink stay unimplemented (UnimplementedFS): links are
// not part of a job's world.
func (s *sandboxFS) Link(string, string) experimentalsys.Errno    { return experimentalsys.EPERM }
func (s *sandboxFS) Symlink(string, string) experimentalsys.Errno { return experimentalsys.EPERM }

// sandboxFile normalizes a file's stat and sorts its directory entries.
type sandboxFile struct {
	experimentalsys.File
	fs      *sandboxFS
	entries []experimentalsys.Dirent // the current pass, sorted
	next    int
}

func (f *sandboxFile) Read(buf []byte) (int, experimentalsys.Errno) {
	f.fs.meter.charge(len(buf))
	return f.File.Read(buf)
}

func (f *sandboxFile) Pread(buf []byte, off int64) (int, experimentalsys.Errno) {
	f.fs.meter.charge(len(buf))
	return f.File.Pread(buf, off)
}

func (f *sandboxFile) Write(buf []byte) (int, experimentalsys.Errno) {
	f.fs.meter.charge(len(buf))
	return f.File.Write(buf)
}

func (f *sandboxFile) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	f.fs.meter.charge(len(buf))
	return f.File.Pwrite(buf, off)
}

func (f *sandboxFile) Dev() (uint64, experimentalsys.Errno) { return 0, 0 }

func (f *sandboxFile) Ino() (sys.Inode, experimentalsys.Errno) { return 0, 0 }

func (f *sandboxFile) Stat() (sys.Stat_t, experimentalsys.Errno) {
	st, errno := f.File.Stat()
	return f.fs.normalize(st), errno
}

func (f *sandboxFile) Utimens(atim, mtim int64) experimentalsys.Errno {
	if f.fs.readOnly {
		return experimentalsys.EROFS
	}
	return f.File.Utimens(atim, mtim)
}

// Readdir hands out the directory sorted by name, n entries at a time (n ≤ 0:
// all that are left). It asks the wrapped file for everything at every call:
// the wrapped file returns the whole directory on the first call and after
// each rewind (wazero rewinds by seeking to 0), and nothing otherwise, so a
// non-empty answer starts a new pass. (Overriding Seek instead would need a
// method named Seek that does not return error, which go vet rejects.)
func (f *sandboxFile) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	fresh, errno := f.File.Readdir(-1)
	if errno != 0 {
		return nil, errno
	}
	if len(fresh) > 0 {
		for i := range fresh {
			fresh[i].Ino = 0
		}
		slices.SortFunc(fresh, func(a, b experimentalsys.Dirent) int { return strings.Compare(a.Name, b.Name) })
		f.entries, f.next = fresh, 0
	}
	rest := f.entries[f.next:]
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	f.next += len(rest)
	return slices.Clone(rest), 0
}

// inputFS is the read-only directory of a job's inputs: one regular file per
// Input, under the name the caller chose, backed by the host file.
type inputFS struct {
	names []string          // sorted
	paths map[string]string // name → host path
}

func newInputFS(inputs []Input) (*inputFS, error) {
	in := &inputFS{paths: make(map[string]string, len(inputs))}
	for _, i := range inputs {
		if i.Name == "" || i.Name == "." || i.Name == ".." || strings.ContainsAny(i.Name, "/\x00") {
			return nil, fmt.Errorf("input name %q is not a single path element", i.Name)
		}
		if _, dup := in.paths[i.Name]; dup {
			return nil, fmt.Errorf("input name %q is used twice", i.Name)
		}
		in.paths[i.Name] = i.Path
		in.names = append(in.names, i.Name)
	}
	slices.Sort(in.names)
	return in, nil
}

func (in *inputFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &inputDir{fs: in}, nil
	}
	p, ok := in.paths[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	return inputFile{f}, nil
}

// inputFile hides *os.File's directory and write methods from wazero's
// adapter: it can only be read.
type inputFile struct{ f *os.File }

func (f inputFile) Stat() (fs.FileInfo, error)                { return f.f.Stat() }
func (f inputFile) Read(p []byte) (int, error)                { return f.f.Read(p) }
func (f inputFile) ReadAt(p []byte, off int64) (int, error)   { return f.f.ReadAt(p, off) }
func (f inputFile) Seek(off int64, whence int) (int64, error) { return f.f.Seek(off, whence) }
func (f inputFile) Close() error                              { return f.f.Close() }

type inputDir struct {
	fs   *inputFS
	next int
}

func (d *inputDir) Stat() (fs.FileInfo, error) { return dirInfo{}, nil }
func (d *inputDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: errors.New("is a directory")}
}
func (d *inputDir) Close() error { return nil }

func (d *inputDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.fs.names[d.next:]
	if n > 0 {
		if len(rest) == 0 {
			return nil, io.EOF
		}
		rest = rest[:min(n, len(rest))]
	}
	d.next += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, name := range rest {
		out[i] = inputEntry{fs: d.fs, name: name}
	}
	return out, nil
}

type inputEntry struct {
	fs   *inputFS
	name string
}

func (e inputEntry) Name() string      { return e.name }
func (e inputEntry) IsDir() bool       { return false }
func (e inputEntry) Type() fs.FileMode { return 0 }
func (e inputEntry) Info() (fs.FileInfo, error) {
	return os.Stat(e.fs.paths[e.name])
}

type dirInfo struct{}

func (dirInfo) Name() string       { return "." }
func (dirInfo) Size() int64        { return 0 }
func (dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (dirInfo) ModTime() time.Time { return Epoch }
func (dirInfo) IsDir() bool        { return true }
func (dirInfo) Sys() any           { return nil }
