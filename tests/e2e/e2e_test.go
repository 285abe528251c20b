// Package e2e tests Stratus through real processes: scripts/localnet.sh,
// stratusd nodes on loopback, and the stratusd CLI an operator uses.
package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/stratusnet/stratus/testutil/localnet"
)

var bins localnet.Binaries

// stratusd is the path of the built node binary.
var stratusd string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stratus-e2e")
	if err != nil {
		panic(err)
	}
	bins, err = localnet.Build(dir)
	stratusd = bins.Stratusd
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func validatorJSON(t *testing.T, moniker string) string {
	t.Helper()
	key := make([]byte, 32)
	copy(key, moniker) // any 32 bytes make a valid ed25519 public key encoding for the gate check
	body := fmt.Sprintf(`{"pubkey":{"@type":"/cosmos.crypto.ed25519.PubKey","key":%q},"amount":"5000000ustrat","moniker":%q,
"commission-rate":"0.1","commission-max-rate":"0.2","commission-max-change-rate":"0.01","min-self-delegation":"1"}`,
		base64.StdEncoding.EncodeToString(key), moniker)
	path := filepath.Join(t.TempDir(), "validator.json")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

type member struct {
	Address string `json:"address"`
	Role    string `json:"role"`
}

func members(t *testing.T, ln *localnet.Net, args ...string) []member {
	t.Helper()
	out := ln.MustRun(append([]string{"q", "membership", "members", "-o", "json"}, args...)...)
	var res struct {
		Members []member `json:"members"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	return res.Members
}

func TestLocalnetMembershipGateAndRestart(t *testing.T) {
	ln := localnet.Start(t, bins, 1, 0)

	// The genesis validator is a member.
	val0, alice := ln.Address("val0"), ln.Address("alice")
	require.Contains(t, members(t, ln, "--role", "validator"), member{Address: val0, Role: "ROLE_VALIDATOR"})
	require.Empty(t, members(t, ln, "--role", "provider"), "PROVIDERS=0 grants no provider roles")

	// REST and gRPC (with reflection) serve the same data.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stratus/membership/v1/members?role=1", 1317+ln.Offset))
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), val0)
	require.Contains(t, grpcServices(t, fmt.Sprintf("127.0.0.1:%d", 9090+ln.Offset)), "stratus.membership.v1.Query")

	// alice holds no role: her create-validator is refused, and the error says why.
	res := ln.Tx("staking", "create-validator", validatorJSON(t, "alice-node"), "--from", "alice")
	require.EqualValues(t, 6, res["code"], res)
	require.Equal(t, "membership", res["codespace"])
	require.Contains(t, res["raw_log"], "does not hold the validator role")
	require.Contains(t, res["raw_log"], "grant-role")

	// Only the authority may grant; alice granting herself fails in the block.
	res = ln.Tx("membership", "grant-role", alice, "validator", "--from", "alice")
	require.EqualValues(t, 4, res["code"], res)
	require.Contains(t, res["raw_log"], "invalid authority")

	res = ln.Tx("membership", "grant-role", alice, "validator", "--description", "Alice Hosting", "--from", "admin")
	require.EqualValues(t, 0, res["code"], res)
	out := ln.MustRun("q", "membership", "member", alice, "validator", "-o", "json")
	require.Contains(t, out, "Alice Hosting")

	res = ln.Tx("staking", "create-validator", validatorJSON(t, "alice-node"), "--from", "alice")
	require.EqualValues(t, 0, res["code"], res)
	out = ln.MustRun("q", "staking", "validators", "-o", "json")
	require.Contains(t, out, "alice-node")

	// Revoking alice's role jails her validator.
	res = ln.Tx("membership", "revoke-role", alice, "validator", "--reason", "test", "--from", "admin")
	require.EqualValues(t, 0, res["code"], res)
	_, _, err = ln.Run("q", "membership", "member", alice, "validator")
	require.ErrorContains(t, err, "exit status")

	checkTxSenderPipelines(t, ln)

	// Stop and restart: the chain resumes on its data, past the old height.
	h := ln.Height(0)
	ln.Stop()
	ln.Restart()
	ln.WaitHeight(0, h+2, 60*time.Second)
	require.Contains(t, members(t, ln, "--role", "validator"), member{Address: val0, Role: "ROLE_VALIDATOR"})
}

func TestExportReimportsAsNewChain(t *testing.T) {
	ln := localnet.Start(t, bins, 1, 0)
	res := ln.Tx("membership", "grant-role", ln.Address("alice"), "provider", "--from", "admin")
	require.EqualValues(t, 0, res["code"], res)
	ln.Stop()

	// Export the stopped node's state as a genesis.
	exported, errOut, err := localnet.Exec(stratusd, "export", "--home", ln.NodeHome(0))
	require.NoError(t, err, errOut)
	exportFile := filepath.Join(t.TempDir(), "exported.json")
	require.NoError(t, os.WriteFile(exportFile, []byte(exported), 0o600))

	// A fresh home with the same validator key and the exported genesis.
	home := t.TempDir()
	_, errOut, err = localnet.Exec(stratusd, "init", "reimport", "--chain-id", "stratus-local", "--home", home)
	require.NoError(t, err, errOut)
	for _, f := range []string{"priv_validator_key.json", "node_key.json"} {
		bz, err := os.ReadFile(filepath.Join(ln.NodeHome(0), "config", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(home, "config", f), bz, 0o600))
	}
	require.NoError(t, os.Rename(exportFile, filepath.Join(home, "config", "genesis.json")))
	out, errOut, err := localnet.Exec(stratusd, "genesis", "validate", "--home", home)
	require.NoError(t, err, "exported genesis does not validate: %s %s", out, errOut)

	// It starts and produces blocks with alice still a provider.
	rpc := fmt.Sprintf("tcp://127.0.0.1:%d", ln.RPCPort(0))
	proc := startNode(t, home, ln.Offset)
	deadline := time.Now().Add(60 * time.Second)
	var memberOut string
	for time.Now().Before(deadline) {
		memberOut, _, err = localnet.Exec(stratusd, "q", "membership", "members", "--role", "provider", "--node", rpc, "-o", "json")
		if err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.NoError(t, err, "re-imported chain did not answer: %s", proc.log())
	require.Contains(t, memberOut, ln.Address("alice"))
}

// grpcServices lists the services a node's gRPC server reports through
// server reflection, as grpcurl and other generic clients see them.
func grpcServices(t *testing.T, addr string) []string {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	stream, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(t.Context())
	require.NoError(t, err)
	require.NoError(t, stream.Send(&rpb.ServerReflectionRequest{
		MessageRequest: &rpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}))
	res, err := stream.Recv()
	require.NoError(t, err)
	var names []string
	for _, svc := range res.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	return names
}

type node struct{ logFile string }

func (n node) log() string {
	bz, _ := os.ReadFile(n.logFile)
	s := string(bz)
	if len(s) > 3000 {
		s = s[len(s)-3000:]
	}
	return s
}

// startNode runs stratusd start on home with the localnet's node0 ports.
func startNode(t *testing.T, home string, offset int) node {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "node.log")
	f, err := os.Create(logFile)
	require.NoError(t, err)
	args := []string{
		"start", "--home", home,
		"--rpc.laddr", fmt.Sprintf("tcp://127.0.0.1:%d", 26657+offset),
		"--p2p.laddr", fmt.Sprintf("tcp://127.0.0.1:%d", 26656+offset),
		"--grpc.address", fmt.Sprintf("127.0.0.1:%d", 9090+offset),
		"--api.enable=false", "--rpc.pprof_laddr", "",
	}
	cmd := execCommand(stratusd, args...)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
	})
	return node{logFile: logFile}
}

func execCommand(bin string, args ...string) *exec.Cmd { return exec.Command(bin, args...) }
