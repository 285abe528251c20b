package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/testutil/localnet"
)

// programs are the example programs, built once for wasip1 (and wordcount natively).
var programs struct {
	once                     sync.Once
	err                      error
	wordcount, testprog, wcN string
}

func buildPrograms(t *testing.T) {
	t.Helper()
	programs.once.Do(func() {
		dir, err := os.MkdirTemp("", "stratus-e2e-programs")
		if err != nil {
			programs.err = err
			return
		}
		programs.wordcount = filepath.Join(dir, "wordcount.wasm")
		programs.testprog = filepath.Join(dir, "testprog.wasm")
		programs.wcN = filepath.Join(dir, "wordcount-native")
		for _, b := range []struct {
			out, pkg string
			wasm     bool
		}{{programs.wordcount, "./examples/wordcount", true}, {programs.testprog, "./examples/testprog", true}, {programs.wcN, "./examples/wordcount", false}} {
			cmd := exec.Command("go", "build", "-trimpath", "-o", b.out, b.pkg)
			cmd.Dir = localnet.RepoRoot()
			cmd.Env = os.Environ()
			if b.wasm {
				cmd.Env = append(cmd.Env, "GOOS=wasip1", "GOARCH=wasm")
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				programs.err = fmt.Errorf("building %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	require.NoError(t, programs.err)
}

type resultJSON struct {
	OutputRoot string `json:"output_root"`
	Size       string `json:"size"`
	ExitCode   uint32 `json:"exit_code"`
	Verdict    string `json:"verdict"`
}

type jobJSON struct {
	Job struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		Executors []struct {
			Provider    string      `json:"provider"`
			Status      string      `json:"status"`
			Replacement bool        `json:"replacement"`
			Result      *resultJSON `json:"result"`
		} `json:"executors"`
		Result       *resultJSON `json:"result"`
		OutputDealID string      `json:"output_deal_id"`
		Retries      uint32      `json:"retries"`
		Reason       string      `json:"reason"`
		Submitted    string      `json:"submitted_height"`
		Finished     string      `json:"finished_height"`
	} `json:"job"`
}

func (j jobJSON) executorsIn(status string) []string {
	var out []string
	for _, e := range j.Job.Executors {
		if e.Status == "EXECUTOR_STATUS_"+status {
			out = append(out, e.Provider)
		}
	}
	return out
}

func queryJob(t *testing.T, ln *localnet.Net, id uint64) jobJSON {
	t.Helper()
	out := ln.MustRun("q", "compute", "job", strconv.FormatUint(id, 10), "-o", "json")
	var j jobJSON
	require.NoError(t, json.Unmarshal([]byte(out), &j), out)
	return j
}

// waitJob polls until the job has ended (no longer assigning, committing or revealing).
func waitJob(t *testing.T, ln *localnet.Net, id uint64, timeout time.Duration) jobJSON {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := queryJob(t, ln, id)
		if s := j.Job.Status; s != "JOB_STATUS_ASSIGNING" && s != "JOB_STATUS_COMMITTING" && s != "JOB_STATUS_REVEALING" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s after %s: %+v\n%s", id, j.Job.Status, timeout, j, ln.Logs())
		}
		time.Sleep(time.Second)
	}
}

func putPublic(t *testing.T, ln *localnet.Net, path string, replicas int) uint64 {
	t.Helper()
	return putWith(t, ln, path, "--public", "--replicas", strconv.Itoa(replicas))
}

var submittedRE = regexp.MustCompile(`job (\d+) submitted`)

// submit runs `compute run` without --wait and returns the job id.
// While every executor slot is taken (jobs submitted just before still
// run), the chain refuses the job; like a user, it tries again.
func submit(t *testing.T, ln *localnet.Net, args ...string) uint64 {
	t.Helper()
	var out, errOut string
	var err error
	for deadline := time.Now().Add(90 * time.Second); ; {
		out, errOut, err = ln.Run(append([]string{"compute", "run"}, append(args, "--from", "alice")...)...)
		if err == nil || !strings.Contains(errOut, "not enough eligible compute providers") || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	require.NoError(t, err, "compute run: %s\n%s", out, errOut)
	m := submittedRE.FindStringSubmatch(errOut)
	require.NotNil(t, m, "compute run said: %s", errOut)
	id, err := strconv.ParseUint(m[1], 10, 64)
	require.NoError(t, err)
	require.Equal(t, m[1], strings.TrimSpace(out), "without --wait, run prints the job id")
	return id
}

// writeText writes size bytes of random words and lines.
func writeText(t *testing.T, size int) string {
	t.Helper()
	words := []string{"cloud", "stratus", "replica", "proof", "deal", "merkle", "wasm", "job", "provider", "escrow"}
	var b strings.Builder
	r := rand.New(rand.NewPCG(1, 2))
	for b.Len() < size {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(8) == 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	path := filepath.Join(t.TempDir(), "words.txt")
	require.NoError(t, os.WriteFile(path, []byte(b.String()[:size]), 0o600))
	return path
}

// TestComputeEndToEnd runs jobs through real processes: a validator, four
// provider daemons running the executor, and the stratusd CLI.
func TestComputeEndToEnd(t *testing.T) {
	buildPrograms(t)
	// Not the default 1 KiB leaves: every root (inputs, programs, output
	// archives, the stored output deal) must follow the chain's chunk_size.
	t.Setenv("CHUNK_SIZE", "4096")
	ln := localnet.Start(t, bins, 1, 4)
	var params struct {
		Params struct {
			ChunkSize json.Number `json:"chunk_size"`
		} `json:"params"`
	}
	require.NoError(t, json.Unmarshal([]byte(ln.MustRun("q", "storage", "params", "-o", "json")), &params))
	require.Equal(t, "4096", params.Params.ChunkSize.String())
	text := writeText(t, 2<<20)
	input := putPublic(t, ln, text, 2)
	wc := putPublic(t, ln, programs.wordcount, 2)
	tp := putPublic(t, ln, programs.testprog, 2)

	// 1. A job with two executors agrees; the downloaded output equals the
	// native program's on the same file.
	_, errOut, err := ln.Run("compute", "run", programs.wordcount, "--input", strconv.FormatUint(input, 10))
	require.Error(t, err, "run without --from is refused")
	require.Contains(t, errOut, "--from is required")
	out, errOut, err := ln.Run("compute", "run", "--program-deal", strconv.FormatUint(wc, 10), "--input", strconv.FormatUint(input, 10),
		"--executors", "2", "--wait", "--from", "alice")
	require.NoError(t, err, "compute run: %s\n%s\n%s", out, errOut, ln.Logs())
	require.Contains(t, out, "succeeded")
	m := submittedRE.FindStringSubmatch(errOut)
	require.NotNil(t, m, errOut)
	job, _ := strconv.ParseUint(m[1], 10, 64)
	j := queryJob(t, ln, job)
	require.Equal(t, "JOB_STATUS_SUCCEEDED", j.Job.Status)
	require.Len(t, j.executorsIn("AGREED"), 2)
	require.Equal(t, "ok", j.Job.Result.Verdict)
	// The same job over REST, as a wallet or another language sees it.
	var rest jobJSON
	restGet(t, fmt.Sprintf("http://127.0.0.1:%d/stratus/compute/v1/jobs/%d", 1317+ln.Offset, job), &rest)
	require.Equal(t, j.Job.Result.OutputRoot, rest.Job.Result.OutputRoot)
	var byOwner struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	restGet(t, fmt.Sprintf("http://127.0.0.1:%d/stratus/compute/v1/owners/%s/jobs", 1317+ln.Offset, ln.Address("alice")), &byOwner)
	require.Len(t, byOwner.Jobs, 1)

	dir := filepath.Join(t.TempDir(), "result")
	out, errOut, err = ln.Run("compute", "output", m[1], "-o", dir, "--from", "alice")
	require.NoError(t, err, "compute output: %s\n%s", out, errOut)
	nativeIn, nativeOut := t.TempDir(), t.TempDir()
	bz, err := os.ReadFile(text)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(nativeIn, strconv.FormatUint(input, 10)), bz, 0o600))
	native := exec.Command(programs.wcN)
	native.Env = append(os.Environ(), "STRATUS_INPUT="+nativeIn, "STRATUS_OUTPUT="+nativeOut)
	nativeStdout, err := native.Output()
	require.NoError(t, err)
	gotStdout, err := os.ReadFile(filepath.Join(dir, "stdout"))
	require.NoError(t, err)
	require.Equal(t, string(nativeStdout), string(gotStdout))
	wantReport, err := os.ReadFile(filepath.Join(nativeOut, "wordcount.txt"))
	require.NoError(t, err)
	gotReport, err := os.ReadFile(filepath.Join(dir, "output", "wordcount.txt"))
	require.NoError(t, err)
	require.Equal(t, string(wantReport), string(gotReport))
	require.Contains(t, string(gotReport), fmt.Sprintf(" %d %s\n", len(bz), strconv.FormatUint(input, 10)))

	// 4. store_output: the output becomes a live deal of the owner, held by
	// the executors and proven like any replica.
	out, errOut, err = ln.Run("compute", "run", "--program-deal", strconv.FormatUint(wc, 10), "--input", strconv.FormatUint(input, 10),
		"--executors", "2", "--store-output", "--output-replicas", "2", "--wait", "--from", "alice")
	require.NoError(t, err, "compute run --store-output: %s\n%s\n%s", out, errOut, ln.Logs())
	m = submittedRE.FindStringSubmatch(errOut)
	require.NotNil(t, m, errOut)
	job, _ = strconv.ParseUint(m[1], 10, 64)
	j = queryJob(t, ln, job)
	require.NotEmpty(t, j.Job.OutputDealID, "job: %+v", j)
	outDeal, err := strconv.ParseUint(j.Job.OutputDealID, 10, 64)
	require.NoError(t, err)
	require.NotZero(t, outDeal, "job: %+v", j)
	d := queryDeal(t, ln, outDeal)
	require.Equal(t, "DEAL_STATUS_ACTIVE", d.Deal.Status)
	require.ElementsMatch(t, j.executorsIn("AGREED"), committed(d))
	ln.WaitHeight(0, ln.Height(0)+22, 90*time.Second) // two proof windows
	d = queryDeal(t, ln, outDeal)
	require.Len(t, committed(d), 2)
	for _, r := range d.Replicas {
		require.Zero(t, r.Missed, "output replica %s missed a proof", r.Provider)
	}
	root, err := merkle.HashFromBytes(mustBase64(t, j.Job.Result.OutputRoot))
	require.NoError(t, err)
	// The output deal is alice's and private, like the job: its proofs go
	// to her.
	leaf, path, gotRoot, leaves, err := dataClient(t, ln, "alice").Proof(context.Background(), providerTarget(t, ln, d.Replicas[0].Provider), outDeal, 0)
	require.NoError(t, err)
	require.Equal(t, root, gotRoot)
	require.NoError(t, merkle.VerifyProof(root, leaves, 0, leaf, path))
	// The output deal is downloadable like any deal; it is stored as is.
	copyPath := filepath.Join(t.TempDir(), "output.tar")
	_, errOut, err = ln.Run("storage", "get", j.Job.OutputDealID, "-o", copyPath, "--from", "alice")
	require.NoError(t, err, errOut)

	// 5. Bad programs get a clear verdict the executors agree on, and
	// nobody hangs: every job ends within its phases.
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	require.NoError(t, os.WriteFile(bad, []byte("\x00asm\x01\x00\x00\x00 this is not a module"), 0o600))
	prog := strconv.FormatUint(tp, 10)
	in := strconv.FormatUint(input, 10)
	cases := []struct {
		name     string
		args     []string
		verdict  string
		exitCode uint32
	}{
		{"invalid wasm", []string{bad, "--input", in}, "invalid_program", 0},
		{"infinite loop", []string{"--program-deal", prog, "--arg", "loop", "--timeout", "5s", "--fuel", "1000000000000"}, "timeout", 0},
		// The deterministic budget: every executor stops at the same
		// instruction, whatever its speed.
		{"out of fuel", []string{"--program-deal", prog, "--arg", "loop", "--fuel", "200000000"}, "out_of_fuel", 0},
		{"over the memory limit", []string{"--program-deal", prog, "--arg", "alloc", "--arg", "256", "--memory", "64MiB"}, "exit", 2},
		{"non-zero exit", []string{"--program-deal", prog, "--arg", "exit", "--arg", "3"}, "exit", 3},
	}
	ids := make([]uint64, len(cases))
	// The first two now; the rest after the blind-results check, which
	// must run while the loop job is still open (a later submission may
	// wait for executor slots).
	for i, c := range cases[:2] {
		ids[i] = submit(t, ln, append(c.args, "--executors", "2")...)
	}
	// Blind results: while the infinite loop runs (until its 5 s timeout)
	// and while its executors commit and reveal, neither executor serves
	// its output to the other executor, nor to the owner. A lazy executor
	// has nothing to copy.
	loop := ids[1]
	var lj jobJSON
	require.Eventually(t, func() bool {
		lj = queryJob(t, ln, loop)
		return len(lj.Job.Executors) == 2
	}, time.Minute, 200*time.Millisecond, "the executors are drawn")
	a, b := lj.Job.Executors[0].Provider, lj.Job.Executors[1].Provider
	refused := func(err error, why string) {
		t.Helper()
		var apiErr *providerapi.APIError
		require.ErrorAs(t, err, &apiErr, why)
		// 404 before the run has a result, 403 job_not_settled after.
		require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, apiErr.Status, why)
	}
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		from, by := pair[0], pair[1]
		err := dataClient(t, ln, fmt.Sprintf("provider%d", providerIndex(t, ln, by))).
			JobOutput(context.Background(), providerTarget(t, ln, from), loop, io.Discard)
		refused(err, fmt.Sprintf("co-executor %s read %s's output of an open job", by, from))
		err = dataClient(t, ln, "alice").JobOutput(context.Background(), providerTarget(t, ln, from), loop, io.Discard)
		refused(err, "the owner read an output before the verdict")
	}
	for i, c := range cases[2:] {
		ids[i+2] = submit(t, ln, append(c.args, "--executors", "2")...)
	}
	for i, c := range cases {
		j := waitJob(t, ln, ids[i], 3*time.Minute)
		if i == 1 {
			// Settled: the owner gets it, the other executors do not.
			var buf bytes.Buffer
			require.NoError(t, dataClient(t, ln, "alice").JobOutput(context.Background(), providerTarget(t, ln, a), loop, &buf))
			require.NotZero(t, buf.Len())
			err := dataClient(t, ln, fmt.Sprintf("provider%d", providerIndex(t, ln, b))).
				JobOutput(context.Background(), providerTarget(t, ln, a), loop, io.Discard)
			require.ErrorContains(t, err, "403", "a private job's output went to a co-executor")
		}
		require.Equal(t, "JOB_STATUS_SUCCEEDED", j.Job.Status, "%s: %+v", c.name, j)
		require.Len(t, j.executorsIn("AGREED"), 2, c.name)
		require.Equal(t, c.verdict, j.Job.Result.Verdict, c.name)
		require.Equal(t, c.exitCode, j.Job.Result.ExitCode, c.name)
	}
	// 6. A private input, alice's own encrypted deal: three executors over
	// a two-replica input, so one at least fetches it from a holder as an
	// executor of the job (a signed ?job=N request). Bob cannot name it.
	private := strconv.FormatUint(putWith(t, ln, writeRandomFile(t, 100<<10), "--replicas", "2"), 10)
	_, errOut, err = ln.Run("compute", "run", "--program-deal", prog, "--arg", "env", "--input", private, "--from", "bob")
	require.Error(t, err, "bob ran a job over alice's private deal")
	require.Contains(t, errOut, "is private to")
	pj := waitJob(t, ln, submit(t, ln, "--program-deal", prog, "--arg", "env", "--input", private, "--executors", "3"), 3*time.Minute)
	require.Equal(t, "JOB_STATUS_SUCCEEDED", pj.Job.Status, "%+v\n%s", pj, ln.Logs())
	require.Len(t, pj.executorsIn("AGREED"), 3)

	ls := ln.MustRun("compute", "ls", "--from", "alice")
	require.Contains(t, ls, "exit/3")
	require.Contains(t, ls, "timeout/0")
	require.Contains(t, ls, "out_of_fuel/0")
	require.Contains(t, ls, "invalid_program/0")
	require.Regexp(t, `\(deal \d+\)`, ls, "the stored output's deal is listed")
	status := ln.MustRun("compute", "status", strconv.FormatUint(ids[4], 10))
	require.Contains(t, status, "verdict    exit, exit code 3")
	dir = filepath.Join(t.TempDir(), "exit3")
	_, errOut, err = ln.Run("compute", "output", strconv.FormatUint(ids[4], 10), "-o", dir, "--from", "alice")
	require.NoError(t, err, errOut)
	stdout, err := os.ReadFile(filepath.Join(dir, "stdout"))
	require.NoError(t, err)
	require.Equal(t, "exiting 3\n", string(stdout))
}

func restGet(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, body)
	require.NoError(t, json.Unmarshal(body, into), string(body))
}

// mustBase64 decodes bytes as the JSON codec renders them.
func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// restartProviderWithFault restarts provider i with a test-only fault.
func restartProviderWithFault(t *testing.T, ln *localnet.Net, i int, fault string) {
	t.Helper()
	stopProvider(t, ln, i)
	t.Setenv("STRATUS_PROVIDER_TEST_FAULT", fault)
	restartProvider(t, ln, i)
	require.NoError(t, os.Unsetenv("STRATUS_PROVIDER_TEST_FAULT"))
	waitAPI(t, ln, i)
}

func waitAPI(t *testing.T, ln *localnet.Net, i int) {
	t.Helper()
	ep := ln.ProviderURL(i)
	for range 100 {
		if _, err := dataClient(t, ln, "").Status(context.Background(), providerapi.Target{URL: ep}); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("provider%d does not answer after a restart\n%s", i, ln.Logs())
}

// TestComputeFaultsEndToEnd injects faults into real daemons: a provider
// that reveals a wrong result is outvoted and slashed, and one that never
// answers is replaced while the job still completes.
func TestComputeFaultsEndToEnd(t *testing.T) {
	buildPrograms(t)
	ln := localnet.Start(t, bins, 1, 4)
	text := writeText(t, 256<<10)
	// Two replicas: the chain draws executors from their holders first.
	input := putPublic(t, ln, text, 2)
	wc := putPublic(t, ln, programs.wordcount, 2)
	holders := committed(queryDeal(t, ln, input))
	require.Len(t, holders, 2)
	liar := providerIndex(t, ln, holders[0])

	// 2. The liar commits to and reveals a wrong root; the two honest
	// executors form the majority, and the liar is slashed.
	restartProviderWithFault(t, ln, liar, "wrong-result")
	stakeBefore := providerStake(t, ln, holders[0])
	id := submit(t, ln, "--program-deal", strconv.FormatUint(wc, 10), "--input", strconv.FormatUint(input, 10), "--executors", "3")
	j := waitJob(t, ln, id, 3*time.Minute)
	require.Equal(t, "JOB_STATUS_SUCCEEDED", j.Job.Status, "%+v", j)
	require.Equal(t, []string{holders[0]}, j.executorsIn("DISSENTED"), "%+v", j)
	require.Len(t, j.executorsIn("AGREED"), 2)
	require.Less(t, providerStake(t, ln, holders[0]), stakeBefore, "the liar is slashed")

	// 3. The same provider now never answers: it misses the commit, is
	// slashed and replaced, and the job completes with the replacement.
	restartProviderWithFault(t, ln, liar, "ignore-jobs")
	stakeBefore = providerStake(t, ln, holders[0])
	id = submit(t, ln, "--program-deal", strconv.FormatUint(wc, 10), "--input", strconv.FormatUint(input, 10), "--executors", "2")
	require.Eventually(t, func() bool {
		j = queryJob(t, ln, id)
		return len(j.Job.Executors) == 2
	}, time.Minute, 200*time.Millisecond, "the executors are drawn at the next block")
	require.Contains(t, []string{j.Job.Executors[0].Provider, j.Job.Executors[1].Provider}, holders[0], "input holders are preferred")
	j = waitJob(t, ln, id, 3*time.Minute)
	require.Equal(t, "JOB_STATUS_SUCCEEDED", j.Job.Status, "%+v", j)
	require.Equal(t, []string{holders[0]}, j.executorsIn("MISSED"), "%+v", j)
	require.Equal(t, uint32(1), j.Job.Retries)
	agreed := j.executorsIn("AGREED")
	require.Len(t, agreed, 2)
	require.NotContains(t, agreed, holders[0])
	require.True(t, j.Job.Executors[2].Replacement)
	require.Less(t, providerStake(t, ln, holders[0]), stakeBefore, "the no-show is slashed")
}
