package cmd_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/stratusnet/stratus/cmd/stratusd/cmd"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
)

// run executes stratusd in-process with args and returns its output.
func run(t *testing.T, home string, args ...string) (string, error) {
	t.Helper()
	root := cmd.NewRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--home", home))
	err := svrcmd.Execute(root, "STRATUSD_TEST", home)
	return out.String(), err
}

func initHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	_, err := run(t, home, "init", "test-node", "--chain-id", "stratus-cmd-test")
	require.NoError(t, err)
	return home
}

func readGenesis(t *testing.T, home string) map[string]json.RawMessage {
	t.Helper()
	bz, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	require.NoError(t, err)
	var g map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(bz, &g))
	return g
}

func TestGenesisAddMemberAndSetAuthority(t *testing.T) {
	home := initHome(t)
	addr := sdk.AccAddress(bytes.Repeat([]byte{1}, 20)).String()
	admin := authtypes.NewModuleAddress("some-admin").String()

	out, err := run(t, home, "genesis", "add-member", addr, "validator", "--description", "Acme")
	require.NoError(t, err, out)
	_, err = run(t, home, "genesis", "add-member", addr, "PROVIDER")
	require.NoError(t, err)
	_, err = run(t, home, "genesis", "set-authority", admin)
	require.NoError(t, err)

	g := readGenesis(t, home)
	var appState map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(g["app_state"], &appState))
	var ms struct {
		Members []struct {
			Address     string `json:"address"`
			Role        string `json:"role"`
			Description string `json:"description"`
		} `json:"members"`
	}
	require.NoError(t, json.Unmarshal(appState[membershiptypes.ModuleName], &ms))
	require.Len(t, ms.Members, 2)
	require.Equal(t, addr, ms.Members[0].Address)
	require.Equal(t, "ROLE_VALIDATOR", ms.Members[0].Role)
	require.Equal(t, "Acme", ms.Members[0].Description)
	require.Equal(t, "ROLE_PROVIDER", ms.Members[1].Role)

	var consensus struct {
		Params struct {
			Authority struct {
				Authority string `json:"authority"`
			} `json:"authority"`
		} `json:"params"`
	}
	require.NoError(t, json.Unmarshal(g["consensus"], &consensus))
	require.Equal(t, admin, consensus.Params.Authority.Authority)

	_, err = run(t, home, "genesis", "validate")
	require.NoError(t, err)
}

func TestGenesisAddMemberRejectsBadInput(t *testing.T) {
	home := initHome(t)
	before, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	require.NoError(t, err)
	addr := sdk.AccAddress(bytes.Repeat([]byte{2}, 20)).String()

	_, err = run(t, home, "genesis", "add-member", addr, "admin")
	require.ErrorIs(t, err, membershiptypes.ErrInvalidRole)

	_, err = run(t, home, "genesis", "add-member", "not-an-address-or-key", "validator")
	require.ErrorContains(t, err, "neither a bech32 address nor a key")

	_, err = run(t, home, "genesis", "add-member", addr, "validator")
	require.NoError(t, err)
	_, err = run(t, home, "genesis", "add-member", addr, "validator")
	require.ErrorIs(t, err, membershiptypes.ErrInvalidGenesis)
	require.ErrorContains(t, err, "duplicate member")

	// Only the one successful grant changed the file.
	after, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	require.NoError(t, err)
	require.NotEqual(t, before, after)
	var appState struct {
		AppState struct {
			Membership struct {
				Members []json.RawMessage `json:"members"`
			} `json:"membership"`
		} `json:"app_state"`
	}
	require.NoError(t, json.Unmarshal(after, &appState))
	require.Len(t, appState.AppState.Membership.Members, 1)
}

func TestConfigCommand(t *testing.T) {
	home := initHome(t)

	_, err := run(t, home, "config", "set", "chain-id", "stratus-9")
	require.NoError(t, err)
	_, err = run(t, home, "config", "set", "keyring-backend", "test")
	require.NoError(t, err)
	out, err := run(t, home, "config", "get", "chain-id")
	require.NoError(t, err)
	require.Equal(t, "stratus-9\n", out)

	bz, err := os.ReadFile(filepath.Join(home, "config", "client.toml"))
	require.NoError(t, err)
	require.Contains(t, string(bz), `keyring-backend = "test"`)
	require.Contains(t, string(bz), "# The network chain ID", "comments are kept")

	_, err = run(t, home, "config", "set", "keyring-backend", "plaintext")
	require.ErrorContains(t, err, "keyring-backend must be one of")
	_, err = run(t, home, "config", "set", "colour", "blue")
	require.ErrorContains(t, err, `unknown client setting "colour"`)
	_, err = run(t, home, "config", "set", "node", `tcp://"x`)
	require.ErrorContains(t, err, "may not contain quotes")

	// Rejected sets left the file as it was.
	after, err := os.ReadFile(filepath.Join(home, "config", "client.toml"))
	require.NoError(t, err)
	require.Equal(t, bz, after)
}
