package cmd

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// The data commands set a soft heap limit, unless GOMEMLIMIT chose one.
func TestBoundMemory(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	t.Setenv("GOMEMLIMIT", "")
	debug.SetMemoryLimit(1 << 40)
	boundMemory()
	require.Equal(t, int64(dataMemoryLimit), debug.SetMemoryLimit(-1))

	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(1 << 30)
	boundMemory()
	require.Equal(t, int64(1<<30), debug.SetMemoryLimit(-1), "GOMEMLIMIT was overridden")
}
