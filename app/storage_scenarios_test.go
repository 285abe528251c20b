package app_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/testutil/apptest"
	computekeeper "github.com/stratusnet/stratus/x/compute/keeper"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	storagekeeper "github.com/stratusnet/stratus/x/storage/keeper"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

const (
	gib = int64(1) << 30
	// fileSize spans 10 leaves of 1 KiB, the last one short.
	fileSize = 9_500
	// providerStake is each scenario provider's bond.
	providerStake = 2000 * strat
)

// scenario is a storage network with priced providers, a deal owner, an
// outsider, the files of the deals, and the tokens burned so far.
type scenario struct {
	storageNet
	other  apptest.Account
	prices map[string]int64 // ustrat per GiB per block, by provider
	files  map[uint64][]byte
	// shards are an erasure-coded deal's shards by shard index.
	shards map[uint64][][]byte
	supply sdkmath.Int // total supply once the providers registered
	burned sdkmath.Int // what slashing should have burned since
	// silent providers answer no challenges.
	silent []sdk.AccAddress
	// lacks, when set, tells which samples a provider cannot answer (the
	// data it deleted); the others it answers.
	lacks func(provider sdk.AccAddress, c storagetypes.Challenge) bool
}

// scenarioParams are short windows and timeouts so a lifecycle fits in a
// test: every committed replica is challenged in every window.
func scenarioParams() storagetypes.Params {
	p := storagetypes.DefaultParams()
	p.ProofWindow = 5
	p.CommitTimeout = 5
	p.MaxMissed = 2
	p.MaxReassignments = 2
	p.SamplesPerWindow = 8
	p.MinBillableBytes = 0
	p.DealFee = sdk.NewInt64Coin(app.BondDenom, 0)
	p.SlashMissed = sdkmath.LegacyNewDecWithPrec(1, 2)  // 1%
	p.SlashInvalid = sdkmath.LegacyNewDecWithPrec(5, 2) // 5%
	return p
}

// newScenario starts a chain with one provider per price (whole ustrat per
// GiB per block, high enough that payments are not rounded away) and the
// storage params of scenarioParams.
func newScenario(t *testing.T, prices ...int64) *scenario {
	t.Helper()
	n := len(prices)
	members := map[int]membershiptypes.Role{}
	for i := range n {
		members[i] = membershiptypes.Role_ROLE_PROVIDER
	}
	c := apptest.New(t, apptest.Options{ExtraAccounts: n + 2, Members: members})
	s := &scenario{
		storageNet: storageNet{c: c, providers: c.Accounts[:n], user: c.Accounts[n]},
		other:      c.Accounts[n+1],
		prices:     map[string]int64{},
		files:      map[uint64][]byte{},
		shards:     map[uint64][][]byte{},
		burned:     sdkmath.ZeroInt(),
	}
	for i, price := range prices {
		msg := registerProviderMsg(c.Accounts[i].Address, providerStake)
		msg.StoragePrice = sdk.NewDecCoin(app.BondDenom, sdkmath.NewInt(price))
		res := c.DeliverTx(c.Accounts[i], msg)
		require.Zero(t, res.Code, res.Log)
		s.prices[c.Accounts[i].Address.String()] = price
	}
	s.setParams(t, scenarioParams())
	// Let the genesis window (opened with the default length) close, so
	// windows of the scenario length run from here on.
	w, err := c.App.StorageKeeper.CurrentWindow(c.Ctx())
	require.NoError(t, err)
	s.advanceTo(t, w.CloseHeight)
	s.supply = s.totalSupply()
	return s
}

func (s *scenario) setParams(t *testing.T, p storagetypes.Params) {
	t.Helper()
	res := s.c.DeliverTx(s.c.Authority, &storagetypes.MsgUpdateParams{Authority: s.c.Authority.Address.String(), Params: p})
	require.Zero(t, res.Code, res.Log)
}

func (s *scenario) totalSupply() sdkmath.Int {
	return s.c.App.BankKeeper.GetSupply(s.c.Ctx(), app.BondDenom).Amount
}

// requireAccounted checks the escrow and stake invariants and that the
// supply fell by exactly what slashing burned.
func (s *scenario) requireAccounted(t *testing.T) {
	t.Helper()
	s.requireConserved(t)
	require.Equal(t, s.supply.Sub(s.burned), s.totalSupply(), "supply changed by more than the slashed stake")
}

// block finalizes and commits a block with txs, like apptest's NextBlock,
// and also returns the block's own events (end blockers included).
func (s *scenario) block(t *testing.T, txs ...[]byte) ([]*abci.ExecTxResult, []abci.Event) {
	t.Helper()
	c := s.c
	c.Height++
	c.Time = c.Time.Add(time.Second)
	res, err := c.App.FinalizeBlock(&abci.RequestFinalizeBlock{
		Height: c.Height, Time: c.Time, Txs: txs, ProposerAddress: c.Validator.Address,
	})
	require.NoError(t, err)
	_, err = c.App.Commit()
	require.NoError(t, err)
	return res.TxResults, res.Events
}

// signTx signs msgs with signer at its current sequence.
func (s *scenario) signTx(t *testing.T, signer apptest.Account, msgs ...sdk.Msg) []byte {
	t.Helper()
	c := s.c
	acc := c.App.AccountKeeper.GetAccount(c.Ctx(), signer.Address)
	require.NotNil(t, acc)
	tx, err := simtestutil.GenSignedMockTx(rand.New(rand.NewSource(c.Height)), c.App.TxConfig(), msgs,
		sdk.NewCoins(), 4_000_000, apptest.ChainID, []uint64{acc.GetAccountNumber()}, []uint64{acc.GetSequence()}, signer.Priv)
	require.NoError(t, err)
	bz, err := c.App.TxConfig().TxEncoder()(tx)
	require.NoError(t, err)
	return bz
}

// deliver runs one tx in a block of its own, where every other provider
// that is not silent also answers its open challenges, and returns the tx's
// result and every event of the block (txs' and end blockers').
func (s *scenario) deliver(t *testing.T, signer apptest.Account, msgs ...sdk.Msg) (*abci.ExecTxResult, []abci.Event) {
	t.Helper()
	proofTxs, sent := s.proofTxs(t, signer.Address)
	results, events := s.block(t, append([][]byte{s.signTx(t, signer, msgs...)}, proofTxs...)...)
	events = append(append([]abci.Event(nil), results[0].Events...), events...)
	return results[0], append(events, s.checkProofResults(t, results[1:], sent)...)
}

// decodeResponse reads the first message response of a tx.
func decodeResponse(t *testing.T, res *abci.ExecTxResult, out proto.Message) {
	t.Helper()
	var data sdk.TxMsgData
	require.NoError(t, proto.Unmarshal(res.Data, &data))
	require.NotEmpty(t, data.MsgResponses)
	require.NoError(t, proto.Unmarshal(data.MsgResponses[0].Value, out))
}

// typedEvents parses the Stratus events of type T out of events.
func typedEvents[T proto.Message](t *testing.T, events []abci.Event) []T {
	t.Helper()
	var out []T
	for _, ev := range events {
		if !strings.HasPrefix(ev.Type, "stratus.") {
			continue
		}
		// The SDK tags block events with a plain-string "mode" attribute.
		attrs := ev.Attributes[:0:0]
		for _, a := range ev.Attributes {
			if a.Key != "mode" {
				attrs = append(attrs, a)
			}
		}
		msg, err := sdk.ParseTypedEvent(abci.Event{Type: ev.Type, Attributes: attrs})
		require.NoError(t, err)
		if m, ok := msg.(T); ok {
			out = append(out, m)
		}
	}
	return out
}

func (s *scenario) acct(addr string) apptest.Account {
	if addr == s.other.Address.String() {
		return s.other
	}
	return s.account(addr)
}

func decCoin(amount int64) sdk.DecCoin {
	return sdk.NewDecCoin(app.BondDenom, sdkmath.NewInt(amount))
}

// createDeal stores a fresh random file of fileSize bytes.
func (s *scenario) createDeal(t *testing.T, replicas uint32, duration uint64, maxPrice int64) storagetypes.MsgCreateDealResponse {
	t.Helper()
	return s.createDealOfSize(t, fileSize, replicas, duration, maxPrice)
}

func (s *scenario) createDealOfSize(t *testing.T, size int, replicas uint32, duration uint64, maxPrice int64) storagetypes.MsgCreateDealResponse {
	t.Helper()
	file := randomFile(t, size)
	root, err := merkle.Root(file, 1024)
	require.NoError(t, err)
	res, _ := s.deliver(t, s.user, &storagetypes.MsgCreateDeal{
		Owner: s.user.Address.String(), Root: root[:], Size_: uint64(size), Replicas: replicas,
		DurationBlocks: duration, MaxPrice: decCoin(maxPrice),
	})
	require.Zero(t, res.Code, res.Log)
	var resp storagetypes.MsgCreateDealResponse
	decodeResponse(t, res, &resp)
	s.files[resp.DealId] = file
	return resp
}

func (s *scenario) deal(t *testing.T, id uint64) storagetypes.Deal {
	t.Helper()
	d, err := s.c.App.StorageKeeper.GetDeal(s.c.Ctx(), id)
	require.NoError(t, err)
	return d
}

func (s *scenario) replica(t *testing.T, id uint64, slot uint32) storagetypes.Replica {
	t.Helper()
	r, err := s.c.App.StorageKeeper.Replicas.Get(s.c.Ctx(), collections.Join(id, slot))
	require.NoError(t, err)
	return r
}

func (s *scenario) holds(t *testing.T, provider sdk.AccAddress, id uint64) bool {
	t.Helper()
	has, err := s.c.App.StorageKeeper.ReplicasByProvider.Has(s.c.Ctx(), collections.Join(provider, id))
	require.NoError(t, err)
	return has
}

func (s *scenario) commit(t *testing.T, provider string, id uint64) {
	t.Helper()
	res, _ := s.deliver(t, s.acct(provider), &storagetypes.MsgCommitReplica{Provider: provider, DealId: id})
	require.Zero(t, res.Code, res.Log)
}

// commitAll commits every assigned slot of the deal, one block each, and
// returns by provider the height each replica earns from: the opening of
// the first window after its commit, the first one that can prove it.
func (s *scenario) commitAll(t *testing.T, id uint64) map[string]int64 {
	t.Helper()
	replicas, err := s.c.App.StorageKeeper.DealReplicas(s.c.Ctx(), id)
	require.NoError(t, err)
	heights := map[string]int64{}
	for _, r := range replicas {
		if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED {
			continue
		}
		s.commit(t, r.Provider, id)
		from := s.replica(t, id, r.Slot).EarnsFrom
		require.GreaterOrEqual(t, from, s.c.Height, "nothing is paid before a window can prove it")
		heights[r.Provider] = from
	}
	return heights
}

// proof answers a challenge of leaf in deal id with the true data.
func (s *scenario) proof(t *testing.T, id, leaf uint64) storagetypes.StorageProof {
	t.Helper()
	return s.proofOf(t, s.files[id], id, leaf)
}

// slotProof answers a challenge of leaf in slot of deal id with the true
// data: the slot's shard of an erasure-coded deal, else the file.
func (s *scenario) slotProof(t *testing.T, id uint64, slot uint32, leaf uint64) storagetypes.StorageProof {
	t.Helper()
	if shards, ok := s.shards[id]; ok {
		return s.proofOf(t, shards[s.replica(t, id, slot).Shard], id, leaf)
	}
	return s.proof(t, id, leaf)
}

func (s *scenario) proofOf(t *testing.T, data []byte, id, leaf uint64) storagetypes.StorageProof {
	t.Helper()
	data, path, err := merkle.ProofFromData(data, int(s.deal(t, id).ChunkSize), leaf)
	require.NoError(t, err)
	raw := make([][]byte, len(path))
	for i := range path {
		raw[i] = append([]byte(nil), path[i][:]...)
	}
	// The leaf aliases the file; copy it so a test may corrupt the proof.
	return storagetypes.StorageProof{DealId: id, LeafIndex: leaf, Leaf: append([]byte(nil), data...), AuditPath: raw}
}

// openChallenges are provider's unanswered challenges of the current window.
func (s *scenario) openChallenges(t *testing.T, provider sdk.AccAddress) []storagetypes.Challenge {
	t.Helper()
	out, err := s.c.App.StorageKeeper.OpenSamples(s.c.Ctx(), provider)
	require.NoError(t, err)
	return out
}

// proofTxs are the txs in which every provider but the silent ones and
// except answers all its open challenges correctly.
func (s *scenario) proofTxs(t *testing.T, except ...sdk.AccAddress) ([][]byte, int) {
	t.Helper()
	var txs [][]byte
	sent := 0
	for _, p := range s.providers {
		if containsAddr(s.silent, p.Address) || containsAddr(except, p.Address) {
			continue
		}
		var proofs []storagetypes.StorageProof
		for _, c := range s.openChallenges(t, p.Address) {
			if s.lacks != nil && s.lacks(p.Address, c) {
				continue
			}
			proofs = append(proofs, s.slotProof(t, c.DealId, c.Slot, c.LeafIndex))
		}
		if len(proofs) == 0 {
			continue
		}
		sent += len(proofs)
		txs = append(txs, s.signTx(t, p, &storagetypes.MsgSubmitProofs{Provider: p.Address.String(), Proofs: proofs}))
	}
	return txs, sent
}

// checkProofResults requires that every honest proof was accepted and
// returns the proof txs' events.
func (s *scenario) checkProofResults(t *testing.T, results []*abci.ExecTxResult, sent int) []abci.Event {
	t.Helper()
	var events []abci.Event
	accepted := 0
	for _, res := range results {
		require.Zero(t, res.Code, res.Log)
		var resp storagetypes.MsgSubmitProofsResponse
		decodeResponse(t, res, &resp)
		require.Empty(t, resp.Rejected, "%v", typedEvents[*storagetypes.EventProofRejected](t, res.Events))
		accepted += len(resp.Accepted) + len(resp.Waived)
		events = append(events, res.Events...)
	}
	require.Equal(t, sent, accepted)
	return events
}

// proveBlock finalizes one block in which every provider that is not
// silent answers all its open challenges. It returns how many proofs were
// accepted and the block's events.
func (s *scenario) proveBlock(t *testing.T) (int, []abci.Event) {
	t.Helper()
	txs, sent := s.proofTxs(t)
	results, events := s.block(t, txs...)
	return sent, append(events, s.checkProofResults(t, results, sent)...)
}

// advanceTo proves every block until height h is committed.
func (s *scenario) advanceTo(t *testing.T, h int64) (int, []abci.Event) {
	t.Helper()
	proofs := 0
	var events []abci.Event
	for s.c.Height < h {
		n, ev := s.proveBlock(t)
		proofs += n
		events = append(events, ev...)
	}
	return proofs, events
}

func containsAddr(list []sdk.AccAddress, a sdk.AccAddress) bool {
	for _, x := range list {
		if x.Equals(a) {
			return true
		}
	}
	return false
}

func (s *scenario) stake(t *testing.T, addr sdk.AccAddress) sdkmath.Int {
	t.Helper()
	return providerOf(t, s.c, addr).Stake
}

func (s *scenario) balances() map[string]sdkmath.Int {
	out := map[string]sdkmath.Int{}
	for _, a := range append(append([]apptest.Account{s.user, s.other}, s.providers...), s.c.Authority) {
		out[a.Address.String()] = balanceOf(s.c, a.Address)
	}
	return out
}

func (s *scenario) addr(a string) sdk.AccAddress { return s.acct(a).Address }

// wantEarned is floor(price × size × blocks / GiB), computed apart from
// x/storage's own math.
func wantEarned(price int64, size uint64, blocks int64) sdkmath.Int {
	n := new(big.Int).Mul(big.NewInt(price), new(big.Int).SetUint64(size))
	n.Mul(n, big.NewInt(blocks))
	return sdkmath.NewIntFromBigInt(n.Quo(n, big.NewInt(gib)))
}

// wantEscrow is ceil(max_price × size × blocks × replicas / GiB).
func wantEscrow(maxPrice int64, size uint64, blocks int64, replicas int64) sdkmath.Int {
	n := new(big.Int).Mul(big.NewInt(maxPrice), new(big.Int).SetUint64(size))
	n.Mul(n, big.NewInt(blocks))
	n.Mul(n, big.NewInt(replicas))
	q, r := new(big.Int).QuoRem(n, big.NewInt(gib), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return sdkmath.NewIntFromBigInt(q)
}

// percentOf is floor(x × pct / 100).
func percentOf(x sdkmath.Int, pct int64) sdkmath.Int { return x.MulRaw(pct).QuoRaw(100) }

func (s *scenario) moduleBalance() sdkmath.Int {
	return balanceOf(s.c, s.c.App.StorageKeeper.ModuleAddress())
}

// Scenario 1: create → assign → commit → proofs over several windows →
// claim → expiry. Every provider is paid exactly what its price earns over
// the blocks it held the data, and the owner gets the rest of the escrow.
func TestStorageScenarioFullLifecycle(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_300_000_000, 1_700_000_000)
	c := s.c
	const duration, maxPrice = 60, 2_000_000_000
	before := s.balances()

	resp := s.createDeal(t, 3, duration, maxPrice)
	created := c.Height
	escrow := wantEscrow(maxPrice, fileSize, duration, 3)
	require.Equal(t, escrow, resp.Escrow.Amount)
	require.Equal(t, before[s.user.Address.String()].Sub(escrow), balanceOf(c, s.user.Address))
	require.Equal(t, escrow, s.moduleBalance())
	require.Len(t, resp.Providers, 3)
	for _, p := range resp.Providers {
		require.Equal(t, uint64(fileSize), providerOf(t, c, s.addr(p)).StorageUsed, "capacity reserved at assignment")
	}
	s.requireAccounted(t)

	committed := s.commitAll(t, resp.DealId)
	d := s.deal(t, resp.DealId)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, d.Status)
	require.Equal(t, created+duration, d.EndHeight)

	// Several windows of valid proofs; nobody misses, nobody is slashed.
	proofs, events := s.advanceTo(t, d.EndHeight-20)
	require.GreaterOrEqual(t, len(typedEvents[*storagetypes.EventWindowOpened](t, events)), 5)
	require.GreaterOrEqual(t, proofs, 3*5, "every replica proven in every window")
	require.Empty(t, typedEvents[*storagetypes.EventFault](t, events))
	for _, p := range s.providers {
		require.Equal(t, sdkmath.NewInt(providerStake), s.stake(t, p.Address))
	}
	s.requireAccounted(t)

	// Claims pay each provider up to the claim's block.
	for _, p := range resp.Providers {
		res, _ := s.deliver(t, s.acct(p), &storagetypes.MsgClaimEarnings{Provider: p})
		require.Zero(t, res.Code, res.Log)
		var claim storagetypes.MsgClaimEarningsResponse
		decodeResponse(t, res, &claim)
		got := balanceOf(c, s.addr(p)).Sub(before[p])
		require.Equal(t, wantEarned(s.prices[p], fileSize, c.Height-committed[p]), got, "provider %s paid up to the claim", p)
		require.True(t, claim.Paid.Amount.IsPositive())
	}
	s.requireAccounted(t)

	// The deal lives through its end height and ends in that block.
	s.advanceTo(t, d.EndHeight-1)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, s.deal(t, d.Id).Status)
	s.advanceTo(t, d.EndHeight)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ENDED, s.deal(t, d.Id).Status)
	s.advanceTo(t, d.EndHeight+3)

	paid := sdkmath.ZeroInt()
	for _, p := range resp.Providers {
		got := balanceOf(c, s.addr(p)).Sub(before[p])
		require.Equal(t, wantEarned(s.prices[p], fileSize, d.EndHeight-committed[p]), got, "provider %s paid for every block it held", p)
		paid = paid.Add(got)
		require.Zero(t, providerOf(t, c, s.addr(p)).StorageUsed, "capacity released at expiry")
		require.False(t, s.holds(t, s.addr(p), d.Id))
	}
	refund := balanceOf(c, s.user.Address).Sub(before[s.user.Address.String()].Sub(escrow))
	require.Equal(t, escrow, refund.Add(paid), "refund + payments == escrow")
	require.True(t, s.moduleBalance().IsZero())
	require.True(t, s.deal(t, d.Id).Escrow.IsZero())
	replicas, err := c.App.StorageKeeper.DealReplicas(c.Ctx(), d.Id)
	require.NoError(t, err)
	require.Empty(t, replicas)
	s.requireAccounted(t)
}

// Scenario 2: a provider that stops proving is slashed slash_missed per
// missed window; after max_missed in a row its replica is dropped and the
// slot goes to another provider, which fetches from a committed replica.
func TestStorageScenarioMissedProofsSlashAndRepair(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	c := s.c
	resp := s.createDeal(t, 2, 200, 2_000_000_000)
	s.commitAll(t, resp.DealId)
	honest, victim := s.replica(t, resp.DealId, 0), s.replica(t, resp.DealId, 1)
	victimAddr := s.addr(victim.Provider)
	s.silent = []sdk.AccAddress{victimAddr}
	var spare sdk.AccAddress
	for _, p := range s.providers {
		if p.Address.String() != honest.Provider && p.Address.String() != victim.Provider {
			spare = p.Address
		}
	}

	var repaired []*storagetypes.EventReplicaAssigned
	var dropped []*storagetypes.EventReplicaDropped
	faults := 0
	params := scenarioParams()
	for range 40 {
		stakeBefore := s.stake(t, victimAddr)
		collateral := s.replica(t, resp.DealId, 1).Collateral
		_, events := s.proveBlock(t)
		for _, f := range typedEvents[*storagetypes.EventFault](t, events) {
			require.Equal(t, victim.Provider, f.Provider, "only the silent provider faults")
			faults++
			require.Equal(t, uint32(faults), f.MissedInARow)
			// A miss burns max(missed_collateral_fraction of the collateral,
			// one window's income); the last allowed miss burns all of it.
			wantCollateral := collateral
			if f.MissedInARow < params.MaxMissed {
				income := wantEarned(s.prices[victim.Provider], fileSize, int64(params.ProofWindow))
				wantCollateral = sdkmath.MinInt(collateral, sdkmath.MaxInt(percentOf(collateral, 10), income))
			}
			require.Equal(t, wantCollateral.String(), f.CollateralBurned)
			pct := int64(1) // slash_missed; the miss that drops the replica costs slash_invalid
			if f.MissedInARow == params.MaxMissed {
				pct = 5
			}
			burn := percentOf(stakeBefore, pct).Add(wantCollateral)
			require.Equal(t, stakeBefore.Sub(burn).String(), s.stake(t, victimAddr).String(), "slash_missed of the stake and the collateral burn")
			s.burned = s.burned.Add(burn)
		}
		dropped = append(dropped, typedEvents[*storagetypes.EventReplicaDropped](t, events)...)
		repaired = append(repaired, typedEvents[*storagetypes.EventReplicaAssigned](t, events)...)
		if len(dropped) > 0 {
			break
		}
		if faults == 1 {
			require.Equal(t, uint32(1), s.replica(t, resp.DealId, 1).Missed)
			require.True(t, s.holds(t, victimAddr, resp.DealId), "one miss does not drop the replica")
		}
		s.requireAccounted(t)
	}
	require.Equal(t, 2, faults, "dropped after max_missed windows in a row")
	require.Len(t, dropped, 1)
	require.Equal(t, storagekeeper.ReasonMissedProofs, dropped[0].Reason)
	require.Equal(t, victim.Provider, dropped[0].Provider)
	require.Len(t, repaired, 1)
	require.Equal(t, storagetypes.EventReplicaAssigned{
		DealId: resp.DealId, Slot: 1, Provider: spare.String(), Source: honest.Provider,
		CommitDeadline: c.Height + 5, Repair: true,
	}, *repaired[0])
	require.False(t, s.holds(t, victimAddr, resp.DealId))
	require.Zero(t, providerOf(t, c, victimAddr).StorageUsed)
	require.Equal(t, sdkmath.NewInt(providerStake), s.stake(t, s.addr(honest.Provider)), "the honest provider is not slashed")
	s.requireAccounted(t)

	// The new provider commits and the deal is whole again.
	s.commit(t, spare.String(), resp.DealId)
	r := s.replica(t, resp.DealId, 1)
	require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED, r.Status)
	require.Equal(t, spare.String(), r.Provider)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, s.deal(t, resp.DealId).Status)
	s.advanceTo(t, c.Height+12)
	require.Equal(t, spare.String(), s.replica(t, resp.DealId, 1).Provider, "the repaired replica proves and stays")
	s.requireAccounted(t)
}

// Scenario 3: a proof that does not verify is accepted as a transaction,
// listed as rejected, and costs the replica and slash_invalid at once.
func TestStorageScenarioInvalidProof(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(p *storagetypes.StorageProof)
	}{
		{"wrong leaf bytes", func(p *storagetypes.StorageProof) { p.Leaf[0] ^= 0xff }},
		{"corrupted audit path", func(p *storagetypes.StorageProof) { p.AuditPath[len(p.AuditPath)-1][5] ^= 0x01 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
			c := s.c
			resp := s.createDeal(t, 2, 200, 2_000_000_000)
			s.commitAll(t, resp.DealId)
			honest, cheat := s.replica(t, resp.DealId, 0), s.replica(t, resp.DealId, 1)
			cheatAddr := s.addr(cheat.Provider)
			s.silent = []sdk.AccAddress{cheatAddr}
			for len(s.openChallenges(t, cheatAddr)) == 0 {
				s.proveBlock(t)
			}
			challenge := s.openChallenges(t, cheatAddr)[0]
			proof := s.proof(t, resp.DealId, challenge.LeafIndex)
			tc.corrupt(&proof)
			stakeBefore := s.stake(t, cheatAddr)
			collateral := s.replica(t, resp.DealId, 1).Collateral
			require.True(t, collateral.IsPositive())

			res, events := s.deliver(t, s.acct(cheat.Provider), &storagetypes.MsgSubmitProofs{
				Provider: cheat.Provider, Proofs: []storagetypes.StorageProof{proof},
			})

			require.Zero(t, res.Code, res.Log)
			var out storagetypes.MsgSubmitProofsResponse
			decodeResponse(t, res, &out)
			require.Equal(t, []uint64{resp.DealId}, out.Rejected)
			require.Empty(t, out.Accepted)
			burn := percentOf(stakeBefore, 5).Add(collateral)
			require.Equal(t, stakeBefore.Sub(burn).String(), s.stake(t, cheatAddr).String(), "slash_invalid of the stake and all the collateral")
			require.True(t, providerOf(t, c, cheatAddr).Locked().IsZero())
			s.burned = s.burned.Add(burn)
			require.Len(t, typedEvents[*storagetypes.EventProofRejected](t, events), 1)
			dropped := typedEvents[*storagetypes.EventReplicaDropped](t, events)
			require.Len(t, dropped, 1)
			require.Equal(t, storagekeeper.ReasonInvalidProof, dropped[0].Reason)
			require.False(t, s.holds(t, cheatAddr, resp.DealId), "dropped in the same block")
			r := s.replica(t, resp.DealId, 1)
			require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED, r.Status)
			require.NotEqual(t, cheat.Provider, r.Provider)
			require.NotEqual(t, honest.Provider, r.Provider)
			require.Equal(t, honest.Provider, r.Source)
			require.Empty(t, s.openChallenges(t, cheatAddr))
			require.Zero(t, providerOf(t, c, cheatAddr).StorageUsed)
			s.requireAccounted(t)

			// The window closes without another fault for the cheat, but
			// failed: it earns nothing for it.
			_, events = s.advanceTo(t, c.Height+6)
			require.Empty(t, typedEvents[*storagetypes.EventFault](t, events))
			failed := typedEvents[*storagetypes.EventWindowFailed](t, events)
			require.Len(t, failed, 1)
			require.Equal(t, cheat.Provider, failed[0].Provider)
			require.True(t, failed[0].Invalid)
			require.Equal(t, stakeBefore.Sub(burn), s.stake(t, cheatAddr))
			s.requireAccounted(t)
		})
	}
}

// withoutSeed drops x/storage's seed accumulator from a module's genesis
// JSON: every block folds its header hash in, the imported chain's first
// block included, by design.
func withoutSeed(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	delete(m, "seed_accumulator")
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}

// toProvenMidWindow proves blocks until every provider has answered the
// current window and at least two blocks of it remain: settlement then
// pays up to the current block.
func (s *scenario) toProvenMidWindow(t *testing.T) {
	t.Helper()
	for {
		w, err := s.c.App.StorageKeeper.CurrentWindow(s.c.Ctx())
		require.NoError(t, err)
		if w.OpenHeight < s.c.Height && w.CloseHeight > s.c.Height+2 {
			return
		}
		s.proveBlock(t)
	}
}

// Scenario 4a: cancel settles up to the cancel block and refunds the rest.
func TestStorageScenarioCancel(t *testing.T) {
	s := newScenario(t, 1_100_000_000, 1_900_000_000)
	c := s.c
	before := s.balances()
	resp := s.createDeal(t, 2, 100, 2_000_000_000)
	committed := s.commitAll(t, resp.DealId)
	s.advanceTo(t, c.Height+12)
	s.toProvenMidWindow(t)
	require.Equal(t, resp.Escrow.Amount, s.deal(t, resp.DealId).Escrow.Amount, "proofs settle nothing; payment is lazy")

	res, _ := s.deliver(t, s.other, &storagetypes.MsgCancelDeal{Owner: s.other.Address.String(), DealId: resp.DealId})
	require.Equal(t, storagetypes.ErrNotDealOwner.ABCICode(), res.Code, res.Log)
	res, _ = s.deliver(t, s.user, &storagetypes.MsgCancelDeal{Owner: s.user.Address.String(), DealId: resp.DealId})
	require.Zero(t, res.Code, res.Log)
	cancelled := c.Height
	var out storagetypes.MsgCancelDealResponse
	decodeResponse(t, res, &out)

	paid := sdkmath.ZeroInt()
	for _, p := range resp.Providers {
		got := balanceOf(c, s.addr(p)).Sub(before[p])
		require.Equal(t, wantEarned(s.prices[p], fileSize, cancelled-committed[p]), got, "provider %s paid up to the cancel", p)
		paid = paid.Add(got)
		require.Zero(t, providerOf(t, c, s.addr(p)).StorageUsed)
	}
	require.Equal(t, resp.Escrow.Amount, out.Refund.Amount.Add(paid), "refund == escrow - settled")
	require.Equal(t, before[s.user.Address.String()].Sub(paid), balanceOf(c, s.user.Address))
	d := s.deal(t, resp.DealId)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_CANCELLED, d.Status)
	require.True(t, d.Escrow.IsZero())
	s.requireAccounted(t)

	// Nothing more is paid or refunded, and the deal cannot be cancelled twice.
	after := s.balances()
	s.advanceTo(t, c.Height+6)
	require.Equal(t, after, s.balances())
	res, _ = s.deliver(t, s.user, &storagetypes.MsgCancelDeal{Owner: s.user.Address.String(), DealId: resp.DealId})
	require.Equal(t, storagetypes.ErrDealNotLive.ABCICode(), res.Code, res.Log)
	s.requireAccounted(t)
}

// Scenario 4b: extend grows the escrow by EscrowFor(max_price, size, add,
// replicas) and moves the expiry to the new end.
func TestStorageScenarioExtend(t *testing.T) {
	s := newScenario(t, 1_100_000_000, 1_900_000_000)
	c := s.c
	const duration, add, maxPrice = 30, 17, 2_000_000_000
	before := s.balances()
	resp := s.createDeal(t, 2, duration, maxPrice)
	committed := s.commitAll(t, resp.DealId)
	oldEnd := s.deal(t, resp.DealId).EndHeight
	s.advanceTo(t, c.Height+4)

	userBefore := balanceOf(c, s.user.Address)
	escrowBefore := s.deal(t, resp.DealId).Escrow.Amount
	res, _ := s.deliver(t, s.user, &storagetypes.MsgExtendDeal{Owner: s.user.Address.String(), DealId: resp.DealId, AdditionalBlocks: add})
	require.Zero(t, res.Code, res.Log)
	var out storagetypes.MsgExtendDealResponse
	decodeResponse(t, res, &out)
	added := wantEscrow(maxPrice, fileSize, add, 2)
	require.Equal(t, added, out.AddedEscrow.Amount)
	require.Equal(t, oldEnd+add, out.EndHeight)
	d := s.deal(t, resp.DealId)
	require.Equal(t, oldEnd+add, d.EndHeight)
	require.Equal(t, escrowBefore.Add(added), d.Escrow.Amount, "no earnings settle in an extend block")
	require.Equal(t, userBefore.Sub(added), balanceOf(c, s.user.Address))
	s.requireAccounted(t)

	// The old end passes; the deal lives on until the new one.
	s.advanceTo(t, oldEnd+1)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, s.deal(t, d.Id).Status)
	s.advanceTo(t, d.EndHeight-1)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, s.deal(t, d.Id).Status)
	s.advanceTo(t, d.EndHeight)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ENDED, s.deal(t, d.Id).Status)

	paid := sdkmath.ZeroInt()
	for _, p := range resp.Providers {
		got := balanceOf(c, s.addr(p)).Sub(before[p])
		require.Equal(t, wantEarned(s.prices[p], fileSize, d.EndHeight-committed[p]), got, "provider %s paid to the new end", p)
		paid = paid.Add(got)
	}
	escrow := resp.Escrow.Amount.Add(added)
	refund := balanceOf(c, s.user.Address).Sub(before[s.user.Address.String()].Sub(escrow))
	require.Equal(t, escrow, refund.Add(paid), "refund + payments == escrow")
	require.True(t, s.moduleBalance().IsZero())
	s.requireAccounted(t)
}

// Scenario 5: a slot nobody commits is reassigned without penalty; after
// max_reassignments the deal fails and the whole escrow comes back.
func TestStorageScenarioCommitTimeoutFails(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	c := s.c
	before := s.balances()
	resp := s.createDeal(t, 1, 100, 2_000_000_000)

	for i := 1; i <= 2; i++ {
		r := s.replica(t, resp.DealId, 0)
		require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED, r.Status)
		_, events := s.advanceTo(t, r.CommitDeadline)
		dropped := typedEvents[*storagetypes.EventReplicaDropped](t, events)
		require.Len(t, dropped, 1)
		require.Equal(t, storagekeeper.ReasonCommitTimeout, dropped[0].Reason)
		require.Empty(t, typedEvents[*storagetypes.EventFault](t, events))
		next := s.replica(t, resp.DealId, 0)
		require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED, next.Status)
		require.NotEqual(t, r.Provider, next.Provider, "reassigned to another provider")
		require.Equal(t, r.CommitDeadline+5, next.CommitDeadline)
		d := s.deal(t, resp.DealId)
		require.Equal(t, uint32(i), d.Reassignments)
		require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_PENDING, d.Status)
		require.Zero(t, providerOf(t, c, s.addr(r.Provider)).StorageUsed, "capacity of the timed-out provider released")
		for _, p := range s.providers {
			require.Equal(t, sdkmath.NewInt(providerStake), s.stake(t, p.Address), "a timeout costs no stake")
		}
		s.requireAccounted(t)
	}

	r := s.replica(t, resp.DealId, 0)
	s.advanceTo(t, r.CommitDeadline-1)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_PENDING, s.deal(t, resp.DealId).Status)
	s.advanceTo(t, r.CommitDeadline)
	d := s.deal(t, resp.DealId)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_FAILED, d.Status)
	require.True(t, d.Escrow.IsZero())
	require.Equal(t, before, s.balances(), "the owner has its whole escrow back; nobody was paid")
	for _, p := range s.providers {
		require.Zero(t, providerOf(t, c, p.Address).StorageUsed)
		require.Equal(t, sdkmath.NewInt(providerStake), s.stake(t, p.Address))
	}
	require.True(t, s.moduleBalance().IsZero())
	s.requireAccounted(t)
}

// Scenario 5b: when the timeout that fails a deal is one of several due in
// the same block, the other slots of the failed deal are skipped.
func TestStorageScenarioSimultaneousTimeoutsFailDeal(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	p := scenarioParams()
	p.MaxReassignments = 1
	s.setParams(t, p)
	before := s.balances()
	resp := s.createDeal(t, 3, 100, 2_000_000_000)

	s.advanceTo(t, s.replica(t, resp.DealId, 0).CommitDeadline)

	d := s.deal(t, resp.DealId)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_FAILED, d.Status)
	require.Equal(t, before, s.balances())
	for _, p := range s.providers {
		require.Zero(t, providerOf(t, s.c, p.Address).StorageUsed)
	}
	s.advanceTo(t, s.c.Height+3)
	s.requireAccounted(t)
}

// Scenario 6: revoking a provider's role through membership unbonds it and
// its replicas go to other providers.
func TestStorageScenarioRevokedProviderReplicasReassigned(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	c := s.c
	before := s.balances()
	first := s.createDeal(t, 2, 200, 2_000_000_000)
	committed := s.commitAll(t, first.DealId)
	revoked := s.replica(t, first.DealId, 0)
	keeper := s.replica(t, first.DealId, 1)
	// A second deal on the revoked provider that is still only assigned.
	var second storagetypes.MsgCreateDealResponse
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 30, "the revoked provider is never picked")
		second = s.createDeal(t, 1, 200, 2_000_000_000)
		if second.Providers[0] == revoked.Provider {
			break
		}
		res, _ := s.deliver(t, s.user, &storagetypes.MsgCancelDeal{Owner: s.user.Address.String(), DealId: second.DealId})
		require.Zero(t, res.Code, res.Log)
	}
	s.advanceTo(t, c.Height+2)
	s.toProvenMidWindow(t)

	res, events := s.deliver(t, c.Authority, &membershiptypes.MsgRevokeRole{
		Authority: c.Authority.Address.String(), Address: revoked.Provider,
		Role: membershiptypes.Role_ROLE_PROVIDER, Reason: "left the network",
	})

	require.Zero(t, res.Code, res.Log)
	revokedAt := c.Height
	p := providerOf(t, c, s.addr(revoked.Provider))
	require.Equal(t, providertypes.ProviderStatus_PROVIDER_STATUS_UNBONDING, p.Status)
	require.Equal(t, uint64(fileSize), p.StorageUsed, "the committed replica stays its obligation")
	require.Equal(t, sdkmath.NewInt(providerStake), p.Stake, "revocation is not a slash")
	require.True(t, s.holds(t, s.addr(revoked.Provider), first.DealId))
	require.True(t, s.replica(t, first.DealId, 0).Leaving)
	require.True(t, p.Locked().Equal(s.replica(t, first.DealId, 0).Collateral), "its collateral stays locked")
	require.False(t, s.holds(t, s.addr(revoked.Provider), second.DealId), "an uncommitted slot is reassigned at once")

	assigned := typedEvents[*storagetypes.EventReplicaAssigned](t, events)
	require.Len(t, assigned, 2)
	for _, ev := range assigned {
		require.True(t, ev.Repair)
		require.NotEqual(t, revoked.Provider, ev.Provider)
		switch ev.DealId {
		case first.DealId:
			require.Equal(t, uint32(2), ev.Slot, "the successor takes a new slot")
			require.NotEqual(t, keeper.Provider, ev.Provider)
			require.Equal(t, keeper.Provider, ev.Source, "fetch from the replica that stays")
		case second.DealId:
			require.Empty(t, ev.Source, "nobody holds the data yet")
		}
	}
	dropped := typedEvents[*storagetypes.EventReplicaDropped](t, events)
	require.Len(t, dropped, 1)
	require.Equal(t, second.DealId, dropped[0].DealId)
	require.Equal(t, storagekeeper.ReasonProviderDeactivated, dropped[0].Reason)
	// The revoked provider was paid for the blocks it proved, up to its exit.
	require.Equal(t, wantEarned(s.prices[revoked.Provider], fileSize, revokedAt-committed[revoked.Provider]),
		balanceOf(c, s.addr(revoked.Provider)).Sub(before[revoked.Provider]))
	s.requireAccounted(t)

	// Until its successor commits it keeps proving, unpaid, and its stake
	// stays bonded past unbonding_blocks.
	paidAtExit := balanceOf(c, s.addr(revoked.Provider))
	s.advanceTo(t, c.Height+12)
	require.Equal(t, paidAtExit, balanceOf(c, s.addr(revoked.Provider)), "a leaving replica earns nothing more")
	require.True(t, s.holds(t, s.addr(revoked.Provider), first.DealId))

	// The new providers commit; the leaving replica is released cleanly when
	// the window closes.
	s.commitAll(t, first.DealId)
	s.commitAll(t, second.DealId)
	require.True(t, s.holds(t, s.addr(revoked.Provider), first.DealId), "liable until the window closes")
	w, err := c.App.StorageKeeper.CurrentWindow(c.Ctx())
	require.NoError(t, err)
	s.advanceTo(t, w.CloseHeight)
	require.False(t, s.holds(t, s.addr(revoked.Provider), first.DealId))
	p = providerOf(t, c, s.addr(revoked.Provider))
	require.Zero(t, p.StorageUsed)
	require.True(t, p.Locked().IsZero(), "collateral unlocked without a burn")
	require.Equal(t, sdkmath.NewInt(providerStake), p.Stake)
	for _, id := range []uint64{first.DealId, second.DealId} {
		require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, s.deal(t, id).Status)
		replicas, err := c.App.StorageKeeper.DealReplicas(c.Ctx(), id)
		require.NoError(t, err)
		require.Len(t, replicas, int(s.deal(t, id).Replicas))
		for _, r := range replicas {
			require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED, r.Status)
			require.NotEqual(t, revoked.Provider, r.Provider)
		}
	}
	s.silent = []sdk.AccAddress{s.addr(revoked.Provider)}
	s.advanceTo(t, c.Height+12)
	s.requireAccounted(t)
}

// callStorageMsgServer runs msg through x/storage's message server.
func callStorageMsgServer(ctx sdk.Context, ms storagetypes.MsgServer, msg sdk.Msg) error {
	var err error
	switch m := msg.(type) {
	case *storagetypes.MsgCreateDeal:
		_, err = ms.CreateDeal(ctx, m)
	case *storagetypes.MsgCommitReplica:
		_, err = ms.CommitReplica(ctx, m)
	case *storagetypes.MsgSubmitProofs:
		_, err = ms.SubmitProofs(ctx, m)
	case *storagetypes.MsgExtendDeal:
		_, err = ms.ExtendDeal(ctx, m)
	case *storagetypes.MsgCancelDeal:
		_, err = ms.CancelDeal(ctx, m)
	case *storagetypes.MsgClaimEarnings:
		_, err = ms.ClaimEarnings(ctx, m)
	case *storagetypes.MsgUpdateParams:
		_, err = ms.UpdateParams(ctx, m)
	default:
		panic(fmt.Sprintf("not a storage msg: %T", msg))
	}
	return err
}

// stateSnapshot is everything a storage message may touch.
type stateSnapshot struct {
	storage   *storagetypes.GenesisState
	providers *providertypes.GenesisState
	balances  map[string]sdkmath.Int
	escrow    sdkmath.Int
	supply    sdkmath.Int
}

func (s *scenario) snapshot(t *testing.T) stateSnapshot {
	t.Helper()
	ctx := s.c.Ctx()
	st, err := s.c.App.StorageKeeper.ExportGenesis(ctx)
	require.NoError(t, err)
	st.SeedAccumulator = nil // every block folds its hash in, by design
	pr, err := s.c.App.ProviderKeeper.ExportGenesis(ctx)
	require.NoError(t, err)
	return stateSnapshot{storage: st, providers: pr, balances: s.balances(), escrow: s.moduleBalance(), supply: s.totalSupply()}
}

// rejects requires that msg fails with want at the message server
// (require.ErrorIs) and as a transaction signed by signer (ABCI code and
// codespace), and that the transaction changes no state. The block it runs
// in is never one that closes a window.
func (s *scenario) rejects(t *testing.T, signer apptest.Account, msg sdk.Msg, want *errorsmod.Error) {
	t.Helper()
	err := s.c.Exec(func(ctx sdk.Context) error {
		if strings.HasPrefix(sdk.MsgTypeURL(msg), "/stratus.compute.") {
			return callComputeMsgServer(ctx, computekeeper.NewMsgServerImpl(s.c.App.ComputeKeeper), msg)
		}
		return callStorageMsgServer(ctx, storagekeeper.NewMsgServerImpl(s.c.App.StorageKeeper), msg)
	})
	require.ErrorIs(t, err, want)

	w, err := s.c.App.StorageKeeper.CurrentWindow(s.c.Ctx())
	require.NoError(t, err)
	if s.c.Height+1 >= w.CloseHeight {
		s.block(t)
	}
	before := s.snapshot(t)
	results, _ := s.block(t, s.signTx(t, signer, msg))
	require.Equal(t, want.ABCICode(), results[0].Code, results[0].Log)
	require.Equal(t, want.Codespace(), results[0].Codespace)
	require.Equal(t, before, s.snapshot(t), "a rejected %T changed state", msg)
}

// Every message's bad inputs get typed errors and change nothing.
func TestStorageBadInputsChangeNothing(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000)
	c := s.c
	user, other := s.user.Address.String(), s.other.Address.String()
	// Long windows so the proof errors all fit in one and no window closes
	// on a provider that rejects leaves unanswered.
	p := scenarioParams()
	p.ProofWindow, p.CommitTimeout = 400, 1000
	s.setParams(t, p)
	deal := s.createDeal(t, 1, 1000, 2_000_000_000)
	assigned := s.acct(deal.Providers[0])
	var idle apptest.Account
	for _, p := range s.providers {
		if !p.Address.Equals(assigned.Address) {
			idle = p
		}
	}

	create := func(edit func(m *storagetypes.MsgCreateDeal)) *storagetypes.MsgCreateDeal {
		m := &storagetypes.MsgCreateDeal{
			Owner: user, Root: make([]byte, 32), Size_: fileSize, Replicas: 1, DurationBlocks: 100, MaxPrice: decCoin(2_000_000_000),
		}
		edit(m)
		return m
	}
	for _, tc := range []struct {
		name string
		msg  *storagetypes.MsgCreateDeal
		want *errorsmod.Error
	}{
		{"zero size", create(func(m *storagetypes.MsgCreateDeal) { m.Size_ = 0 }), storagetypes.ErrInvalidSize},
		{"size above max", create(func(m *storagetypes.MsgCreateDeal) { m.Size_ = p.MaxDealSize + 1 }), storagetypes.ErrInvalidSize},
		{"short root", create(func(m *storagetypes.MsgCreateDeal) { m.Root = make([]byte, 31) }), storagetypes.ErrInvalidRoot},
		{"long root", create(func(m *storagetypes.MsgCreateDeal) { m.Root = make([]byte, 33) }), storagetypes.ErrInvalidRoot},
		{"zero replicas", create(func(m *storagetypes.MsgCreateDeal) { m.Replicas = 0 }), storagetypes.ErrInvalidReplicas},
		{"replicas above max", create(func(m *storagetypes.MsgCreateDeal) { m.Replicas = p.MaxReplicas + 1 }), storagetypes.ErrInvalidReplicas},
		{"duration below min", create(func(m *storagetypes.MsgCreateDeal) { m.DurationBlocks = p.MinDurationBlocks - 1 }), storagetypes.ErrInvalidDuration},
		{"price in another denom", create(func(m *storagetypes.MsgCreateDeal) {
			m.MaxPrice = sdk.NewDecCoin("uatom", sdkmath.NewInt(2_000_000_000))
		}), storagetypes.ErrInvalidPrice},
		{"zero price", create(func(m *storagetypes.MsgCreateDeal) { m.MaxPrice = decCoin(0) }), storagetypes.ErrInvalidPrice},
		{"more replicas than providers", create(func(m *storagetypes.MsgCreateDeal) { m.Replicas = 3 }), storagetypes.ErrNoProviders},
		{"max price below every provider", create(func(m *storagetypes.MsgCreateDeal) { m.MaxPrice = decCoin(999_999_999) }), storagetypes.ErrNoProviders},
		{"escrow above balance", create(func(m *storagetypes.MsgCreateDeal) { m.MaxPrice = decCoin(10_000_000_000_000_000) }), storagetypes.ErrInsufficientFunds},
	} {
		t.Run("create/"+tc.name, func(t *testing.T) { s.rejects(t, s.user, tc.msg, tc.want) })
	}

	id := deal.DealId
	s.rejects(t, idle, &storagetypes.MsgCommitReplica{Provider: idle.Address.String(), DealId: id}, storagetypes.ErrNotAssigned)
	s.rejects(t, assigned, &storagetypes.MsgCommitReplica{Provider: assigned.Address.String(), DealId: 99}, storagetypes.ErrDealNotFound)
	s.commit(t, assigned.Address.String(), id)
	s.rejects(t, assigned, &storagetypes.MsgCommitReplica{Provider: assigned.Address.String(), DealId: id}, storagetypes.ErrAlreadyCommitted)

	s.rejects(t, s.other, &storagetypes.MsgExtendDeal{Owner: other, DealId: id, AdditionalBlocks: 10}, storagetypes.ErrNotDealOwner)
	s.rejects(t, s.user, &storagetypes.MsgExtendDeal{Owner: user, DealId: id}, storagetypes.ErrInvalidDuration)
	s.rejects(t, s.user, &storagetypes.MsgExtendDeal{Owner: user, DealId: 99, AdditionalBlocks: 10}, storagetypes.ErrDealNotFound)
	s.rejects(t, s.user, &storagetypes.MsgExtendDeal{Owner: user, DealId: id, AdditionalBlocks: p.MaxDurationBlocks}, storagetypes.ErrInvalidDuration)
	s.rejects(t, s.other, &storagetypes.MsgCancelDeal{Owner: other, DealId: id}, storagetypes.ErrNotDealOwner)

	s.rejects(t, idle, &storagetypes.MsgClaimEarnings{Provider: idle.Address.String()}, storagetypes.ErrNothingToClaim)
	s.rejects(t, idle, &storagetypes.MsgClaimEarnings{Provider: idle.Address.String(), DealIds: []uint64{id}}, storagetypes.ErrNotAssigned)

	s.rejects(t, s.other, &storagetypes.MsgUpdateParams{Authority: other, Params: p}, sdkerrors.ErrUnauthorized)
	bad := p
	bad.ProofWindow = 1
	s.rejects(t, c.Authority, &storagetypes.MsgUpdateParams{Authority: c.Authority.Address.String(), Params: bad}, storagetypes.ErrInvalidParams)

	// Proofs: wait for the window that challenges the new replica, with
	// enough of it left for every case.
	for len(s.openChallenges(t, assigned.Address)) == 0 {
		s.block(t)
	}
	w, err := c.App.StorageKeeper.CurrentWindow(c.Ctx())
	require.NoError(t, err)
	require.Greater(t, w.CloseHeight, c.Height+25)
	open := s.openChallenges(t, assigned.Address)
	challenge := open[0]
	good := s.proof(t, id, challenge.LeafIndex)
	sampled := map[uint64]bool{}
	for _, ch := range open {
		sampled[ch.LeafIndex] = true
	}
	var otherLeaf storagetypes.StorageProof
	for leaf := range merkle.LeafCount(fileSize, 1024) {
		if !sampled[leaf] {
			otherLeaf = s.proof(t, id, leaf)
			break
		}
	}
	require.NotNil(t, otherLeaf.Leaf, "some leaf of the deal is not sampled")
	tooMany := make([]storagetypes.StorageProof, storagetypes.MaxProofsPerMsg+1)
	for i := range tooMany {
		tooMany[i] = s.proof(t, id, uint64(i)%merkle.LeafCount(fileSize, 1024))
		tooMany[i].DealId = uint64(i) + 1000 // distinct samples, so only the count is wrong
	}
	shortHash := s.proof(t, id, challenge.LeafIndex)
	shortHash.AuditPath[0] = shortHash.AuditPath[0][:31]
	unchallenged := good
	unchallenged.DealId = 99
	prove := func(proofs ...storagetypes.StorageProof) *storagetypes.MsgSubmitProofs {
		return &storagetypes.MsgSubmitProofs{Provider: assigned.Address.String(), Proofs: proofs}
	}
	s.rejects(t, assigned, prove(unchallenged), storagetypes.ErrNotChallenged)
	s.rejects(t, assigned, prove(otherLeaf), storagetypes.ErrWrongLeafIndex)
	s.rejects(t, assigned, prove(good, good), storagetypes.ErrDuplicateProof)
	s.rejects(t, assigned, prove(tooMany...), storagetypes.ErrTooManyProofs)
	s.rejects(t, assigned, prove(shortHash), storagetypes.ErrMalformedProof)
	s.rejects(t, assigned, prove(), storagetypes.ErrMalformedProof)
	// A good proof in a message that fails answers nothing.
	s.rejects(t, assigned, prove(good, unchallenged), storagetypes.ErrNotChallenged)
	require.Len(t, s.openChallenges(t, assigned.Address), len(open))
	// Another provider cannot answer someone else's samples.
	s.rejects(t, idle, &storagetypes.MsgSubmitProofs{Provider: idle.Address.String(), Proofs: []storagetypes.StorageProof{good}},
		storagetypes.ErrNotChallenged)

	results, _ := s.block(t, s.signTx(t, assigned, prove(good)))
	require.Zero(t, results[0].Code, results[0].Log)
	s.rejects(t, assigned, prove(good), storagetypes.ErrAlreadyProven)
	var rest []storagetypes.StorageProof
	for _, ch := range s.openChallenges(t, assigned.Address) {
		rest = append(rest, s.proof(t, id, ch.LeafIndex))
	}
	results, _ = s.block(t, s.signTx(t, assigned, prove(rest...)))
	require.Zero(t, results[0].Code, results[0].Log)
	require.Empty(t, s.openChallenges(t, assigned.Address))

	// After the window closes its samples are gone: a late answer is refused.
	for c.Height < w.CloseHeight {
		s.block(t)
	}
	late := prove(good)
	late.Window = w.Number
	s.rejects(t, assigned, late, storagetypes.ErrWindowClosed)
	require.Equal(t, sdkmath.NewInt(providerStake), s.stake(t, assigned.Address), "the answered window was no fault")

	// A cancelled deal takes no more messages.
	res, _ := s.deliver(t, s.user, &storagetypes.MsgCancelDeal{Owner: user, DealId: id})
	require.Zero(t, res.Code, res.Log)
	s.rejects(t, s.user, &storagetypes.MsgCancelDeal{Owner: user, DealId: id}, storagetypes.ErrDealNotLive)
	s.rejects(t, s.user, &storagetypes.MsgExtendDeal{Owner: user, DealId: id, AdditionalBlocks: 10}, storagetypes.ErrDealNotLive)
	s.rejects(t, assigned, &storagetypes.MsgCommitReplica{Provider: assigned.Address.String(), DealId: id}, storagetypes.ErrDealNotLive)
	s.requireAccounted(t)
}

// A chain with live deals, replicas in every status, an open window with
// answered and unanswered challenges, and replicas committed since it
// opened exports and imports into a fresh app unchanged, escrow intact.
func TestStorageGenesisExportImportRoundTrip(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	c := s.c
	p := scenarioParams()
	p.ProofWindow = 12
	s.setParams(t, p)

	full := s.createDeal(t, 3, 500, 2_000_000_000)
	s.commitAll(t, full.DealId)
	cancelled := s.createDeal(t, 1, 500, 2_000_000_000)
	res, _ := s.deliver(t, s.user, &storagetypes.MsgCancelDeal{Owner: s.user.Address.String(), DealId: cancelled.DealId})
	require.Zero(t, res.Code, res.Log)
	// Revoking a provider of the 3-replica deal keeps its replica as a
	// leaving obligation and opens a successor slot that stays OPEN: the
	// other two providers already hold the deal.
	revoked := s.replica(t, full.DealId, 2).Provider
	res, _ = s.deliver(t, c.Authority, &membershiptypes.MsgRevokeRole{
		Authority: c.Authority.Address.String(), Address: revoked, Role: membershiptypes.Role_ROLE_PROVIDER,
	})
	require.Zero(t, res.Code, res.Log)
	s.silent = []sdk.AccAddress{s.addr(revoked)}
	require.True(t, s.replica(t, full.DealId, 2).Leaving)
	require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_OPEN, s.replica(t, full.DealId, 3).Status)

	// Just after a window opens: a deal that stays assigned, and one whose
	// replica is committed in this window (challenged only in the next).
	for {
		s.proveBlock(t)
		w, err := c.App.StorageKeeper.CurrentWindow(c.Ctx())
		require.NoError(t, err)
		if w.OpenHeight == c.Height && w.Challenges > 0 {
			break
		}
	}
	// One provider leaves its challenge unanswered for now.
	s.silent = append(s.silent, s.addr(s.replica(t, full.DealId, 0).Provider))
	assigned := s.createDeal(t, 1, 500, 2_000_000_000)
	fresh := s.createDeal(t, 1, 500, 2_000_000_000)
	s.commitAll(t, fresh.DealId)

	gs, err := c.App.StorageKeeper.ExportGenesis(c.Ctx())
	require.NoError(t, err)
	statuses := map[storagetypes.ReplicaStatus]int{}
	for _, r := range gs.Replicas {
		statuses[r.Status]++
	}
	require.Positive(t, statuses[storagetypes.ReplicaStatus_REPLICA_STATUS_OPEN])
	require.Positive(t, statuses[storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED])
	require.Positive(t, statuses[storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED])
	require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED, s.replica(t, assigned.DealId, 0).Status)
	require.NotEmpty(t, gs.NewReplicas)
	require.Greater(t, gs.Window.CloseHeight, c.Height, "the window is still open")
	answered := map[bool]int{}
	for _, duty := range gs.Duties {
		for _, ch := range duty.Samples {
			answered[ch.Answered]++
		}
	}
	require.Positive(t, answered[true])
	require.Positive(t, answered[false])
	dealStatuses := map[storagetypes.DealStatus]bool{}
	for _, d := range gs.Deals {
		dealStatuses[d.Status] = true
	}
	require.True(t, dealStatuses[storagetypes.DealStatus_DEAL_STATUS_CANCELLED])
	require.True(t, dealStatuses[storagetypes.DealStatus_DEAL_STATUS_ACTIVE])
	require.True(t, dealStatuses[storagetypes.DealStatus_DEAL_STATUS_PENDING])
	s.requireConserved(t)

	exported, imported := c.Reimport()

	ctx := imported.NewContextLegacy(true, c.Ctx().BlockHeader())
	require.NoError(t, imported.StorageKeeper.EscrowInvariant(ctx))
	require.NoError(t, imported.ProviderKeeper.StakeInvariant(ctx))
	reexported, err := imported.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	var before, after map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &before))
	require.NoError(t, json.Unmarshal(reexported.AppState, &after))
	for _, module := range []string{storagetypes.ModuleName, providertypes.ModuleName} {
		require.JSONEq(t, withoutSeed(t, before[module]), withoutSeed(t, after[module]), "module %s changed across export/import", module)
	}
	got, err := imported.StorageKeeper.ExportGenesis(ctx)
	require.NoError(t, err)
	gs.SeedAccumulator, got.SeedAccumulator = nil, nil // the imported chain's first block folded its hash in
	require.Equal(t, gs, got)

	// The imported chain goes on: every committed replica is back in its
	// provider's holdings, so windows sample it like on the original chain.
	require.NoError(t, imported.StorageKeeper.HoldingsInvariant(ctx))
	holdings := uint64(0)
	require.NoError(t, imported.StorageKeeper.HoldingCount.Walk(ctx, nil, func(_ sdk.AccAddress, n uint64) (bool, error) {
		holdings += n
		return false, nil
	}))
	require.Equal(t, uint64(statuses[storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED]), holdings)
}
