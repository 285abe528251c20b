package app_test

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/testutil/apptest"
	computekeeper "github.com/stratusnet/stratus/x/compute/keeper"
	computetypes "github.com/stratusnet/stratus/x/compute/types"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

const (
	// computePrice is what registerProviderMsg sets; jobPrice is what the owner offers.
	computePrice = 1000
	jobPrice     = 1500
)

// computeScenario is a storage scenario with one stored input file.
type computeScenario struct {
	*scenario
	input uint64
}

func computeParams() computetypes.Params {
	p := computetypes.DefaultParams()
	p.CommitTimeout, p.RevealTimeout = 6, 4
	p.MaxRetries, p.MaxExecutors = 2, 4
	p.SlashMissed = sdkmath.LegacyNewDecWithPrec(1, 2)  // 1%
	p.SlashDissent = sdkmath.LegacyNewDecWithPrec(5, 2) // 5%
	// The scenarios check runs' prices exactly; TestComputeInputBytesArePaid
	// prices the inputs.
	p.InputPricePerMib = sdk.NewInt64Coin(app.BondDenom, 0)
	return p
}

func newComputeScenario(t *testing.T, providers int) *computeScenario {
	t.Helper()
	// Storage at 1ustrat per GiB per block earns nothing over a test's
	// blocks, so balances change only by what compute pays.
	prices := make([]int64, providers)
	for i := range prices {
		prices[i] = 1
	}
	s := &computeScenario{scenario: newScenario(t, prices...)}
	s.setComputeParams(t, computeParams())
	deal := s.createDeal(t, 1, 1000, 2)
	s.commitAll(t, deal.DealId)
	s.input = deal.DealId
	return s
}

func (s *computeScenario) setComputeParams(t *testing.T, p computetypes.Params) {
	t.Helper()
	res := s.c.DeliverTx(s.c.Authority, &computetypes.MsgUpdateParams{Authority: s.c.Authority.Address.String(), Params: p})
	require.Zero(t, res.Code, res.Log)
}

func (s *computeScenario) submitMsg(executors uint32) *computetypes.MsgSubmitJob {
	return &computetypes.MsgSubmitJob{
		Owner: s.user.Address.String(), Program: []byte("\x00asm\x01\x00\x00\x00 a test program"),
		Inputs: []uint64{s.input}, Args: []string{"-v"}, Env: []string{"LANG=C"},
		Limits:    computetypes.Limits{MemoryBytes: 64 << 20, TimeoutMs: 5000, MaxOutputBytes: 1 << 20, Fuel: 1 << 30},
		Executors: executors, Price: sdk.NewInt64Coin(app.BondDenom, jobPrice),
	}
}

// submit submits msg and lets the next block draw the executors, which
// it returns in the response's Executors.
func (s *computeScenario) submit(t *testing.T, msg *computetypes.MsgSubmitJob) computetypes.MsgSubmitJobResponse {
	t.Helper()
	resp := s.submitOnly(t, msg)
	s.c.NextBlock()
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_COMMITTING, j.Status, j.Reason)
	for _, e := range j.Executors {
		resp.Executors = append(resp.Executors, e.Provider)
	}
	return resp
}

// submitOnly submits msg: the job is ASSIGNING until the next block.
func (s *computeScenario) submitOnly(t *testing.T, msg *computetypes.MsgSubmitJob) computetypes.MsgSubmitJobResponse {
	t.Helper()
	res, _ := s.deliver(t, s.user, msg)
	require.Zero(t, res.Code, res.Log)
	var resp computetypes.MsgSubmitJobResponse
	decodeResponse(t, res, &resp)
	require.Empty(t, resp.Executors, "executors are drawn at the next block")
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_ASSIGNING, s.job(t, resp.JobId).Status)
	return resp
}

func (s *computeScenario) job(t *testing.T, id uint64) computetypes.Job {
	t.Helper()
	j, err := s.c.App.ComputeKeeper.GetJob(s.c.Ctx(), id)
	require.NoError(t, err)
	return j
}

// result is a made-up output; different tags give different roots.
func result(tag string) computetypes.Result {
	root := sha256.Sum256([]byte(tag))
	return computetypes.Result{OutputRoot: root[:], Size_: 4096, ExitCode: 0, Verdict: "ok"}
}

func salt(provider string) []byte {
	s := sha256.Sum256([]byte("salt/" + provider))
	return s[:]
}

func (s *computeScenario) commitMsg(provider string, job uint64, r computetypes.Result) *computetypes.MsgCommitResult {
	return &computetypes.MsgCommitResult{Provider: provider, JobId: job,
		Commitment: computetypes.Commitment(s.addr(provider), job, r, salt(provider))}
}

func (s *computeScenario) revealMsg(provider string, job uint64, r computetypes.Result) *computetypes.MsgRevealResult {
	return &computetypes.MsgRevealResult{Provider: provider, JobId: job, Result: r, Salt: salt(provider)}
}

func (s *computeScenario) commitResult(t *testing.T, provider string, job uint64, r computetypes.Result) {
	t.Helper()
	res, _ := s.deliver(t, s.acct(provider), s.commitMsg(provider, job, r))
	require.Zero(t, res.Code, res.Log)
}

func (s *computeScenario) reveal(t *testing.T, provider string, job uint64, r computetypes.Result) {
	t.Helper()
	res, _ := s.deliver(t, s.acct(provider), s.revealMsg(provider, job, r))
	require.Zero(t, res.Code, res.Log)
}

// executorsIn lists the job's executors in a status.
func executorsIn(j computetypes.Job, st computetypes.ExecutorStatus) []string {
	var out []string
	for _, e := range j.Executors {
		if e.Status == st {
			out = append(out, e.Provider)
		}
	}
	return out
}

// runUntilStatus advances block by block until the job reaches want.
func (s *computeScenario) runUntilStatus(t *testing.T, id uint64, want computetypes.JobStatus, maxBlocks int) {
	t.Helper()
	for range maxBlocks {
		if s.job(t, id).Status == want {
			return
		}
		s.proveBlock(t)
	}
	require.Equal(t, want, s.job(t, id).Status)
}

// The owner's escrow pays the agreeing executors their own price, the rest
// comes back, and the input's holder is among the executors (locality).
func TestComputeScenarioAgreementPaysMajority(t *testing.T) {
	s := newComputeScenario(t, 4)
	before := s.balances()
	holder := s.replica(t, s.input, 0).Provider

	resp := s.submit(t, s.submitMsg(2))
	require.Len(t, resp.Executors, 2)
	require.NotEqual(t, resp.Executors[0], resp.Executors[1])
	require.Contains(t, resp.Executors, holder, "the input's holder is preferred")
	require.Equal(t, sdkmath.NewInt(2*jobPrice), resp.Escrow.Amount)
	s.requireAccounted(t)

	out := result("output")
	s.commitResult(t, resp.Executors[0], resp.JobId, out)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_COMMITTING, s.job(t, resp.JobId).Status)
	// Reveals open only once every executor committed.
	res, _ := s.deliver(t, s.acct(resp.Executors[0]), s.revealMsg(resp.Executors[0], resp.JobId, out))
	require.Equal(t, computetypes.ErrWrongPhase.ABCICode(), res.Code, res.Log)
	s.commitResult(t, resp.Executors[1], resp.JobId, out)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_REVEALING, s.job(t, resp.JobId).Status)
	s.reveal(t, resp.Executors[0], resp.JobId, out)
	s.reveal(t, resp.Executors[1], resp.JobId, out)

	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status, j.Reason)
	require.True(t, j.Result.Equal(out))
	require.ElementsMatch(t, resp.Executors, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_AGREED))
	require.True(t, j.Escrow.IsZero())
	after := s.balances()
	for _, e := range resp.Executors {
		require.Equal(t, before[e].AddRaw(computePrice), after[e], "executor %s paid its price", e)
	}
	require.Equal(t, before[s.user.Address.String()].SubRaw(2*computePrice), after[s.user.Address.String()])
	s.requireAccounted(t)

	// Finished jobs drop their inline program and take no more messages.
	_, err := s.c.App.ComputeKeeper.Programs.Get(s.c.Ctx(), resp.JobId)
	require.Error(t, err)
	s.rejectsCompute(t, s.acct(resp.Executors[0]), s.commitMsg(resp.Executors[0], resp.JobId, out), computetypes.ErrJobClosed)
}

// The executors are drawn from the hash of the block after the submission.
// The owner, and the proposer of the block that carries the submission,
// cannot steer them: whatever the submitting block's hash, the same next
// block draws the same executors, and different next blocks draw different
// ones. Cancelling before the draw is free.
func TestComputeExecutorsAreDrawnFromTheNextBlock(t *testing.T) {
	draw := func(submitHash, nextHash string) []string {
		s := newComputeScenario(t, 6)
		s.c.NextHash = []byte(submitHash) // the block that carries the submission
		resp := s.submitOnly(t, s.submitMsg(2))
		require.Empty(t, s.job(t, resp.JobId).Executors)
		s.c.NextHash = []byte(nextHash)
		s.c.NextBlock()
		j := s.job(t, resp.JobId)
		require.Equal(t, computetypes.JobStatus_JOB_STATUS_COMMITTING, j.Status, j.Reason)
		require.Equal(t, s.c.Height+int64(computeParams().CommitTimeout), j.Deadline)
		var got []string
		for _, e := range j.Executors {
			require.Equal(t, s.c.Height, e.AssignedHeight)
			got = append(got, e.Provider)
		}
		s.requireAccounted(t)
		return got
	}
	first := draw("submitting block A", "next block 1")
	require.Len(t, first, 2)
	require.Equal(t, first, draw("submitting block B, ground by its proposer", "next block 1"),
		"the submitting block's hash does not matter")
	differs := false
	for i := 2; i <= 6 && !differs; i++ {
		differs = !slices.Equal(first, draw("submitting block A", fmt.Sprintf("next block %d", i)))
	}
	require.True(t, differs, "the next block's hash decides the draw")

	// Cancelled before the draw: nobody ran it, so nothing is charged.
	s := newComputeScenario(t, 4)
	before := s.balances()
	resp := s.submitOnly(t, s.submitMsg(2))
	res, _ := s.deliver(t, s.user, &computetypes.MsgCancelJob{Owner: s.user.Address.String(), JobId: resp.JobId})
	require.Zero(t, res.Code, res.Log)
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_CANCELLED, j.Status)
	require.Empty(t, j.Executors)
	require.Equal(t, before[s.user.Address.String()], s.balances()[s.user.Address.String()])
	s.requireAccounted(t)

	// Too few free providers at the draw (one priced itself out in the
	// block after the submission): the job waits for slots, and is drawn
	// once a provider is back.
	s = newComputeScenario(t, 2)
	before = s.balances()
	price := func(amount int64) {
		p := providerOf(t, s.c, s.providers[0].Address)
		res, _ := s.deliver(t, s.providers[0], &providertypes.MsgUpdateProvider{
			Provider: p.Address, Moniker: p.Moniker, Endpoint: p.Endpoint, StorageCapacity: p.StorageCapacity,
			ComputeSlots: p.ComputeSlots, StoragePrice: p.StoragePrice, ComputePrice: sdk.NewInt64Coin(app.BondDenom, amount),
		})
		require.Zero(t, res.Code, res.Log)
	}
	resp = s.submitOnly(t, s.submitMsg(2))
	price(jobPrice + 1) // the draw at the end of this block finds one provider
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_ASSIGNING, s.job(t, resp.JobId).Status)
	price(computePrice)
	j = s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_COMMITTING, j.Status, j.Reason)
	require.Len(t, j.Executors, 2)
	s.requireAccounted(t)

	// Nobody free for commit_timeout blocks: the job fails, refunded in full.
	for _, e := range j.Executors { // the first job holds the slots until it ends
		s.commitResult(t, e.Provider, resp.JobId, result("x"))
	}
	for _, e := range j.Executors {
		s.reveal(t, e.Provider, resp.JobId, result("x"))
	}
	before = s.balances()
	waiting := s.submitOnly(t, s.submitMsg(2))
	price(jobPrice + 1) // and stays out
	for range computeParams().CommitTimeout - 1 {
		require.Equal(t, computetypes.JobStatus_JOB_STATUS_ASSIGNING, s.job(t, waiting.JobId).Status)
		s.c.NextBlock()
	}
	j = s.job(t, waiting.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_FAILED, j.Status)
	require.Contains(t, j.Reason, "within 6 blocks", j.Reason)
	require.Equal(t, before[s.user.Address.String()], s.balances()[s.user.Address.String()])
	s.requireAccounted(t)
}

// Fetching inputs is paid: each agreeing executor gets input_price_per_mib
// per started MiB of the job's input and program deals on top of its
// price, escrowed at submit; a dissenter gets neither.
func TestComputeInputBytesArePaid(t *testing.T) {
	s := newComputeScenario(t, 4)
	p := computeParams()
	p.InputPricePerMib = sdk.NewInt64Coin(app.BondDenom, 7)
	s.setComputeParams(t, p)
	big := s.createDealOfSize(t, 3<<20+1, 1, 1000, 2) // 3 MiB and a byte
	s.commitAll(t, big.DealId)
	before := s.balances()

	msg := s.submitMsg(3)
	msg.Inputs = []uint64{s.input, big.DealId} // 9,500 bytes + 3 MiB + 1: 4 started MiB
	resp := s.submit(t, msg)
	fee := int64(4 * 7)
	require.Equal(t, sdkmath.NewInt(3*(jobPrice+fee)), resp.Escrow.Amount)
	require.Equal(t, sdk.NewInt64Coin(app.BondDenom, fee), s.job(t, resp.JobId).InputFee)
	s.requireAccounted(t)

	liar := resp.Executors[2]
	stake := s.stake(t, s.addr(liar))
	for _, phase := range []func(*testing.T, string, uint64, computetypes.Result){s.commitResult, s.reveal} {
		for i, e := range resp.Executors {
			r := result("true")
			if i == 2 {
				r = result("lie")
			}
			phase(t, e, resp.JobId, r)
		}
	}
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status, j.Reason)
	after := s.balances()
	for _, e := range resp.Executors[:2] {
		require.Equal(t, before[e].AddRaw(computePrice+fee), after[e], "executor %s paid its price and the input fee", e)
	}
	require.Equal(t, before[liar], after[liar], "the dissenter is not paid")
	require.Equal(t, before[s.user.Address.String()].SubRaw(2*(computePrice+fee)), after[s.user.Address.String()])
	burned := percentOf(stake, 5)
	s.burned = s.burned.Add(burned)
	s.requireAccounted(t)

	// A price in another denom than escrows is refused: every job would fail.
	p.InputPricePerMib = sdk.NewInt64Coin("uatom", 1)
	res := s.c.DeliverTx(s.c.Authority, &computetypes.MsgUpdateParams{Authority: s.c.Authority.Address.String(), Params: p})
	require.Equal(t, computetypes.ErrInvalidParams.ABCICode(), res.Code, res.Log)
	got, err := s.c.App.ComputeKeeper.Params.Get(s.c.Ctx())
	require.NoError(t, err)
	require.Equal(t, int64(7), got.InputPricePerMib.Amount.Int64(), "nothing changed")
}

// A dissenter among three is slashed and unpaid; the two who agree are paid.
func TestComputeScenarioDissenterSlashed(t *testing.T) {
	s := newComputeScenario(t, 4)
	resp := s.submit(t, s.submitMsg(3))
	liar := resp.Executors[2]
	stake := s.stake(t, s.addr(liar))
	for i, e := range resp.Executors {
		r := result("true")
		if i == 2 {
			r = result("lie")
		}
		s.commitResult(t, e, resp.JobId, r)
	}
	for i, e := range resp.Executors {
		r := result("true")
		if i == 2 {
			r = result("lie")
		}
		s.reveal(t, e, resp.JobId, r)
	}
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status)
	require.Equal(t, []string{liar}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_DISSENTED))
	burned := percentOf(stake, 5)
	require.Equal(t, stake.Sub(burned), s.stake(t, s.addr(liar)))
	s.burned = s.burned.Add(burned)
	s.requireAccounted(t)
}

// An executor that never commits is slashed and replaced by a provider the
// job never had; the job completes with the replacement.
func TestComputeScenarioNoShowReplaced(t *testing.T) {
	s := newComputeScenario(t, 4)
	resp := s.submit(t, s.submitMsg(2))
	silent := resp.Executors[1]
	stake := s.stake(t, s.addr(silent))
	out := result("output")
	s.commitResult(t, resp.Executors[0], resp.JobId, out)

	j := s.job(t, resp.JobId)
	s.advanceTo(t, j.Deadline)
	j = s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_COMMITTING, j.Status)
	require.Equal(t, []string{silent}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_MISSED))
	require.Equal(t, uint32(1), j.Retries)
	require.Len(t, j.Executors, 3)
	repl := j.Executors[2]
	require.True(t, repl.Replacement)
	require.NotContains(t, resp.Executors, repl.Provider)
	burned := percentOf(stake, 1)
	require.Equal(t, stake.Sub(burned), s.stake(t, s.addr(silent)))
	s.burned = s.burned.Add(burned)
	s.requireAccounted(t)

	s.commitResult(t, repl.Provider, resp.JobId, out)
	s.reveal(t, resp.Executors[0], resp.JobId, out)
	s.reveal(t, repl.Provider, resp.JobId, out)
	j = s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status)
	require.ElementsMatch(t, []string{resp.Executors[0], repl.Provider}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_AGREED))
	s.requireAccounted(t)
}

// A 1–1 split adds a third executor, whose result decides. The third was
// assigned after both results were public, so the outvoted executor is not
// provably wrong: it is released unpaid, not slashed.
func TestComputeScenarioSplitAddsExecutor(t *testing.T) {
	s := newComputeScenario(t, 4)
	stakeA := sdkmath.NewInt(providerStake)
	resp := s.submit(t, s.submitMsg(2))
	a, b := resp.Executors[0], resp.Executors[1]
	s.commitResult(t, a, resp.JobId, result("A"))
	s.commitResult(t, b, resp.JobId, result("B"))
	s.reveal(t, a, resp.JobId, result("A"))
	s.reveal(t, b, resp.JobId, result("B"))
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_COMMITTING, j.Status)
	require.Equal(t, uint32(3), j.Target)
	require.Len(t, j.Executors, 3)
	third := j.Executors[2].Provider
	require.True(t, j.Executors[2].Late)
	require.False(t, j.Executors[0].Late)
	s.commitResult(t, third, resp.JobId, result("B"))
	s.reveal(t, third, resp.JobId, result("B"))
	j = s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status)
	require.True(t, j.Result.Equal(result("B")))
	require.ElementsMatch(t, []string{b, third}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_AGREED))
	require.Equal(t, []string{a}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_RELEASED))
	require.Empty(t, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_DISSENTED))
	require.Equal(t, stakeA, s.stake(t, s.addr(a)))
	s.requireAccounted(t)
}

// Splits that grow the job past the requested count leave more winners than
// the escrow pays at full price: they share it in proportion, and the
// executors' pay never exceeds what the owner escrowed.
func TestComputeScenarioGrownJobSharesTheEscrow(t *testing.T) {
	s := newComputeScenario(t, 5)
	p := computeParams()
	p.MaxExecutors = 5
	s.setComputeParams(t, p)
	before := s.balances()
	msg := s.submitMsg(2)
	msg.Price = sdk.NewInt64Coin(app.BondDenom, computePrice) // escrow 2 × 1000
	resp := s.submit(t, msg)
	step := func(provider, tag string) {
		s.commitResult(t, provider, resp.JobId, result(tag))
		s.reveal(t, provider, resp.JobId, result(tag))
	}
	last := func() string {
		j := s.job(t, resp.JobId)
		return j.Executors[len(j.Executors)-1].Provider
	}
	a, b := resp.Executors[0], resp.Executors[1]
	s.commitResult(t, a, resp.JobId, result("A"))
	s.commitResult(t, b, resp.JobId, result("B"))
	s.reveal(t, a, resp.JobId, result("A"))
	s.reveal(t, b, resp.JobId, result("B"))
	c := last()
	step(c, "C") // three ways: grow to 4
	d := last()
	step(d, "A") // A has 2 of 4: grow to 5
	e := last()
	step(e, "A") // A has 3 of 5
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status, j.Reason)
	require.Equal(t, uint32(5), j.Target)
	require.ElementsMatch(t, []string{a, d, e}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_AGREED))
	// Only a was blind among the winners: b and c are not provably wrong.
	require.ElementsMatch(t, []string{b, c}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_RELEASED))
	after := s.balances()
	share := sdkmath.NewInt(computePrice * 2 * computePrice / (3 * computePrice)) // 666
	for _, w := range []string{a, d, e} {
		require.Equal(t, before[w].Add(share), after[w], "winner %s gets its share", w)
	}
	for _, l := range []string{b, c} {
		require.Equal(t, before[l], after[l], "%s is neither paid nor slashed", l)
	}
	owner := s.user.Address.String()
	require.Equal(t, before[owner].Sub(share.MulRaw(3)), after[owner], "the owner gets back what the shares leave")
	s.requireAccounted(t)
}

// With no room to add executors, a split fails the job: everything is
// refunded and nobody is slashed, since nobody is shown wrong.
func TestComputeScenarioNoMajorityFailsAndRefunds(t *testing.T) {
	s := newComputeScenario(t, 4)
	p := computeParams()
	p.MaxExecutors = 2
	s.setComputeParams(t, p)
	before := s.balances()
	resp := s.submit(t, s.submitMsg(2))
	a, b := resp.Executors[0], resp.Executors[1]
	s.commitResult(t, a, resp.JobId, result("A"))
	s.commitResult(t, b, resp.JobId, result("B"))
	s.reveal(t, a, resp.JobId, result("A"))
	s.reveal(t, b, resp.JobId, result("B"))
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_FAILED, j.Status)
	require.Contains(t, j.Reason, "no majority")
	require.Equal(t, before, s.balances(), "a failed job costs the owner nothing and pays nobody")
	require.ElementsMatch(t, resp.Executors, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_RELEASED))
	s.requireAccounted(t)
}

// Nobody answers and retries run out: the job fails and is refunded, and
// nobody is slashed. A job nobody could run (its inputs' holders taken
// offline by an owner who controls them) must not cost honest executors:
// that attack cost one job's escrow, all refunded, and burned 1% of the
// stake of every executor it drew.
func TestComputeScenarioAllSilentFails(t *testing.T) {
	s := newComputeScenario(t, 4)
	p := computeParams()
	p.MaxRetries = 0
	s.setComputeParams(t, p)
	userBefore := balanceOf(s.c, s.user.Address)
	resp := s.submit(t, s.submitMsg(2))
	s.runUntilStatus(t, resp.JobId, computetypes.JobStatus_JOB_STATUS_FAILED, 20)
	require.Equal(t, userBefore, balanceOf(s.c, s.user.Address))
	for _, e := range resp.Executors {
		require.Equal(t, sdkmath.NewInt(providerStake), s.stake(t, s.addr(e)), "nobody committed: nobody is slashed")
	}
	require.ElementsMatch(t, resp.Executors, executorsIn(s.job(t, resp.JobId), computetypes.ExecutorStatus_EXECUTOR_STATUS_MISSED))
	s.requireAccounted(t)
}

// An executor whose run hit a limit (here the wall-clock timeout) while the
// others finished is outvoted but not slashed: near a limit an honest,
// slower executor can stop where the others did not. It is not paid.
func TestComputeResourceLimitedMinorityNotSlashed(t *testing.T) {
	s := newComputeScenario(t, 4)
	resp := s.submit(t, s.submitMsg(3))
	slow := resp.Executors[2]
	before := balanceOf(s.c, s.addr(slow))
	timeout := computetypes.Result{OutputRoot: result("timeout").OutputRoot, Size_: 4096, Verdict: "timeout"}
	for i, e := range resp.Executors {
		r := result("ok")
		if i == 2 {
			r = timeout
		}
		s.commitResult(t, e, resp.JobId, r)
	}
	for i, e := range resp.Executors {
		r := result("ok")
		if i == 2 {
			r = timeout
		}
		s.reveal(t, e, resp.JobId, r)
	}
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status, j.Reason)
	require.Equal(t, []string{slow}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_RELEASED))
	require.Equal(t, sdkmath.NewInt(providerStake), s.stake(t, s.addr(slow)))
	require.Equal(t, before, balanceOf(s.c, s.addr(slow)), "not paid either")
	s.requireAccounted(t)
}

// A lazy executor that skips the run and claims out_of_fuel is not excused
// as a resource limit: fuel is deterministic, so the claim is dissent.
func TestComputeOutOfFuelMinorityIsSlashed(t *testing.T) {
	s := newComputeScenario(t, 4)
	resp := s.submit(t, s.submitMsg(3))
	lazy := resp.Executors[2]
	before := balanceOf(s.c, s.addr(lazy))
	stake := s.stake(t, s.addr(lazy))
	claim := computetypes.Result{OutputRoot: result("out_of_fuel").OutputRoot, Size_: 4096, Verdict: "out_of_fuel"}
	for _, phase := range []func(*testing.T, string, uint64, computetypes.Result){s.commitResult, s.reveal} {
		for i, e := range resp.Executors {
			r := result("ok")
			if i == 2 {
				r = claim
			}
			phase(t, e, resp.JobId, r)
		}
	}
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status, j.Reason)
	require.Equal(t, []string{lazy}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_DISSENTED))
	burned := percentOf(stake, 5)
	require.Equal(t, stake.Sub(burned), s.stake(t, s.addr(lazy)))
	require.Equal(t, before, balanceOf(s.c, s.addr(lazy)), "not paid")
	s.burned = s.burned.Add(burned)
	s.requireAccounted(t)
}

// Cancel before any commit refunds the escrow minus cancel_fee, which the
// assigned executors share (an owner must not get a result from one of them
// and cancel for free); after a commit it is refused.
func TestComputeScenarioCancel(t *testing.T) {
	s := newComputeScenario(t, 4)
	userBefore := balanceOf(s.c, s.user.Address)
	resp := s.submit(t, s.submitMsg(2))
	execBefore := map[string]sdkmath.Int{}
	for _, e := range resp.Executors {
		execBefore[e] = balanceOf(s.c, s.addr(e))
	}
	res, _ := s.deliver(t, s.user, &computetypes.MsgCancelJob{Owner: s.user.Address.String(), JobId: resp.JobId})
	require.Zero(t, res.Code, res.Log)
	var out computetypes.MsgCancelJobResponse
	decodeResponse(t, res, &out)
	fee := computeParams().CancelFee.Amount
	require.Equal(t, fee, out.Fee.Amount)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_CANCELLED, s.job(t, resp.JobId).Status)
	require.Equal(t, userBefore.Sub(fee), balanceOf(s.c, s.user.Address), "the escrow comes back minus the cancel fee")
	for _, e := range resp.Executors {
		require.Equal(t, fee.QuoRaw(2), balanceOf(s.c, s.addr(e)).Sub(execBefore[e]), "the assigned executors share the fee")
	}
	s.requireAccounted(t)

	resp = s.submit(t, s.submitMsg(2))
	s.commitResult(t, resp.Executors[0], resp.JobId, result("x"))
	s.rejectsCompute(t, s.user, &computetypes.MsgCancelJob{Owner: s.user.Address.String(), JobId: resp.JobId}, computetypes.ErrCannotCancel)
	s.rejectsCompute(t, s.other, &computetypes.MsgCancelJob{Owner: s.other.Address.String(), JobId: resp.JobId}, computetypes.ErrNotJobOwner)
	s.requireAccounted(t)
}

// store_output makes the agreed output a deal owned by the job's owner,
// with the winners as committed replicas that are challenged like any other.
func TestComputeScenarioStoreOutput(t *testing.T) {
	s := newComputeScenario(t, 4)
	msg := s.submitMsg(2)
	msg.StoreOutput = &computetypes.StoreOutput{Replicas: 3, DurationBlocks: 500, MaxPrice: decCoin(2)}
	resp := s.submit(t, msg)
	archive := randomFile(t, 5000)
	root, err := merkle.Root(archive, 1024)
	require.NoError(t, err)
	out := computetypes.Result{OutputRoot: root[:], Size_: uint64(len(archive)), Verdict: "ok"}
	for _, e := range resp.Executors {
		s.commitResult(t, e, resp.JobId, out)
	}
	for _, e := range resp.Executors {
		s.reveal(t, e, resp.JobId, out)
	}
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status, j.Reason)
	require.NotZero(t, j.OutputDealId, j.Reason)
	d := s.deal(t, j.OutputDealId)
	require.Equal(t, s.user.Address.String(), d.Owner)
	require.Equal(t, root[:], d.Root)
	s.files[d.Id] = archive
	for slot, e := range resp.Executors {
		r := s.replica(t, d.Id, uint32(slot))
		require.Equal(t, e, r.Provider)
		require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED, r.Status)
	}
	third := s.replica(t, d.Id, 2)
	require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED, third.Status)
	require.Equal(t, resp.Executors[0], third.Source, "the third replica fetches from a winner")
	s.commit(t, third.Provider, d.Id)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, s.deal(t, d.Id).Status)
	// The winners' replicas are challenged and proven in the next windows.
	proofs, _ := s.advanceTo(t, s.c.Height+12)
	require.Positive(t, proofs)
	s.requireAccounted(t)
}

// store_output terms are checked at submit for the largest archive the
// limits allow, metadata included: an output limit at max_deal_size leaves
// no room for the archive's headers, so it is refused up front rather than
// paid for and then dropped.
func TestComputeStoreOutputTermsCoverTheArchive(t *testing.T) {
	s := newComputeScenario(t, 4)
	sp, err := s.c.App.StorageKeeper.Params.Get(s.c.Ctx())
	require.NoError(t, err)
	sp.MaxDealSize = computetypes.MaxArchiveOverhead + 1<<20
	s.setParams(t, sp)
	msg := s.submitMsg(2)
	msg.Limits.MaxOutputBytes = 1<<20 + 1 // fits a deal; its archive does not
	msg.StoreOutput = &computetypes.StoreOutput{Replicas: 1, DurationBlocks: 100, MaxPrice: decCoin(2)}
	s.rejectsCompute(t, s.user, msg, computetypes.ErrInvalidStoreOutput)
	msg.Limits.MaxOutputBytes = 1 << 20
	s.submit(t, msg)
	s.requireAccounted(t)
}

// An owner who cannot pay for the output deal still gets the job: the
// output is simply not stored, and the job says why.
func TestComputeScenarioStoreOutputUnaffordable(t *testing.T) {
	s := newComputeScenario(t, 4)
	msg := s.submitMsg(2)
	msg.StoreOutput = &computetypes.StoreOutput{Replicas: 2, DurationBlocks: 1_000_000, MaxPrice: decCoin(1_000_000_000_000_000)}
	resp := s.submit(t, msg)
	out := result("output")
	for _, e := range resp.Executors {
		s.commitResult(t, e, resp.JobId, out)
	}
	for _, e := range resp.Executors {
		s.reveal(t, e, resp.JobId, out)
	}
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status)
	require.Zero(t, j.OutputDealId)
	require.Contains(t, j.Reason, "output not stored")
	s.requireAccounted(t)
}

// callComputeMsgServer runs msg through x/compute's message server.
func callComputeMsgServer(ctx sdk.Context, ms computetypes.MsgServer, msg sdk.Msg) error {
	var err error
	switch m := msg.(type) {
	case *computetypes.MsgSubmitJob:
		_, err = ms.SubmitJob(ctx, m)
	case *computetypes.MsgCommitResult:
		_, err = ms.CommitResult(ctx, m)
	case *computetypes.MsgRevealResult:
		_, err = ms.RevealResult(ctx, m)
	case *computetypes.MsgCancelJob:
		_, err = ms.CancelJob(ctx, m)
	case *computetypes.MsgUpdateParams:
		_, err = ms.UpdateParams(ctx, m)
	default:
		panic(fmt.Sprintf("not a compute msg: %T", msg))
	}
	return err
}

// rejectsCompute is rejects for compute messages; it also compares the
// compute module's state.
func (s *computeScenario) rejectsCompute(t *testing.T, signer apptest.Account, msg sdk.Msg, want *errorsmod.Error) {
	t.Helper()
	before, err := s.c.App.ComputeKeeper.ExportGenesis(s.c.Ctx())
	require.NoError(t, err)
	s.rejects(t, signer, msg, want)
	after, err := s.c.App.ComputeKeeper.ExportGenesis(s.c.Ctx())
	require.NoError(t, err)
	require.Equal(t, before, after, "a rejected %T changed the compute state", msg)
}

// Every compute message's bad inputs get typed errors and change nothing.
func TestComputeBadInputsChangeNothing(t *testing.T) {
	s := newComputeScenario(t, 4)
	p := computeParams()
	p.CommitTimeout, p.RevealTimeout = 1000, 1000
	s.setComputeParams(t, p)
	// rejects runs blocks without proofs: let the input's first challenge
	// be answered, then open a window too long to close during the test.
	sp := scenarioParams()
	sp.ProofWindow = 100_000
	s.setParams(t, sp)
	for {
		w, err := s.c.App.StorageKeeper.CurrentWindow(s.c.Ctx())
		require.NoError(t, err)
		if w.CloseHeight-w.OpenHeight == int64(sp.ProofWindow) && w.OpenHeight < s.c.Height {
			break // the long window is open and its samples answered
		}
		s.proveBlock(t)
	}
	user := s.user.Address.String()
	edit := func(f func(m *computetypes.MsgSubmitJob)) *computetypes.MsgSubmitJob {
		m := s.submitMsg(2)
		f(m)
		return m
	}
	submitCases := []struct {
		name string
		msg  *computetypes.MsgSubmitJob
		want *errorsmod.Error
	}{
		{"no program", edit(func(m *computetypes.MsgSubmitJob) { m.Program = nil }), computetypes.ErrInvalidProgram},
		{"inline and deal", edit(func(m *computetypes.MsgSubmitJob) { m.ProgramDealId = s.input }), computetypes.ErrInvalidProgram},
		{"program too large", edit(func(m *computetypes.MsgSubmitJob) { m.Program = make([]byte, p.MaxInlineProgram+1) }), computetypes.ErrInvalidProgram},
		{"program deal root wrong", edit(func(m *computetypes.MsgSubmitJob) {
			m.Program, m.ProgramDealId, m.ProgramRoot = nil, s.input, make([]byte, 32)
		}), computetypes.ErrInvalidProgram},
		{"unknown input", edit(func(m *computetypes.MsgSubmitJob) { m.Inputs = []uint64{999} }), computetypes.ErrInvalidInputs},
		{"duplicate input", edit(func(m *computetypes.MsgSubmitJob) { m.Inputs = []uint64{s.input, s.input} }), computetypes.ErrInvalidInputs},
		{"bad env", edit(func(m *computetypes.MsgSubmitJob) { m.Env = []string{"NOEQUALS"} }), computetypes.ErrInvalidArgs},
		{"zero executors", edit(func(m *computetypes.MsgSubmitJob) { m.Executors = 0 }), computetypes.ErrInvalidExecutors},
		{"above max executors", edit(func(m *computetypes.MsgSubmitJob) { m.Executors = p.MaxExecutors + 1 }), computetypes.ErrInvalidExecutors},
		{"more executors than providers", edit(func(m *computetypes.MsgSubmitJob) { m.Executors = 4; m.Price.Amount = sdkmath.NewInt(computePrice - 1) }), computetypes.ErrNoProviders},
		{"wrong denom", edit(func(m *computetypes.MsgSubmitJob) { m.Price = sdk.NewInt64Coin("uatom", jobPrice) }), computetypes.ErrInvalidPrice},
		{"zero price", edit(func(m *computetypes.MsgSubmitJob) { m.Price.Amount = sdkmath.ZeroInt() }), computetypes.ErrInvalidPrice},
		{"memory over the max", edit(func(m *computetypes.MsgSubmitJob) { m.Limits.MemoryBytes = p.MaxLimits.MemoryBytes + 1 }), computetypes.ErrInvalidLimits},
		{"no timeout", edit(func(m *computetypes.MsgSubmitJob) { m.Limits.TimeoutMs = 0 }), computetypes.ErrInvalidLimits},
		{"fuel over the max", edit(func(m *computetypes.MsgSubmitJob) { m.Limits.Fuel = p.MaxLimits.Fuel + 1 }), computetypes.ErrInvalidLimits},
		{"cannot pay", edit(func(m *computetypes.MsgSubmitJob) { m.Price.Amount = sdkmath.NewInt(1 << 60) }), computetypes.ErrInsufficientFunds},
		{"store_output without replicas", edit(func(m *computetypes.MsgSubmitJob) {
			m.StoreOutput = &computetypes.StoreOutput{DurationBlocks: 10, MaxPrice: decCoin(1)}
		}), computetypes.ErrInvalidStoreOutput},
		{"store_output price that overflows the escrow", edit(func(m *computetypes.MsgSubmitJob) {
			huge, ok := sdkmath.NewIntFromString("1" + strings.Repeat("0", 72))
			require.True(t, ok)
			m.StoreOutput = &computetypes.StoreOutput{Replicas: 1, DurationBlocks: 1000, MaxPrice: sdk.NewDecCoin(app.BondDenom, huge)}
		}), computetypes.ErrInvalidStoreOutput},
		{"store_output above max_replicas", edit(func(m *computetypes.MsgSubmitJob) {
			m.StoreOutput = &computetypes.StoreOutput{Replicas: 100, DurationBlocks: 1000, MaxPrice: decCoin(1)}
		}), computetypes.ErrInvalidStoreOutput},
		{"store_output too short", edit(func(m *computetypes.MsgSubmitJob) {
			m.StoreOutput = &computetypes.StoreOutput{Replicas: 1, DurationBlocks: 1, MaxPrice: decCoin(1)}
		}), computetypes.ErrInvalidStoreOutput},
		{"absurd price", edit(func(m *computetypes.MsgSubmitJob) {
			huge, ok := sdkmath.NewIntFromString("1" + strings.Repeat("0", 60))
			require.True(t, ok)
			m.Price.Amount = huge
		}), computetypes.ErrInvalidPrice},
	}
	for _, tc := range submitCases {
		t.Run(tc.name, func(t *testing.T) { s.rejectsCompute(t, s.user, tc.msg, tc.want) })
	}

	resp := s.submit(t, s.submitMsg(2))
	a, b := resp.Executors[0], resp.Executors[1]
	var idle string
	for _, pr := range s.providers {
		if pr.Address.String() != a && pr.Address.String() != b {
			idle = pr.Address.String()
		}
	}
	out := result("out")
	t.Run("commit by a non-executor", func(t *testing.T) {
		s.rejectsCompute(t, s.acct(idle), s.commitMsg(idle, resp.JobId, out), computetypes.ErrNotExecutor)
	})
	t.Run("commit to an unknown job", func(t *testing.T) {
		s.rejectsCompute(t, s.acct(a), s.commitMsg(a, 999, out), computetypes.ErrJobNotFound)
	})
	t.Run("short commitment", func(t *testing.T) {
		m := s.commitMsg(a, resp.JobId, out)
		m.Commitment = m.Commitment[:31]
		s.rejectsCompute(t, s.acct(a), m, computetypes.ErrInvalidCommitment)
	})
	t.Run("reveal while committing", func(t *testing.T) {
		s.rejectsCompute(t, s.acct(a), s.revealMsg(a, resp.JobId, out), computetypes.ErrWrongPhase)
	})
	s.commitResult(t, a, resp.JobId, out)
	t.Run("double commit", func(t *testing.T) {
		s.rejectsCompute(t, s.acct(a), s.commitMsg(a, resp.JobId, out), computetypes.ErrAlreadyCommitted)
	})
	t.Run("cancel by another account", func(t *testing.T) {
		s.rejectsCompute(t, s.other, &computetypes.MsgCancelJob{Owner: s.other.Address.String(), JobId: resp.JobId}, computetypes.ErrNotJobOwner)
	})
	s.commitResult(t, b, resp.JobId, out)
	t.Run("reveal of another result", func(t *testing.T) {
		s.rejectsCompute(t, s.acct(a), s.revealMsg(a, resp.JobId, result("other")), computetypes.ErrCommitmentMismatch)
	})
	t.Run("reveal with another salt", func(t *testing.T) {
		m := s.revealMsg(a, resp.JobId, out)
		m.Salt = salt("someone else")
		s.rejectsCompute(t, s.acct(a), m, computetypes.ErrCommitmentMismatch)
	})
	t.Run("reveal of b's commitment by a", func(t *testing.T) {
		m := s.revealMsg(a, resp.JobId, out)
		m.Salt = salt(b)
		s.rejectsCompute(t, s.acct(a), m, computetypes.ErrCommitmentMismatch)
	})
	t.Run("bad verdict", func(t *testing.T) {
		m := s.revealMsg(a, resp.JobId, out)
		m.Result.Verdict = "OK!"
		s.rejectsCompute(t, s.acct(a), m, computetypes.ErrInvalidResult)
	})
	t.Run("short salt", func(t *testing.T) {
		m := s.revealMsg(a, resp.JobId, out)
		m.Salt = m.Salt[:8]
		s.rejectsCompute(t, s.acct(a), m, computetypes.ErrInvalidResult)
	})
	t.Run("params by a non-authority", func(t *testing.T) {
		ms := computekeeper.NewMsgServerImpl(s.c.App.ComputeKeeper)
		err := s.c.Exec(func(ctx sdk.Context) error {
			return callComputeMsgServer(ctx, ms, &computetypes.MsgUpdateParams{Authority: user, Params: p})
		})
		require.Error(t, err)
	})
	s.requireAccounted(t)
}

// An open job survives export and re-import, indexes included.
func TestComputeGenesisRoundTrip(t *testing.T) {
	s := newComputeScenario(t, 4)
	resp := s.submit(t, s.submitMsg(2))
	s.commitResult(t, resp.Executors[0], resp.JobId, result("x"))
	_, reimported := s.c.Reimport()
	ctx := reimported.NewContextLegacy(true, s.c.Ctx().BlockHeader())
	gsA, err := s.c.App.ComputeKeeper.ExportGenesis(s.c.Ctx())
	require.NoError(t, err)
	gsB, err := reimported.ComputeKeeper.ExportGenesis(ctx)
	require.NoError(t, err)
	require.Equal(t, gsA, gsB)
	require.Len(t, gsB.Programs, 1)
	has, err := reimported.ComputeKeeper.OpenByProvider.Has(ctx, collections.Join(s.addr(resp.Executors[1]), resp.JobId))
	require.NoError(t, err)
	require.True(t, has, "the open-job index is rebuilt on import")
	require.NoError(t, reimported.ComputeKeeper.EscrowInvariant(ctx))

	// A job exported while ASSIGNING is drawn in the first block after import.
	waiting := s.submitOnly(t, s.submitMsg(2))
	_, reimported = s.c.Reimport()
	ctx = reimported.NewContextLegacy(true, s.c.Ctx().BlockHeader())
	j, err := reimported.ComputeKeeper.GetJob(ctx, waiting.JobId)
	require.NoError(t, err)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_COMMITTING, j.Status, j.Reason)
	require.Len(t, j.Executors, 2)
	require.NoError(t, reimported.ComputeKeeper.EscrowInvariant(ctx))
}

// Revoking an executor's PROVIDER role before it commits takes it off the
// job without slashing and replaces it; one that has committed may still reveal.
func TestComputeScenarioRevokedExecutorReplaced(t *testing.T) {
	s := newComputeScenario(t, 4)
	holder := s.replica(t, s.input, 0).Provider
	resp := s.submit(t, s.submitMsg(2))
	var gone, stays string
	for _, e := range resp.Executors {
		if e == holder {
			stays = e
		} else {
			gone = e
		}
	}
	require.NotEmpty(t, gone)
	require.NotEmpty(t, stays)
	stake := s.stake(t, s.addr(gone))
	out := result("out")
	s.commitResult(t, stays, resp.JobId, out)

	res, _ := s.deliver(t, s.c.Authority, &membershiptypes.MsgRevokeRole{
		Authority: s.c.Authority.Address.String(), Address: gone,
		Role: membershiptypes.Role_ROLE_PROVIDER, Reason: "left the network",
	})
	require.Zero(t, res.Code, res.Log)
	j := s.job(t, resp.JobId)
	require.Equal(t, []string{gone}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_MISSED))
	require.Equal(t, stake, s.stake(t, s.addr(gone)), "leaving is not a fault")
	require.Len(t, j.Executors, 3)
	repl := j.Executors[2].Provider
	require.NotEqual(t, gone, repl)
	require.True(t, j.Executors[2].Replacement)
	s.requireAccounted(t)

	s.commitResult(t, repl, resp.JobId, out)
	s.reveal(t, stays, resp.JobId, out)
	s.reveal(t, repl, resp.JobId, out)
	j = s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status, j.Reason)
	require.ElementsMatch(t, []string{stays, repl}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_AGREED))
	s.requireAccounted(t)
}

// A provider that unbonds while a job it committed to is open keeps its
// stake at risk until the job has judged it; then the stake comes back.
func TestComputeScenarioUnbondingWaitsForOpenJobs(t *testing.T) {
	s := newComputeScenario(t, 4)
	pp := providertypes.DefaultParams()
	pp.UnbondingBlocks = 2
	res := s.c.DeliverTx(s.c.Authority, &providertypes.MsgUpdateParams{Authority: s.c.Authority.Address.String(), Params: pp})
	require.Zero(t, res.Code, res.Log)
	p := computeParams()
	p.CommitTimeout, p.RevealTimeout = 20, 20
	s.setComputeParams(t, p)

	resp := s.submit(t, s.submitMsg(2))
	a, b := resp.Executors[0], resp.Executors[1]
	out := result("out")
	s.commitResult(t, a, resp.JobId, out)
	res, _ = s.deliver(t, s.acct(a), &providertypes.MsgUnbondProvider{Provider: a})
	require.Zero(t, res.Code, res.Log)
	s.advanceTo(t, s.c.Height+5) // past unbonding_blocks
	pr, err := s.c.App.ProviderKeeper.GetProvider(s.c.Ctx(), s.addr(a))
	require.NoError(t, err, "the provider is kept while it holds a job's slot")
	require.Equal(t, uint64(1), pr.ComputeSlotsUsed)
	s.requireAccounted(t)

	s.commitResult(t, b, resp.JobId, out)
	s.reveal(t, a, resp.JobId, out)
	s.reveal(t, b, resp.JobId, out)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, s.job(t, resp.JobId).Status)
	// If it held the input, that replica stays its obligation until a
	// successor has committed it.
	s.commitAll(t, s.input)
	balance := balanceOf(s.c, s.addr(a))
	s.advanceTo(t, s.c.Height+12) // the next look at its unbonding
	_, err = s.c.App.ProviderKeeper.GetProvider(s.c.Ctx(), s.addr(a))
	require.ErrorIs(t, err, providertypes.ErrProviderNotFound)
	require.Equal(t, balance.Add(sdkmath.NewInt(providerStake)), balanceOf(s.c, s.addr(a)), "the stake came back")
	s.requireAccounted(t)
}

// With retries left but no provider the job has not had, a no-show cannot
// be replaced: the job goes on with those that committed and ends.
func TestComputeScenarioNoReplacementAvailable(t *testing.T) {
	s := newComputeScenario(t, 2)
	resp := s.submit(t, s.submitMsg(2))
	out := result("out")
	s.commitResult(t, resp.Executors[0], resp.JobId, out)
	j := s.job(t, resp.JobId)
	s.advanceTo(t, j.Deadline)
	j = s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_REVEALING, j.Status, "nobody to replace the no-show: reveal with the rest")
	require.Len(t, j.Executors, 2)
	require.Zero(t, j.Retries)
	s.burned = s.burned.Add(percentOf(sdkmath.NewInt(providerStake), 1))
	s.reveal(t, resp.Executors[0], resp.JobId, out)
	j = s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_FAILED, j.Status, "one of two is not a majority")
	require.Equal(t, []string{resp.Executors[0]}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_RELEASED))
	s.requireAccounted(t)
}

// A dissenter that reveals early and unbonds cannot take its stake out
// before the tally: its slot is held until the job has judged it.
func TestComputeScenarioUnbondedDissenterIsStillSlashed(t *testing.T) {
	s := newComputeScenario(t, 4)
	pp := providertypes.DefaultParams()
	pp.UnbondingBlocks = 2
	res := s.c.DeliverTx(s.c.Authority, &providertypes.MsgUpdateParams{Authority: s.c.Authority.Address.String(), Params: pp})
	require.Zero(t, res.Code, res.Log)
	p := computeParams()
	p.CommitTimeout, p.RevealTimeout = 40, 40
	s.setComputeParams(t, p)

	resp := s.submit(t, s.submitMsg(3))
	liar := resp.Executors[2]
	for i, e := range resp.Executors {
		r := result("true")
		if i == 2 {
			r = result("lie")
		}
		s.commitResult(t, e, resp.JobId, r)
	}
	s.reveal(t, liar, resp.JobId, result("lie"))
	res, _ = s.deliver(t, s.acct(liar), &providertypes.MsgUnbondProvider{Provider: liar})
	require.Zero(t, res.Code, res.Log)
	s.advanceTo(t, s.c.Height+25) // well past unbonding_blocks and two rechecks
	stake := s.stake(t, s.addr(liar))
	require.True(t, stake.IsPositive(), "the stake is still held")
	s.reveal(t, resp.Executors[0], resp.JobId, result("true"))
	s.reveal(t, resp.Executors[1], resp.JobId, result("true"))
	j := s.job(t, resp.JobId)
	require.Equal(t, []string{liar}, executorsIn(j, computetypes.ExecutorStatus_EXECUTOR_STATUS_DISSENTED))
	burned := percentOf(stake, 5)
	require.Equal(t, stake.Sub(burned), s.stake(t, s.addr(liar)))
	s.burned = s.burned.Add(burned)
	s.requireAccounted(t)
}

// Attack: a colluding majority reveals an enormous output size so the chain
// creates an output deal of that size. A size beyond what max_output_bytes
// and the archive's bounded metadata allow is refused at reveal, and the
// reveal changes nothing.
func TestComputeRevealBeyondTheOutputLimitIsRefused(t *testing.T) {
	s := newComputeScenario(t, 3)
	msg := s.submitMsg(2)
	resp := s.submit(t, msg)
	a, b := resp.Executors[0], resp.Executors[1]
	huge := result("huge")
	huge.Size_ = computetypes.MaxArchiveSize(msg.Limits.MaxOutputBytes) + 1
	fits := result("fits")
	fits.Size_ = computetypes.MaxArchiveSize(msg.Limits.MaxOutputBytes)
	s.commitResult(t, a, resp.JobId, huge)
	s.commitResult(t, b, resp.JobId, fits)
	s.rejectsCompute(t, s.acct(a), s.revealMsg(a, resp.JobId, huge), computetypes.ErrInvalidResult)
	s.reveal(t, b, resp.JobId, fits) // the largest possible archive is fine
	s.requireAccounted(t)
}

// Attack: name a huge input (or program) deal, so executors cannot fetch
// it before the commit timeout and are slashed for missing their commits
// while the owner is refunded. Jobs beyond max_input_bytes or
// max_program_bytes are refused at submit, and change nothing.
func TestComputeOversizedInputsAreRefused(t *testing.T) {
	s := newComputeScenario(t, 4)
	p := computeParams()
	p.MaxInputBytes = fileSize - 1 // the scenario's input deal is fileSize bytes
	p.MaxInlineProgram = 64
	p.MaxProgramBytes = 64
	s.setComputeParams(t, p)
	s.rejectsCompute(t, s.user, s.submitMsg(2), computetypes.ErrInvalidInputs)

	p.MaxInputBytes = fileSize
	s.setComputeParams(t, p)
	stored := s.submitMsg(2)
	stored.Program, stored.ProgramDealId, stored.ProgramRoot = nil, s.input, s.deal(t, s.input).Root
	s.rejectsCompute(t, s.user, stored, computetypes.ErrInvalidProgram)
	s.submit(t, s.submitMsg(2)) // the input at exactly the limit is fine
	p.MaxProgramBytes = fileSize
	s.setComputeParams(t, p)
	s.submit(t, stored) // and so is the program
	s.requireAccounted(t)
}

// A job may read only public deals and its owner's own. Naming another
// owner's private deal would let the job's executors fetch its bytes from
// the providers and hand what they compute from them to the job's owner.
// The refusal changes nothing; a public deal of another owner is fine, and
// a public job stores a public output deal.
func TestComputeJobsReadOnlyPublicOrOwnDeals(t *testing.T) {
	s := newComputeScenario(t, 4)
	foreign := s.submitMsg(2)
	foreign.Owner = s.other.Address.String()
	s.rejectsCompute(t, s.other, foreign, computetypes.ErrInvalidInputs)

	asProgram := s.submitMsg(2)
	asProgram.Owner = s.other.Address.String()
	asProgram.Inputs = nil
	asProgram.Program, asProgram.ProgramDealId, asProgram.ProgramRoot = nil, s.input, s.deal(t, s.input).Root
	s.rejectsCompute(t, s.other, asProgram, computetypes.ErrInvalidProgram)

	// The owner publishes a deal: anyone's job may read it.
	file := randomFile(t, fileSize)
	root, err := merkle.Root(file, 1024)
	require.NoError(t, err)
	res, _ := s.deliver(t, s.user, &storagetypes.MsgCreateDeal{
		Owner: s.user.Address.String(), Root: root[:], Size_: fileSize, Replicas: 1,
		DurationBlocks: 1000, MaxPrice: decCoin(2), Public: true,
	})
	require.Zero(t, res.Code, res.Log)
	var created storagetypes.MsgCreateDealResponse
	decodeResponse(t, res, &created)
	s.files[created.DealId] = file
	s.commitAll(t, created.DealId)
	require.True(t, s.deal(t, created.DealId).Public)

	foreign.Inputs = []uint64{created.DealId}
	foreign.Public = true
	foreign.StoreOutput = &computetypes.StoreOutput{Replicas: 2, DurationBlocks: 500, MaxPrice: decCoin(2)}
	res, _ = s.deliver(t, s.other, foreign)
	require.Zero(t, res.Code, res.Log)
	var resp computetypes.MsgSubmitJobResponse
	decodeResponse(t, res, &resp)
	require.True(t, s.job(t, resp.JobId).Public)
	s.c.NextBlock() // the executors are drawn
	for _, e := range s.job(t, resp.JobId).Executors {
		resp.Executors = append(resp.Executors, e.Provider)
	}
	require.NotEmpty(t, resp.Executors)
	archive := randomFile(t, 5000)
	outRoot, err := merkle.Root(archive, 1024)
	require.NoError(t, err)
	out := computetypes.Result{OutputRoot: outRoot[:], Size_: uint64(len(archive)), Verdict: "ok"}
	for _, e := range resp.Executors {
		s.commitResult(t, e, resp.JobId, out)
	}
	for _, e := range resp.Executors {
		s.reveal(t, e, resp.JobId, out)
	}
	j := s.job(t, resp.JobId)
	require.NotZero(t, j.OutputDealId, j.Reason)
	require.True(t, s.deal(t, j.OutputDealId).Public, "a public job's output deal is public")
	require.Equal(t, s.other.Address.String(), s.deal(t, j.OutputDealId).Owner)
	s.files[j.OutputDealId] = archive
	s.requireAccounted(t)
}

// The output deal is hashed and proven with the job's chunk size, fixed at
// submission, even when governance changes chunk_size before the verdict:
// the executors computed the root with the job's, and a deal proven with
// another could not be proven at all (its holders would be slashed).
func TestComputeOutputDealKeepsTheJobsChunkSize(t *testing.T) {
	s := newComputeScenario(t, 4)
	msg := s.submitMsg(2)
	msg.StoreOutput = &computetypes.StoreOutput{Replicas: 2, DurationBlocks: 500, MaxPrice: decCoin(2)}
	resp := s.submit(t, msg)
	require.EqualValues(t, 1024, s.job(t, resp.JobId).ChunkSize)

	p, err := s.c.App.StorageKeeper.Params.Get(s.c.Ctx())
	require.NoError(t, err)
	p.ChunkSize = 4096
	s.setParams(t, p)

	archive := randomFile(t, 9000)
	root, err := merkle.Root(archive, 1024)
	require.NoError(t, err)
	out := computetypes.Result{OutputRoot: root[:], Size_: uint64(len(archive)), Verdict: "ok"}
	for _, e := range resp.Executors {
		s.commitResult(t, e, resp.JobId, out)
	}
	for _, e := range resp.Executors {
		s.reveal(t, e, resp.JobId, out)
	}
	j := s.job(t, resp.JobId)
	require.Equal(t, computetypes.JobStatus_JOB_STATUS_SUCCEEDED, j.Status, j.Reason)
	require.NotZero(t, j.OutputDealId, j.Reason)
	d := s.deal(t, j.OutputDealId)
	require.EqualValues(t, 1024, d.ChunkSize, "the output deal keeps the job's chunk size")
	s.files[d.Id] = archive
	// Its holders prove it with 1 KiB leaves, window after window.
	proofs, _ := s.advanceTo(t, s.c.Height+25)
	require.Positive(t, proofs)
	for slot := range resp.Executors {
		require.Zero(t, s.replica(t, d.Id, uint32(slot)).Missed)
	}
	// A deal created now uses the new chunk size.
	fresh := s.createDeal(t, 1, 100, 2_000_000_000)
	require.EqualValues(t, 4096, s.deal(t, fresh.DealId).ChunkSize)
	s.requireAccounted(t)
}
