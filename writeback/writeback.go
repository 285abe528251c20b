// Package writeback writes large files so that their final fsync is short:
// a Writer asks the kernel to start writing each stretch of the file to
// disk as soon as it is written, without waiting for it, so the fsync at
// the end waits for the last stretch instead of the whole file, and the
// disk works while the bytes arrive instead of after. The client's get
// and the provider's store both write gigabytes this way.
package writeback

import "os"

// Every is how many bytes a Writer lets accumulate before it starts their
// writeback.
const Every = 8 << 20

// Writer writes to a file in order, and starts the writeback of every
// Every bytes as they fill. The caller still fsyncs the file at the end;
// on systems without sync_file_range that fsync does it all.
type Writer struct {
	f       *os.File
	off     int64 // where the next write lands
	started int64 // where the stretch not yet written back begins
}

// NewWriter writes to f, whose offset is off (0 for a new file).
func NewWriter(f *os.File, off int64) *Writer { return &Writer{f: f, off: off, started: off} }

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= Every {
		start(w.f, w.started, w.off-w.started)
		w.started = w.off
	}
	return n, err
}
