package cmd_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The CLI is a client: it speaks the provider protocol (providerapi) but
// links none of the daemon (its store, metrics, executor or wazero).
func TestStratusdLinksNoDaemonCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/stratusnet/stratus/cmd/stratusd").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/stratusnet/stratus/providerapi")
	for _, d := range deps {
		require.False(t, strings.HasPrefix(d, "github.com/stratusnet/stratus/provider/"), "stratusd links %s", d)
		require.False(t, strings.HasPrefix(d, "github.com/tetratelabs/wazero"), "stratusd links %s", d)
	}
}
