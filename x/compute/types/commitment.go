package types

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"

	"cosmossdk.io/math"
)

// Commitment is what an executor commits to before anyone reveals: binding
// the provider and the job stops one executor from replaying another's
// commitment, and the salt stops anyone from guessing the result from it.
func Commitment(provider []byte, jobID uint64, r Result, salt []byte) []byte {
	h := sha256.New()
	h.Write([]byte("stratus/compute/commit/v1"))
	h.Write(provider)
	var buf [20]byte
	binary.BigEndian.PutUint64(buf[:8], jobID)
	h.Write(buf[:8])
	h.Write(r.OutputRoot)
	binary.BigEndian.PutUint64(buf[8:16], r.Size_)
	binary.BigEndian.PutUint32(buf[16:20], r.ExitCode)
	h.Write(buf[8:20])
	h.Write([]byte{byte(len(r.Verdict))})
	h.Write([]byte(r.Verdict))
	h.Write(salt)
	return h.Sum(nil)
}

// Equal reports whether two results name the same output.
func (r Result) Equal(o Result) bool {
	return bytes.Equal(r.OutputRoot, o.OutputRoot) && r.Size_ == o.Size_ && r.ExitCode == o.ExitCode && r.Verdict == o.Verdict
}

// Key is a comparable form of the result, for tallies.
func (r Result) Key() string {
	var buf [12]byte
	binary.BigEndian.PutUint64(buf[:8], r.Size_)
	binary.BigEndian.PutUint32(buf[8:], r.ExitCode)
	return string(r.OutputRoot) + string(buf[:]) + r.Verdict
}

// InputFeeAmount is the job's input fee per agreeing executor (zero when
// unset).
func (j Job) InputFeeAmount() math.Int {
	if j.InputFee.Amount.IsNil() {
		return math.ZeroInt()
	}
	return j.InputFee.Amount
}

// Open reports whether the job has not ended: it waits for its executors,
// or takes commits or reveals.
func (j Job) Open() bool {
	return j.Status == JobStatus_JOB_STATUS_ASSIGNING || j.Status == JobStatus_JOB_STATUS_COMMITTING || j.Status == JobStatus_JOB_STATUS_REVEALING
}

// ExecutorIndex returns the index of provider's executor in the job, or -1.
func (j Job) ExecutorIndex(provider string) int {
	for i, e := range j.Executors {
		if e.Provider == provider {
			return i
		}
	}
	return -1
}

// Verdicts of a run stopped by one of the job's limits. The chain does not
// interpret other verdicts; these it never treats as dissent, since an
// honest executor can hit a limit where another did not. The output
// archive (package jobarchive) uses the same names.
const (
	VerdictTimeout     = "timeout"
	VerdictMemoryLimit = "memory_limit"
	VerdictOutputLimit = "output_limit"
)

// ResourceLimited says whether verdict is a run stopped by a limit.
func ResourceLimited(verdict string) bool {
	switch verdict {
	case VerdictTimeout, VerdictMemoryLimit, VerdictOutputLimit:
		return true
	}
	return false
}
