package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/testutil/localnet"
)

// s3Tool finds a command-line S3 client. Without it the test skips,
// unless STRATUS_REQUIRE_S3_TOOLS is set (CI installs awscli and rclone).
func s3Tool(t *testing.T, name string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("STRATUS_REQUIRE_S3_TOOLS") != "" {
		t.Fatalf("%s is not installed (STRATUS_REQUIRE_S3_TOOLS is set)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// The S3 gateway through the real command-line tools, on a localnet of 4
// providers storing every object 2+1: aws s3 mb/cp/ls/rm, and rclone copy
// of a directory tree up and back, byte-exact, with rclone check clean.
func TestS3GatewayWithAwsCliAndRclone(t *testing.T) {
	const files = 300
	aws := s3Tool(t, "aws", "/usr/bin/aws")
	rclone := s3Tool(t, "rclone", "/usr/bin/rclone")
	ln := localnet.StartWithGateway(t, bins, 1, 4, "2+1")
	secret := ln.GatewaySecret()
	// The gateway speaks plain HTTP on loopback: a CA bundle from the
	// surrounding environment only trips rclone's S3 client.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID=stratus", "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"RCLONE_CONFIG_STRATUS_TYPE=s3", "RCLONE_CONFIG_STRATUS_PROVIDER=Other",
		"RCLONE_CONFIG_STRATUS_ENDPOINT="+ln.GatewayURL(), "RCLONE_CONFIG_STRATUS_ACCESS_KEY_ID=stratus",
		"RCLONE_CONFIG_STRATUS_SECRET_ACCESS_KEY="+secret, "RCLONE_CONFIG=/dev/null",
	)
	run := func(bin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %s:\n%s\ngateway log:\n%s", filepath.Base(bin), strings.Join(args, " "), out, gatewayLog(ln))
		return string(out)
	}
	s3 := func(args ...string) string {
		return run(aws, append([]string{"--endpoint-url", ln.GatewayURL()}, args...)...)
	}

	s3("s3", "mb", "s3://photos")
	file := writeRandomFile(t, 700_001)
	s3("s3", "cp", file, "s3://photos/dir/file.bin")
	require.Contains(t, s3("s3", "ls", "s3://photos/dir/"), "file.bin")
	back := filepath.Join(t.TempDir(), "back.bin")
	s3("s3", "cp", "s3://photos/dir/file.bin", back)
	want, err := os.ReadFile(file)
	require.NoError(t, err)
	got, err := os.ReadFile(back)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "aws s3 cp back differs")
	s3("s3", "rm", "s3://photos/dir/file.bin")
	// (aws s3 ls exits 1 when nothing matches: ask the API directly.)
	require.NotContains(t, s3("s3api", "list-objects-v2", "--bucket", "photos"), "file.bin")

	// A tree of 300 files in nested directories, up and back with rclone.
	tree := t.TempDir()
	for i := range files {
		dir := filepath.Join(tree, fmt.Sprintf("d%d", i%4), fmt.Sprintf("e%d", i%3))
		require.NoError(t, os.MkdirAll(dir, 0o700))
		b := make([]byte, 1+i*331)
		_, err := rand.Read(b)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.bin", i)), b, 0o600))
	}
	start := time.Now()
	run(rclone, "sync", "--transfers", "16", tree, "stratus:photos/tree")
	t.Logf("rclone sync of %d files up: %s", files, time.Since(start).Round(time.Second))
	run(rclone, "check", tree, "stratus:photos/tree")
	down := t.TempDir()
	run(rclone, "sync", "stratus:photos/tree", down)
	out, err := exec.Command("diff", "-r", tree, down).CombinedOutput()
	require.NoError(t, err, "the tree came back different:\n%s", out)

	// The gateway's machine is lost: a new gateway with the same keys and
	// an empty directory rebuilds its index from the backup deal the old
	// one stored as it stopped, and serves the same tree.
	ln.StopGateway()
	require.Contains(t, gatewayLog(ln), "index backed up to deal")
	gwDir := filepath.Join(ln.Dir, "gateway")
	entries, err := os.ReadDir(gwDir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() != "secret" { // the S3 secret is configuration, not state
			require.NoError(t, os.RemoveAll(filepath.Join(gwDir, e.Name())))
		}
	}
	// The new gateway serves HTTPS (--tls-cert, --tls-key), as one
	// reachable from other machines must; the tools trust the localnet's CA.
	ln.GatewayTLS = true
	ln.StartGateway()
	require.Contains(t, gatewayLog(ln), "rebuilt the index")
	require.Contains(t, gatewayLog(ln), "S3 gateway on https://")
	env = append(env, "RCLONE_CONFIG_STRATUS_ENDPOINT="+ln.GatewayURL()) // the last value wins
	run(rclone, "check", "--ca-cert", ln.GatewayCA(), tree, "stratus:photos/tree")
	require.Contains(t, s3("--ca-bundle", ln.GatewayCA(), "s3", "ls", "s3://photos/tree/d1/e1/"), "f049.bin")
}

func gatewayLog(ln *localnet.Net) string {
	bz, _ := os.ReadFile(filepath.Join(ln.Dir, "gateway.log"))
	return string(bz)
}
