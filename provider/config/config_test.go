package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteLoadRoundTrip(t *testing.T) {
	home := t.TempDir()
	c := Default(home)
	c.Moniker, c.Key, c.KeyringBackend = "acme", "acme-key", "test"
	c.API.Endpoint = "https://sp.acme.example"
	require.NoError(t, c.Write(home))

	bz, err := os.ReadFile(filepath.Join(home, FileName))
	require.NoError(t, err)
	require.Contains(t, string(bz), "# The URL clients and other providers use")

	got, err := Load(home)
	require.NoError(t, err)
	require.Equal(t, c, got)
}

func TestLoadRejectsBrokenConfig(t *testing.T) {
	home := t.TempDir()
	_, err := Load(home)
	require.ErrorContains(t, err, "stratus-provider init")

	write := func(s string) {
		require.NoError(t, os.WriteFile(filepath.Join(home, FileName), []byte(s), 0o600))
	}
	write("moniker = [unterminated")
	_, err = Load(home)
	require.ErrorContains(t, err, "parsing")

	write("colour = \"blue\"\n")
	_, err = Load(home)
	require.ErrorContains(t, err, "colour")

	c := Default(home)
	require.NoError(t, c.Write(home))
	bz, _ := os.ReadFile(filepath.Join(home, FileName))
	broken := strings.Replace(string(bz), `poll = "500ms"`, `poll = "soon"`, 1)
	broken = strings.Replace(broken, `endpoint = "http://127.0.0.1:8480"`, `endpoint = "ftp://x"`, 1)
	write(broken)
	_, err = Load(home)
	require.ErrorContains(t, err, "loop.poll")
	require.ErrorContains(t, err, "api.endpoint")
}
