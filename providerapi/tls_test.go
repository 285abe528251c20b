package providerapi

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A client trusts a provider's certificate when its CA is configured, and
// refuses it otherwise; a CA file with no certificate is a clear error.
func TestHTTPClientTrustsTheConfiguredCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"provider":"p","moniker":"m"}`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	target := Target{Provider: "p", URL: srv.URL}

	hc, err := HTTPClient(ca)
	require.NoError(t, err)
	st, err := NewClient(hc, nil).Status(context.Background(), target)
	require.NoError(t, err)
	require.Equal(t, "m", st.Moniker)

	hc, err = HTTPClient("")
	require.NoError(t, err)
	_, err = NewClient(hc, nil).Status(context.Background(), target)
	require.ErrorContains(t, err, "certificate")

	bad := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not a certificate"), 0o600))
	_, err = HTTPClient(bad)
	require.ErrorContains(t, err, "no PEM certificate")
	_, err = HTTPClient(filepath.Join(t.TempDir(), "missing.pem"))
	require.ErrorContains(t, err, "reading the providers' CA")
}

// The client speaks HTTP/1.1 even to a provider that offers HTTP/2 (ADR
// 014): bulk transfers go faster without HTTP/2's framing.
func TestHTTPClientSpeaksHTTP1(t *testing.T) {
	proto := make(chan int, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto <- r.ProtoMajor
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"provider":"p","moniker":"m"}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

	// The server does speak HTTP/2 to a client that asks.
	_, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	require.Equal(t, 2, <-proto)

	hc, err := HTTPClient(ca)
	require.NoError(t, err)
	_, err = NewClient(hc, nil).Status(context.Background(), Target{Provider: "p", URL: srv.URL})
	require.NoError(t, err)
	require.Equal(t, 1, <-proto)
}
