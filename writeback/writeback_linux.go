package writeback

import (
	"os"

	"golang.org/x/sys/unix"
)

// start asks the kernel to start writing [off, off+n) of f to
// disk without waiting for it, so the fsync at the end of a long write
// finds little left to do.
func start(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// drop waits until [off, off+n) of f is on disk, then drops it from the
// page cache. Both are advice: a failure shows up in the final fsync, and
// pages the kernel keeps are only memory.
func drop(f *os.File, off, n int64) {
	fd := int(f.Fd())
	_ = unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	_ = unix.Fadvise(fd, off, n, unix.FADV_DONTNEED)
}
