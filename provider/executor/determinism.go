package executor

import (
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// Epoch is the wall clock every job starts at. A job sees time move only as
// its own clock reads and sleeps move it (see virtualClock), never the host's.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// clockStep is how far each clock read advances the virtual clock, so that
// programs measuring an interval see time pass and loops waiting for the
// clock end.
const clockStep = time.Microsecond

// clockResolution is what clock_res_get reports.
const clockResolution = 1000 // ns, the step

// virtualClock is a job's deterministic clock: it starts at 0 (monotonic)
// and Epoch (wall), advances by clockStep at every read and by the requested
// duration at every sleep, which returns at once. Both depend only on the
// sequence of calls the program makes.
type virtualClock struct {
	elapsed atomic.Int64 // ns since the start of the job
}

func (c *virtualClock) nanotime() int64 {
	return c.elapsed.Add(int64(clockStep))
}

func (c *virtualClock) walltime() (sec int64, nsec int32) {
	t := Epoch.Add(time.Duration(c.elapsed.Add(int64(clockStep))))
	return t.Unix(), int32(t.Nanosecond())
}

func (c *virtualClock) nanosleep(ns int64) {
	if ns > 0 {
		c.elapsed.Add(ns)
	}
}

// jobRand is the job's random stream: SHA-256 in counter mode,
// block i = SHA-256("stratus-job" ‖ job id ‖ i), ids and counters as 8-byte
// big-endian integers. Every executor of a job draws the same bytes.
type jobRand struct {
	seed    [len("stratus-job") + 8]byte
	counter uint64
	block   [sha256.Size]byte
	left    int // unread bytes at the end of block
}

func newJobRand(jobID uint64) *jobRand {
	r := &jobRand{}
	copy(r.seed[:], "stratus-job")
	binary.BigEndian.PutUint64(r.seed[len("stratus-job"):], jobID)
	return r
}

func (r *jobRand) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.left == 0 {
			var in [len("stratus-job") + 16]byte
			copy(in[:], r.seed[:])
			binary.BigEndian.PutUint64(in[len(r.seed):], r.counter)
			r.counter++
			r.block = sha256.Sum256(in[:])
			r.left = len(r.block)
		}
		k := copy(p[n:], r.block[len(r.block)-r.left:])
		r.left -= k
		n += k
	}
	return n, nil
}
