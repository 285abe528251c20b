// Package writeback writes and reads large files without filling the page
// cache with them.
//
// A Writer asks the kernel to start writing each stretch of the file to
// disk as soon as it is written, without waiting for it, so the fsync at
// the end waits for the last stretch instead of the whole file, and the
// disk works while the bytes arrive instead of after. Behind the last
// stretch (or the last Keep bytes of a file others follow) it drops what
// is on disk from the page cache ("drop-behind"). A
// Reader drops what it has read.
//
// Why drop: the client's put and get and the provider's store move
// gigabytes that nobody reads again soon. Kept, they push hotter pages
// out of memory. On a virtual machine whose free memory the host takes
// back (free page reporting), a page cache that grows into memory costs
// a host fault for each new page: on the 2-core reference machine,
// writing 1 GiB into fresh pages cost 2.2-2.7 s of system time, into
// recycled ones 0.35-0.5 s (docs/benchmarks.md). Dropped pages are reused
// by the next writes. Object stores drop or bypass the cache for the same
// reason (O_DIRECT for large objects). See ADR 016
// (docs/adr/016-large-files-bypass-the-page-cache.md).
package writeback

import (
	"errors"
	"io"
	"os"
)

// Every is how many bytes a Writer lets accumulate before it starts their
// writeback.
const Every = 8 << 20

// Keep is how many bytes behind the end of a file being followed (read
// by others while it is written) stay in the page cache: see
// Writer.Keeping.
const Keep = 64 << 20

// Writer writes to a file in order, and starts the writeback of every
// Every bytes as they fill. The caller still fsyncs the file at the end;
// on systems without sync_file_range that fsync does it all.
type Writer struct {
	f       *os.File
	off     int64 // where the next write lands
	started int64 // where the stretch not yet written back begins
	dropped int64 // where the stretch still in the page cache begins
	keep    int64 // bytes behind started left in the page cache
	at      bool  // writes at off (WriteAt), not at the file's offset
}

// NewWriter writes to f, whose offset is off (0 for a new file). It keeps
// one stretch in the page cache behind the one being written, so a drop
// rarely waits for the disk.
func NewWriter(f *os.File, off int64) *Writer {
	return &Writer{f: f, off: off, started: off, dropped: alignDown(off), keep: Every}
}

// NewWriterAt is NewWriter for one of several writers filling their own
// parts of f at once: it writes at off and on with WriteAt, leaving the
// file's offset alone.
func NewWriterAt(f *os.File, off int64) *Writer {
	w := NewWriter(f, off)
	w.at = true
	return w
}

// Keeping keeps the last n bytes written in the page cache instead, for a
// file others read while it is written (Keep): a reader up to n bytes
// behind reads from memory. It returns w.
func (w *Writer) Keeping(n int64) *Writer {
	w.keep = max(n, Every)
	return w
}

func (w *Writer) Write(p []byte) (int, error) {
	var n int
	var err error
	if w.at {
		n, err = w.f.WriteAt(p, w.off)
	} else {
		n, err = w.f.Write(p)
	}
	w.off += int64(n)
	if w.off-w.started >= Every {
		start(w.f, w.started, w.off-w.started)
		w.started = w.off
		w.dropped = DropUpTo(w.f, w.dropped, w.started-w.keep)
	}
	return n, err
}

// Finish drops what the Writer left in the page cache: call it once the
// file is synced and nobody reads it soon.
func (w *Writer) Finish() {
	if w.off > w.dropped {
		drop(w.f, w.dropped, w.off-w.dropped)
		w.dropped = w.off
	}
}

// Reader reads a file in order from an offset and drops from the page
// cache what it has read, Every bytes at a time and at the end: for a file read once,
// such as a stored deal sent to a client, whose pages would only push
// hotter ones out of memory.
type Reader struct {
	f       *os.File
	off     int64 // where the next read starts
	dropped int64 // where the stretch still in the page cache begins
}

// NewReader reads f from off.
func NewReader(f *os.File, off int64) *Reader {
	return &Reader{f: f, off: off, dropped: alignDown(off)}
}

func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && r.off > r.dropped {
		drop(r.f, r.dropped, r.off-r.dropped)
		r.dropped = r.off
	} else {
		r.dropped = DropUpTo(r.f, r.dropped, r.off)
	}
	return n, err
}

// Seek moves the next read, as io.Seeker does; what is dropped from then
// on starts there (at the large page it falls in).
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		fi, err := r.f.Stat()
		if err != nil {
			return 0, err
		}
		offset += fi.Size()
	case io.SeekStart:
	default:
		return 0, errors.New("writeback: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("writeback: seek before the start of the file")
	}
	r.off, r.dropped = offset, alignDown(offset)
	return offset, nil
}

// ReaderAt reads a file at any offsets, once: each read drops the large
// pages it covered from the page cache, from the one its start falls in
// (whose head a sequential reader read just before) up to the one its end
// falls in (or to its end at the end of the file). For a file read in
// order by several readers at their own offsets, such as a sealed copy cut
// into shards.
type ReaderAt struct{ f *os.File }

// NewReaderAt reads f.
func NewReaderAt(f *os.File) ReaderAt { return ReaderAt{f: f} }

func (r ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	end := alignDown(off + int64(n))
	if err == io.EOF {
		end = off + int64(n)
	}
	if from := alignDown(off); end > from {
		drop(r.f, from, end-from)
	}
	return n, err
}

// DropUpTo drops [from, to) of f from the page cache, once it is on disk,
// when that stretch, ended at the large page to falls in, is at least
// Every bytes (a kernel keeps a large page that reaches past the end of a
// drop); it returns where what may still be cached begins: from, or that
// end. Readers and writers call it as they go, with the mark it returned.
func DropUpTo(f *os.File, from, to int64) int64 {
	end := alignDown(to)
	if end-from < Every {
		return from
	}
	drop(f, from, end-from)
	return end
}

// Align is the largest page the kernel caches files in (a PMD, 2 MiB on
// x86-64 and arm64 with 4 KiB pages): drops end on its multiples.
const Align = 2 << 20

func alignDown(off int64) int64 { return off &^ (Align - 1) }
