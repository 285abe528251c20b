package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	cryptocodec "github.com/cosmos/cosmos-sdk/crypto/codec"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/testutil/localnet"
)

type replicaJSON struct {
	Slot      uint32 `json:"slot"`
	Shard     uint32 `json:"shard"`
	Provider  string `json:"provider"`
	Status    string `json:"status"`
	Paid      string `json:"paid"`
	Missed    uint32 `json:"missed"`
	EarnsFrom string `json:"earns_from"`
}

// balance is an account's ustrat balance.
func balance(t *testing.T, ln *localnet.Net, addr string) int64 {
	t.Helper()
	out := ln.MustRun("q", "bank", "balance", addr, "ustrat", "-o", "json")
	var res struct {
		Balance struct {
			Amount string `json:"amount"`
		} `json:"balance"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	v, err := strconv.ParseInt(res.Balance.Amount, 10, 64)
	require.NoError(t, err)
	return v
}

type dealJSON struct {
	Deal struct {
		ID           string `json:"id"`
		Status       string `json:"status"`
		Replicas     uint32 `json:"replicas"`
		DataShards   uint32 `json:"data_shards"`
		ParityShards uint32 `json:"parity_shards"`
		ShardSize    string `json:"shard_size"`
		Billable     string `json:"billable_bytes"`
		Escrow       struct {
			Amount string `json:"amount"`
		} `json:"escrow"`
	} `json:"deal"`
	Replicas []replicaJSON `json:"replicas"`
}

func queryDeal(t *testing.T, ln *localnet.Net, id uint64) dealJSON {
	t.Helper()
	out := ln.MustRun("q", "storage", "deal", strconv.FormatUint(id, 10), "-o", "json")
	var d dealJSON
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	return d
}

func committed(d dealJSON) []string {
	var out []string
	for _, r := range d.Replicas {
		if r.Status == "REPLICA_STATUS_COMMITTED" {
			out = append(out, r.Provider)
		}
	}
	return out
}

// waitDeal polls the deal until cond holds, failing with the logs after timeout.
func waitDeal(t *testing.T, ln *localnet.Net, id uint64, timeout time.Duration, what string, cond func(dealJSON) bool) dealJSON {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d := queryDeal(t, ln, id)
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("deal %d: %s not reached within %s; deal: %+v\n%s", id, what, timeout, d, ln.Logs())
		}
		time.Sleep(time.Second)
	}
}

func writeRandomFile(t *testing.T, size int) string {
	t.Helper()
	b := make([]byte, size)
	_, err := rand.Read(b)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "file.bin")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func put(t *testing.T, ln *localnet.Net, path string) uint64 {
	t.Helper()
	return putWith(t, ln, path, "--replicas", "3")
}

// putWith stores path for alice with the extra flags and returns the deal id.
func putWith(t *testing.T, ln *localnet.Net, path string, extra ...string) uint64 {
	t.Helper()
	out, errOut, err := ln.Run(append([]string{"storage", "put", path, "--from", "alice", "--duration", "5000"}, extra...)...)
	require.NoError(t, err, "storage put %v: %s\n%s\n%s", extra, out, errOut, ln.Logs())
	id, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	require.NoError(t, err, "put printed %q", out)
	return id
}

// getAndCompare gets deal id as alice and requires the original's bytes;
// it returns what get printed on standard error.
func getAndCompare(t *testing.T, ln *localnet.Net, id uint64, original string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "copy.bin")
	stdout, errOut, err := ln.Run("storage", "get", strconv.FormatUint(id, 10), "-o", out, "--from", "alice")
	require.NoError(t, err, "storage get: %s\n%s", stdout, errOut)
	want, err := os.ReadFile(original)
	require.NoError(t, err)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "downloaded file differs from the original")
	return errOut
}

func providerIndex(t *testing.T, ln *localnet.Net, addr string) int {
	t.Helper()
	for i := 1; i <= ln.Providers; i++ {
		if ln.Address(fmt.Sprintf("provider%d", i)) == addr {
			return i
		}
	}
	t.Fatalf("%s is not a localnet provider", addr)
	return 0
}

func stopProvider(t *testing.T, ln *localnet.Net, i int) {
	t.Helper()
	bz, err := os.ReadFile(filepath.Join(ln.Dir, fmt.Sprintf("provider%d.pid", i)))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(bz)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	for range 50 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// restartProvider starts provider i again on its home; the test's cleanup
// and the localnet's stop both end it.
func restartProvider(t *testing.T, ln *localnet.Net, i int) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(ln.Dir, fmt.Sprintf("provider%d.log", i)), os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	cmd := exec.Command(ln.ProviderBin, "start", "--home", ln.ProviderHome(i))
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	require.NoError(t, os.WriteFile(filepath.Join(ln.Dir, fmt.Sprintf("provider%d.pid", i)), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600))
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
}

func sumPaid(d dealJSON) int64 {
	var total int64
	for _, r := range d.Replicas {
		v, _ := strconv.ParseInt(r.Paid, 10, 64)
		total += v
	}
	return total
}

// TestStorageEndToEnd runs the storage service through real processes: a
// validator, four provider daemons and the stratusd CLI.
func TestStorageEndToEnd(t *testing.T) {
	ln := localnet.Start(t, bins, 1, 4)
	file := writeRandomFile(t, 10<<20)

	// 0. Errors are one sentence to act on: no gRPC wrapping, no source
	// paths; a key that was never funded is told to get funds and how.
	_, errOut, err := ln.Run("storage", "status", "999")
	require.Error(t, err)
	require.Contains(t, errOut, "deal 999")
	require.NotContains(t, errOut, "rpc error")
	require.NotContains(t, errOut, ".go:")
	ln.MustRun("keys", "add", "carol", "--keyring-backend", "test")
	_, errOut, err = ln.Run("storage", "put", file, "--from", "carol", "--keyring-backend", "test")
	require.Error(t, err)
	require.Contains(t, errOut, "does not exist on chain yet")
	require.Contains(t, errOut, "tx bank send")
	_, errOut, err = ln.Run("storage", "put", file, "--from", "alice", "--replicas", "9")
	require.Error(t, err)
	require.NotContains(t, errOut, ".go:")
	require.NotContains(t, errOut, "gas used")

	// 1. put 10 MiB with 3 replicas; every replica commits; get is identical.
	// The upload is slowed to 1 MiB/s so it is still arriving when the
	// other two providers learn of the deal: they follow it as it lands
	// (ADR 013) instead of waiting for it to be stored.
	id := putWith(t, ln, file, "--replicas", "3", "--limit-rate", "1MiB")
	require.Len(t, followers(t, ln, id), 2, "the other two providers did not follow the upload as it arrived")
	d := queryDeal(t, ln, id)
	require.Len(t, committed(d), 3, "put returns only once every replica is committed")
	require.Equal(t, "DEAL_STATUS_ACTIVE", d.Deal.Status)
	getAndCompare(t, ln, id, file)

	// 2. windows of proofs pass and providers get paid for the proven
	// windows when they claim (every 20 blocks on the localnet).
	startPaid := sumPaid(d)
	h := ln.Height(0)
	ln.WaitHeight(0, h+45, 150*time.Second) // four and a half proof windows, two claims
	d = queryDeal(t, ln, id)
	for _, r := range d.Replicas {
		require.Zero(t, r.Missed, "replica %s missed a proof", r.Provider)
	}
	require.Greater(t, sumPaid(d), startPaid, "earnings grow as windows are proven")

	// 5. wrong or truncated uploads are refused and nothing is stored.
	small := writeRandomFile(t, 5000)
	bz, err := os.ReadFile(small)
	require.NoError(t, err)
	root, err := merkle.Root(bz, 1024)
	require.NoError(t, err)
	res := ln.Tx("storage", "create-deal", root.String(), "5000", "1", "100", "1000ustrat", "--from", "alice")
	require.EqualValues(t, 0, res["code"], res)
	var newID uint64
	for i := id + 1; i < id+10; i++ {
		if _, _, err := ln.Run("q", "storage", "deal", strconv.FormatUint(i, 10)); err == nil {
			newID = i
		}
	}
	require.NotZero(t, newID)
	target := queryDeal(t, ln, newID).Replicas[0].Provider
	tgt := providerTarget(t, ln, target)
	c := dataClient(t, ln, "alice")
	ctx := context.Background()
	// The providers serve HTTPS with certificates of the localnet's CA: a
	// client that trusts only the system's roots refuses them.
	_, err = providerapi.NewClient(nil, nil).Status(ctx, tgt)
	require.ErrorContains(t, err, "certificate")

	wrong := bytes.Clone(bz)
	wrong[10] ^= 1
	var apiErr *providerapi.APIError
	err = c.Upload(ctx, tgt, newID, bytes.NewReader(wrong), uint64(len(wrong)))
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, 422, apiErr.Status)
	err = c.Upload(ctx, tgt, newID, bytes.NewReader(bz[:4000]), 4000)
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, 400, apiErr.Status)
	// Another account cannot upload the deal, even with the right bytes,
	// nor can an unsigned request.
	for key, status := range map[string]int{"bob": 403, "": 401} {
		err = dataClient(t, ln, key).Upload(ctx, tgt, newID, bytes.NewReader(bz), uint64(len(bz)))
		require.True(t, errors.As(err, &apiErr), "%v", err)
		require.Equal(t, status, apiErr.Status, "upload signed by %q", key)
	}
	err = c.Download(ctx, tgt, newID, new(bytes.Buffer))
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, 404, apiErr.Status, "nothing was stored")
	// An upload that stalls is cut off (the localnet's upload-grace is
	// 10s) and does not keep the owner's next upload out.
	stalledUploadIsCutOff(t, ln, tgt, newID, bz)
	// The right bytes are accepted and the replica commits.
	require.NoError(t, c.Upload(ctx, tgt, newID, bytes.NewReader(bz), uint64(len(bz))))
	waitDeal(t, ln, newID, time.Minute, "commit after the correct upload", func(d dealJSON) bool { return len(committed(d)) == 1 })
	privateDealIsTheOwners(t, ln, newID, tgt, bz)

	// 6. a provider restarted keeps proving without losing anything.
	holder := providerIndex(t, ln, d.Replicas[0].Provider)
	stopProvider(t, ln, holder)
	restartProvider(t, ln, holder)
	h = ln.Height(0)
	ln.WaitHeight(0, h+22, 90*time.Second)
	d = queryDeal(t, ln, id)
	require.Len(t, committed(d), 3)
	for _, r := range d.Replicas {
		require.Zero(t, r.Missed, "replica %s missed a proof after a restart", r.Provider)
	}

	// The daemons also survive a restart of the node they follow: they retry
	// until it is back and carry on proving.
	restartNode(t, ln, 0)
	h = ln.Height(0)
	ln.WaitHeight(0, h+22, 90*time.Second)
	d = queryDeal(t, ln, id)
	require.Len(t, committed(d), 3)
	for _, r := range d.Replicas {
		require.Zero(t, r.Missed, "replica %s missed a proof across a node restart", r.Provider)
	}

	// 3. kill a provider: its replica is dropped after max_missed windows and
	// repaired onto the spare provider; get still works. It is paid exactly
	// up to the start of its first failed window, not a block more.
	// (A provider that holds nothing else, so its balance moves only for this.)
	smallHolder := queryDeal(t, ln, newID).Replicas[0].Provider
	slot := 1
	if d.Replicas[slot].Provider == smallHolder {
		slot = 2
	}
	victim := d.Replicas[slot].Provider
	stopProvider(t, ln, providerIndex(t, ln, victim))
	// The owner's own audit sees it at once: the stopped provider fails,
	// the others verify.
	auditOut, auditErr, err := ln.Run("storage", "audit", strconv.FormatUint(id, 10), "--from", "alice", "--samples", "4")
	require.Error(t, err, "audit passed with a provider down: %s", auditOut)
	require.Contains(t, auditErr, "1 of 3 providers")
	require.Regexp(t, victim+`\s+FAILED`, auditOut)
	require.Equal(t, 2, strings.Count(auditOut, "ok, 4 of"), auditOut)
	ln.WaitHeight(0, ln.Height(0)+2, 30*time.Second) // a claim in flight lands
	killedAt := ln.Height(0)
	before := queryDeal(t, ln, id).Replicas[slot]
	require.Equal(t, victim, before.Provider)
	paidBefore, err := strconv.ParseInt(before.Paid, 10, 64)
	require.NoError(t, err)
	earnsFrom, err := strconv.ParseInt(before.EarnsFrom, 10, 64)
	require.NoError(t, err)
	balanceBefore := balance(t, ln, victim)
	d = waitDeal(t, ln, id, 4*time.Minute, "repair away from the stopped provider", func(d dealJSON) bool {
		c := committed(d)
		for _, p := range c {
			if p == victim {
				return false
			}
		}
		return len(c) == 3
	})
	getAndCompare(t, ln, id, file)
	out := ln.MustRun("q", "storage", "failed-windows", victim, "-o", "json")
	var failed struct {
		FailedWindows []struct {
			OpenHeight  int64 `json:"open_height,string"`
			CloseHeight int64 `json:"close_height,string"`
		} `json:"failed_windows"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &failed), out)
	// Proven blocks: from earns_from to the first window failed after the
	// kill, less any window failed before it.
	lastProven, lost := int64(-1), int64(0)
	for _, f := range failed.FailedWindows {
		if f.CloseHeight > killedAt-2 && lastProven < 0 {
			lastProven = f.OpenHeight
		} else if lastProven < 0 {
			lost += max(0, f.CloseHeight-max(f.OpenHeight, earnsFrom))
		}
	}
	require.Positive(t, lastProven, "the silence was recorded: %s", out)
	// 100 ustrat per GiB per block (the localnet price) for the billed bytes.
	billable, err := strconv.ParseInt(d.Deal.Billable, 10, 64)
	require.NoError(t, err)
	earned := new(big.Int).Mul(big.NewInt(100*billable), big.NewInt(lastProven-earnsFrom-lost))
	earned.Quo(earned, big.NewInt(1<<30))
	require.Equal(t, earned.Int64()-paidBefore, balance(t, ln, victim)-balanceBefore,
		"the killed provider is paid up to its last proven window and no further")

	// 4. a provider that unbonds keeps its obligations: its replica stays
	// committed and proven (unpaid) until a successor has fetched and
	// committed it, and its stake stays bonded meanwhile. The stopped
	// provider comes back to take over.
	restartProvider(t, ln, providerIndex(t, ln, victim))
	leaver := d.Replicas[0].Provider
	// Unbonding starts a handover per replica (a pick each): its gas grows
	// with the provider's holdings, so let the CLI estimate it.
	res = ln.Tx("provider", "unbond", "--from", fmt.Sprintf("provider%d", providerIndex(t, ln, leaver)),
		"--gas", "auto", "--gas-adjustment", "1.5")
	require.EqualValues(t, 0, res["code"], res)
	d = queryDeal(t, ln, id)
	require.Contains(t, committed(d), leaver, "unbonding keeps the replica its obligation")
	out = ln.MustRun("q", "provider", "provider", leaver, "-o", "json")
	require.Contains(t, out, "PROVIDER_STATUS_UNBONDING")
	d = waitDeal(t, ln, id, 3*time.Minute, "a successor commits and the leaving replica is released", func(d dealJSON) bool {
		c := committed(d)
		for _, p := range c {
			if p == leaver {
				return false
			}
		}
		return len(c) == 3
	})
	for _, r := range d.Replicas {
		require.Zero(t, r.Missed, "replica %s missed a proof during the handover", r.Provider)
	}
	getAndCompare(t, ln, id, file)
}

func providerStake(t *testing.T, ln *localnet.Net, addr string) int64 {
	t.Helper()
	out := ln.MustRun("q", "provider", "provider", addr, "-o", "json")
	var res struct {
		Provider struct {
			Stake string `json:"stake"`
		} `json:"provider"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	v, err := strconv.ParseInt(res.Provider.Stake, 10, 64)
	require.NoError(t, err)
	return v
}

// TestCorruptedReplicaIsRepairedByItsDaemon flips one byte of a provider's
// stored copy. The daemon checks every proof before it sends it, so it
// never sends the wrong one: it fetches the replica again from a peer,
// verified against the root, and proves it in the same window. Nobody is
// slashed and the replica stays where it is. (The chain's side, a wrong
// proof that is sent, is covered by the app tests.)
func TestCorruptedReplicaIsRepairedByItsDaemon(t *testing.T) {
	ln := localnet.Start(t, bins, 1, 4)
	file := writeRandomFile(t, 1000) // one leaf: every sample hits the flipped byte
	id := put(t, ln, file)
	d := queryDeal(t, ln, id)
	holder := d.Replicas[0].Provider
	stakeBefore := providerStake(t, ln, holder)

	path := filepath.Join(ln.ProviderHome(providerIndex(t, ln, holder)), "data", "deals", strconv.FormatUint(id, 10), "data")
	original, err := os.ReadFile(path)
	require.NoError(t, err)
	bz := append([]byte(nil), original...)
	bz[500] ^= 0x01
	require.NoError(t, os.WriteFile(path, bz, 0o600))

	deadline := time.Now().Add(90 * time.Second)
	for {
		now, err := os.ReadFile(path)
		if err == nil && bytes.Equal(now, original) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the daemon did not restore its corrupted copy")
		time.Sleep(time.Second)
	}
	h := ln.Height(0)
	ln.WaitHeight(0, h+22, 90*time.Second) // two more windows
	d = queryDeal(t, ln, id)
	require.Len(t, committed(d), 3)
	for _, r := range d.Replicas {
		require.Zero(t, r.Missed, "replica %s missed a proof", r.Provider)
	}
	require.Equal(t, holder, d.Replicas[0].Provider, "the replica stays with its provider")
	require.Equal(t, stakeBefore, providerStake(t, ln, holder), "no wrong proof was ever sent")
	getAndCompare(t, ln, id, file)
}

// restartNode stops validator i and starts it again on its data.
func restartNode(t *testing.T, ln *localnet.Net, i int) {
	t.Helper()
	pidFile := filepath.Join(ln.Dir, fmt.Sprintf("node%d.pid", i))
	bz, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(bz)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // the daemons see the node gone
	logf, err := os.OpenFile(filepath.Join(ln.Dir, fmt.Sprintf("node%d.log", i)), os.O_APPEND|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	cmd := exec.Command(ln.Bin, "start", "--home", ln.NodeHome(i))
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	require.NoError(t, os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600))
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
}

// dataClient is a provider API client that signs as key of the client
// keyring ("": unsigned).
func dataClient(t *testing.T, ln *localnet.Net, key string) *providerapi.Client {
	t.Helper()
	hc, err := providerapi.HTTPClient(ln.ProviderCA())
	require.NoError(t, err)
	if key == "" {
		return providerapi.NewClient(hc, nil)
	}
	return providerapi.NewClient(hc, signer(t, ln, key))
}

// signer signs as key of the client keyring.
func signer(t *testing.T, ln *localnet.Net, key string) providerapi.Signer {
	t.Helper()
	reg := codectypes.NewInterfaceRegistry()
	cryptocodec.RegisterInterfaces(reg)
	kr, err := keyring.New("stratus", keyring.BackendTest, ln.ClientHome(), nil, codec.NewProtoCodec(reg))
	require.NoError(t, err)
	return providerapi.KeyringSigner{Keyring: kr, Name: key}
}

// providerTarget is the localnet provider with account addr.
func providerTarget(t *testing.T, ln *localnet.Net, addr string) providerapi.Target {
	t.Helper()
	return providerapi.Target{Provider: addr, URL: ln.ProviderURL(providerIndex(t, ln, addr))}
}

// stalledUploadIsCutOff sends the owner's signed upload of deal id with a
// tenth of its body and then nothing: the provider must answer 408
// too_slow, well before the connection's own 60s deadline.
func stalledUploadIsCutOff(t *testing.T, ln *localnet.Net, tgt providerapi.Target, id uint64, data []byte) {
	t.Helper()
	path := providerapi.DealPath(id)
	req, err := http.NewRequest(http.MethodPut, tgt.URL+path, nil)
	require.NoError(t, err)
	req.ContentLength = int64(len(data))
	require.NoError(t, providerapi.SignRequest(req, signer(t, ln, "alice"), tgt.Provider, time.Now()))
	pem, err := os.ReadFile(ln.ProviderCA())
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem))
	conn, err := tls.Dial("tcp", strings.TrimPrefix(tgt.URL, "https://"), &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(60*time.Second)))
	_, err = fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nAuthorization: %s\r\n\r\n", path, len(data), req.Header.Get("Authorization"))
	require.NoError(t, err)
	_, err = conn.Write(data[:len(data)/10])
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the provider never cut the stalled upload off\n%s", ln.Logs())
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), providerapi.CodeTooSlow)
}

// privateDealIsTheOwners checks who may read alice's private deal id, held
// by tgt: alice reads it and its proofs; bob reads neither (nor does the
// CLI try); an unsigned request gets 401; and a provider that does not
// hold the deal cannot use the proof endpoint as an oracle.
func privateDealIsTheOwners(t *testing.T, ln *localnet.Net, id uint64, tgt providerapi.Target, data []byte) {
	t.Helper()
	ctx := context.Background()
	var buf bytes.Buffer
	require.NoError(t, dataClient(t, ln, "alice").Download(ctx, tgt, id, &buf))
	require.Equal(t, data, buf.Bytes())
	leaf, path, root, leaves, err := dataClient(t, ln, "alice").Proof(ctx, tgt, id, 1)
	require.NoError(t, err)
	require.NoError(t, merkle.VerifyProof(root, leaves, 1, leaf, path))

	var outsider string
	for i := 1; i <= ln.Providers; i++ {
		if a := ln.Address(fmt.Sprintf("provider%d", i)); a != tgt.Provider {
			outsider = fmt.Sprintf("provider%d", i)
			break
		}
	}
	var apiErr *providerapi.APIError
	for key, status := range map[string]int{"bob": 403, "": 401} {
		err := dataClient(t, ln, key).Download(ctx, tgt, id, io.Discard)
		require.True(t, errors.As(err, &apiErr), "%v", err)
		require.Equal(t, status, apiErr.Status, "download signed by %q", key)
		_, _, _, _, err = dataClient(t, ln, key).Proof(ctx, tgt, id, 1)
		require.True(t, errors.As(err, &apiErr), "%v", err)
		require.Equal(t, status, apiErr.Status, "proof signed by %q", key)
	}
	_, _, _, _, err = dataClient(t, ln, outsider).Proof(ctx, tgt, id, 1)
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, 403, apiErr.Status, "a provider not holding the deal asked for a proof")

	_, errOut, err := ln.Run("storage", "get", strconv.FormatUint(id, 10), "-o", filepath.Join(t.TempDir(), "x"), "--from", "bob")
	require.Error(t, err)
	require.Contains(t, errOut, "providers serve it only to its owner")
	// The owner audits its providers; bob cannot.
	out := ln.MustRun("storage", "audit", strconv.FormatUint(id, 10), "--from", "alice")
	require.Contains(t, out, "ok, 5 of 5 leaves verified")
	_, errOut, err = ln.Run("storage", "audit", strconv.FormatUint(id, 10), "--from", "bob")
	require.Error(t, err)
	require.Contains(t, errOut, "providers serve it only to its owner")
}

// followers lists the providers the first provider of deal id sent the
// owner's upload to while it arrived, from the providers' logs.
func followers(t *testing.T, ln *localnet.Net, id uint64) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for i := 1; i <= ln.Providers; i++ {
		bz, err := os.ReadFile(filepath.Join(ln.Dir, fmt.Sprintf("provider%d.log", i)))
		require.NoError(t, err)
		for _, line := range strings.Split(string(bz), "\n") {
			if !strings.Contains(line, `msg="sending an upload in progress to a replicating provider"`) ||
				!strings.Contains(line, fmt.Sprintf(" deal=%d ", id)) {
				continue
			}
			if _, to, ok := strings.Cut(line, " to="); ok {
				out[strings.Fields(to)[0]] = true
			}
		}
	}
	return out
}

// bytesReceived sums the upload bytes every provider of the localnet has
// received (stratus_provider_bytes_received_total).
func bytesReceived(t *testing.T, ln *localnet.Net) float64 {
	t.Helper()
	hc, err := providerapi.HTTPClient(ln.ProviderCA())
	require.NoError(t, err)
	sum := 0.0
	for i := 1; i <= ln.Providers; i++ {
		resp, err := hc.Get(ln.ProviderURL(i) + "/metrics")
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, "stratus_provider_bytes_received_total "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				require.NoError(t, err)
				sum += f
			}
		}
	}
	return sum
}

// TestInterruptedPutResumes kills `storage put` halfway through a 256 MiB
// upload and runs it again: the second run picks the deal up and sends
// only what the provider does not hold (the providers' byte counters show
// it), and the file comes back byte-exact.
func TestInterruptedPutResumes(t *testing.T) {
	ln := localnet.Start(t, bins, 1, 4)
	const size = 256 << 20
	file := writeRandomFile(t, size)

	args := []string{"--home", ln.ClientHome(), "storage", "put", file, "--from", "alice", "--replicas", "1", "--duration", "5000"}
	first := exec.Command(ln.Bin, append(args, "--limit-rate", "24MiB")...)
	var firstErr bytes.Buffer
	first.Stderr = &firstErr
	require.NoError(t, first.Start())
	deadline := time.Now().Add(2 * time.Minute)
	for bytesReceived(t, ln) < 0.45*size {
		require.True(t, time.Now().Before(deadline), "the upload never reached half: %s\n%s", firstErr.String(), ln.Logs())
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, first.Process.Kill())
	_ = first.Wait()
	time.Sleep(500 * time.Millisecond) // the provider notices the cut and keeps what came
	before := bytesReceived(t, ln)
	require.Less(t, before, 0.9*size, "the put was not cut off halfway")

	out, errOut, err := localnet.Exec(ln.Bin, args...)
	require.NoError(t, err, "second put: %s\n%s\n%s", out, errOut, ln.Logs())
	require.Contains(t, errOut, "resuming the upload")
	id, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	require.NoError(t, err, out)
	resent := bytesReceived(t, ln) - before
	require.Less(t, resent, 0.6*size, "the resumed put sent %.0f of %d bytes again", resent, size)
	t.Logf("first run sent %.0f bytes before it was killed; the resumed run sent %.0f (%.0f%% of the file)", before, resent, 100*resent/size)
	getAndCompare(t, ln, id, file)
	// The kept ciphertext is gone once every replica committed.
	entries, err := os.ReadDir(filepath.Join(ln.ClientHome(), "uploads"))
	require.NoError(t, err)
	require.Empty(t, entries)
}
