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

// The API's TLS certificate and key go together, and the data-plane
// settings are checked.
func TestLoadRejectsHalfTLSAndBadDataPlaneSettings(t *testing.T) {
	home := t.TempDir()
	c := Default(home)
	require.NoError(t, c.Write(home))
	bz, err := os.ReadFile(filepath.Join(home, FileName))
	require.NoError(t, err)
	broken := strings.NewReplacer(
		`tls-cert-file = ""`, `tls-cert-file = "cert.pem"`,
		`upload-grace = "30s"`, `upload-grace = "never"`,
		`min-upload-rate = 262144`, `min-upload-rate = 0`,
		`repair-fetches-per-hour = 6`, `repair-fetches-per-hour = 0`,
	).Replace(string(bz))
	require.NoError(t, os.WriteFile(filepath.Join(home, FileName), []byte(broken), 0o600))
	_, err = Load(home)
	require.ErrorContains(t, err, "api.tls-cert-file and api.tls-key-file go together")
	require.ErrorContains(t, err, "api.upload-grace")
	require.ErrorContains(t, err, "api.min-upload-rate")
	require.ErrorContains(t, err, "api.repair-fetches-per-hour")

	c = Default(home)
	c.API.TLSCertFile, c.API.TLSKeyFile, c.API.CAFile = "tls/cert.pem", "/etc/key.pem", "ca.pem"
	require.NoError(t, c.Write(home))
	got, err := Load(home)
	require.NoError(t, err)
	cert, key := got.TLSFiles(home)
	require.Equal(t, filepath.Join(home, "tls/cert.pem"), cert)
	require.Equal(t, "/etc/key.pem", key)
	require.Equal(t, filepath.Join(home, "ca.pem"), got.PeerCAFile(home))
}
