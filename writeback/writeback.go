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

// Writer writes to F in order from its current offset, and starts the
// writeback of every Every bytes as they fill. The caller still fsyncs F
// at the end; on systems without sync_file_range that fsync does it all.
type Writer struct {
	F *os.File
	// Off is where F's next write lands (0 for a new file).
	Off int64

	started int64
}

// NewWriter writes to f from offset off.
func NewWriter(f *os.File, off int64) *Writer { return &Writer{F: f, Off: off, started: off} }

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.F.Write(p)
	w.Off += int64(n)
	if w.Off-w.started >= Every {
		start(w.F, w.started, w.Off-w.started)
		w.started = w.Off
	}
	return n, err
}
