package types

// The output archive's size bound. An executor's archive holds the contents
// of stdout, stderr and /output (at most limits.max_output_bytes together)
// plus tar metadata, which is bounded because the number of entries is:
// every entry costs a 512-byte USTAR header, at most 511 bytes of padding,
// and, for a name USTAR cannot hold, a PAX header block and a PAX record of
// at most a path's length (4,096 bytes) padded to 512. The archive ends with
// two zero blocks. A revealed size above MaxArchiveSize is not an archive the
// executor can have produced, and is refused.
const (
	// MaxOutputEntries bounds the files and directories a job may leave in
	// /output; the executor refuses more.
	MaxOutputEntries = 10_000
	// fixedEntries are verdict, exit_code, stdout, stderr and output/.
	fixedEntries = 5
	// maxEntryOverhead is the most metadata one entry can add.
	maxEntryOverhead = 512 + 511 + 512 + 4096 + 512
	// MaxArchiveOverhead is the most metadata an archive can hold.
	MaxArchiveOverhead = (MaxOutputEntries+fixedEntries)*maxEntryOverhead + 1024
)

// MaxArchiveSize is the largest archive a job with this output limit can
// produce.
func MaxArchiveSize(maxOutputBytes uint64) uint64 { return maxOutputBytes + MaxArchiveOverhead }
