package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writePair writes a self-signed certificate and its key as PEM files.
func writePair(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return cert, key
}

// --tls-cert and --tls-key: both or neither, and a pair that loads.
func TestCheckTLS(t *testing.T) {
	scheme, err := checkTLS("", "")
	require.NoError(t, err)
	require.Equal(t, "http", scheme)

	cert, key := writePair(t, t.TempDir())
	scheme, err = checkTLS(cert, key)
	require.NoError(t, err)
	require.Equal(t, "https", scheme)

	_, err = checkTLS(cert, "")
	require.ErrorContains(t, err, "go together")
	_, err = checkTLS("", key)
	require.ErrorContains(t, err, "go together")

	otherCert, _ := writePair(t, t.TempDir())
	_, err = checkTLS(otherCert, key)
	require.ErrorContains(t, err, "--tls-cert")
	_, err = checkTLS(filepath.Join(t.TempDir(), "missing.pem"), key)
	require.ErrorContains(t, err, "--tls-cert")
}
