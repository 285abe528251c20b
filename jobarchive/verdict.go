package jobarchive

import (
	"slices"

	computetypes "github.com/stratusnet/stratus/x/compute/types"
)

// Verdict is how a run ended.
type Verdict string

// The verdicts. Only VerdictOK and VerdictExit archive what the program
// wrote; the others archive the verdict, exit code 0 and empty stdout,
// stderr and output/, because executors interrupted at different points
// must still agree.
const (
	VerdictOK             Verdict = "ok"                            // exited 0 (or returned from _start)
	VerdictExit           Verdict = "exit"                          // exited with a non-zero code
	VerdictInvalidProgram Verdict = "invalid_program"               // not a valid wasip1 command module
	VerdictMemoryLimit    Verdict = computetypes.VerdictMemoryLimit // declares more initial memory than the limit
	VerdictTimeout        Verdict = computetypes.VerdictTimeout     // still running at Limits.Timeout
	VerdictOutputLimit    Verdict = computetypes.VerdictOutputLimit // wrote more than Limits.MaxOutput
	VerdictTrap           Verdict = "trap"                          // a WebAssembly trap (unreachable, bounds, stack overflow, ...)
	VerdictOutOfFuel      Verdict = "out_of_fuel"                   // spent Limits.Fuel: deterministic, so every honest executor agrees
)

var verdicts = []Verdict{VerdictOK, VerdictExit, VerdictInvalidProgram, VerdictMemoryLimit, VerdictTimeout, VerdictOutputLimit, VerdictTrap, VerdictOutOfFuel}

// Valid reports whether v is one of the verdicts above.
func (v Verdict) Valid() bool { return slices.Contains(verdicts, v) }
