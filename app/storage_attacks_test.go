package app_test

// The attacks on x/storage's referee that its spec lists, each run against
// the real app and watched to fail. Every test checks escrow, collateral and
// stake conservation and the exact supply (only burns leave it) as it goes.

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/merkle"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	storagekeeper "github.com/stratusnet/stratus/x/storage/keeper"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// run proves n blocks (silent and lacking providers withhold their
// answers), counts what slashing and collateral burns took out of the
// supply, and returns the blocks' events.
func (s *scenario) run(t *testing.T, n int) []sdkEvents {
	t.Helper()
	var out []sdkEvents
	for range n {
		_, events := s.proveBlock(t)
		for _, ev := range typedEvents[*providertypes.EventProviderSlashed](t, events) {
			s.burned = s.burned.Add(ev.Burned.Amount)
		}
		out = append(out, sdkEvents{height: s.c.Height, events: events})
		s.requireAccounted(t)
	}
	return out
}

type sdkEvents struct {
	height int64
	events []abci.Event
}

// failedBlocks sums the blocks of the windows provider failed that lie in
// (from, until], read from the chain's record of failures.
func (s *scenario) failedBlocks(t *testing.T, provider sdk.AccAddress, from, until int64) int64 {
	t.Helper()
	lost := int64(0)
	err := s.c.App.StorageKeeper.FailedWindows.Walk(s.c.Ctx(), collections.NewPrefixedPairRange[sdk.AccAddress, int64](provider),
		func(_ collections.Pair[sdk.AccAddress, int64], f storagetypes.FailedWindow) (bool, error) {
			lost += max(0, min(f.CloseHeight, until)-max(f.OpenHeight, from))
			return false, nil
		})
	require.NoError(t, err)
	return lost
}

// Attack: keep 90% of a replica and answer only the samples that land on
// what is left. Each window samples 8 leaves of the provider's holdings, so
// a window misses the deleted tenth with probability 0.9^8 = 0.43; the
// cheat is caught within a few windows, paid nothing for every window it
// failed, burns collateral each time, and ends with less than the honest
// provider of the same deal at the same price.
func TestStorageAttackDeleteTenPercent(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	const duration = 200
	resp := s.createDeal(t, 2, duration, 2_000_000_000)
	from := s.commitAll(t, resp.DealId)
	honest, cheat := s.replica(t, resp.DealId, 0), s.replica(t, resp.DealId, 1)
	cheatAddr := s.addr(cheat.Provider)
	leaves := merkle.LeafCount(fileSize, 1024)
	require.Equal(t, uint64(10), leaves)
	const deleted = 3 // one leaf in ten
	s.lacks = func(p sdk.AccAddress, c storagetypes.Challenge) bool {
		return p.Equals(cheatAddr) && c.DealId == resp.DealId && c.LeafIndex == deleted
	}
	before := s.balances()
	burnedBefore := s.burned

	caughtAfter := 0
	windows := 0
	for _, b := range s.run(t, 60) {
		windows += len(typedEvents[*storagetypes.EventWindowOpened](t, b.events))
		for _, f := range typedEvents[*storagetypes.EventWindowFailed](t, b.events) {
			require.Equal(t, cheat.Provider, f.Provider, "only the cheat fails a window")
			if caughtAfter == 0 {
				caughtAfter = windows
			}
		}
	}
	require.Positive(t, caughtAfter, "the deleted leaf is sampled")
	// P(not caught within 20 windows) = 0.43^20 < 1e-7 (seeds differ per run).
	require.LessOrEqual(t, caughtAfter, 20)

	// Let the deal run out; whoever still holds a replica is paid at the end.
	d := s.deal(t, resp.DealId)
	for s.c.Height <= d.EndHeight+1 {
		s.run(t, 1)
	}
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ENDED, s.deal(t, resp.DealId).Status)

	honestPaid := balanceOf(s.c, s.addr(honest.Provider)).Sub(before[honest.Provider])
	require.Equal(t, wantEarned(s.prices[honest.Provider], fileSize, d.EndHeight-from[honest.Provider]), honestPaid,
		"the honest provider is paid for every block")
	cheatPaid := balanceOf(s.c, cheatAddr).Sub(before[cheat.Provider])
	// The cheat is paid for its proven windows only: up to its drop, or to
	// the end, minus every failed window.
	var failures []storagetypes.FailedWindow
	require.NoError(t, s.c.App.StorageKeeper.FailedWindows.Walk(s.c.Ctx(),
		collections.NewPrefixedPairRange[sdk.AccAddress, int64](cheatAddr),
		func(_ collections.Pair[sdk.AccAddress, int64], f storagetypes.FailedWindow) (bool, error) {
			failures = append(failures, f)
			return false, nil
		}))
	require.NotEmpty(t, failures)
	require.True(t, cheatPaid.LT(honestPaid), "failed windows are not paid")
	lostBlocks := s.failedBlocks(t, cheatAddr, from[cheat.Provider], d.EndHeight)
	require.Positive(t, lostBlocks)
	require.True(t, cheatPaid.LTE(wantEarned(s.prices[cheat.Provider], fileSize, d.EndHeight-from[cheat.Provider]-lostBlocks)))

	// Net of what it burned, the cheat ends far below the honest provider.
	cheatStake := sdkmath.ZeroInt()
	if p, err := s.c.App.ProviderKeeper.GetProvider(s.c.Ctx(), cheatAddr); err == nil {
		cheatStake = p.Stake
	}
	lost := sdkmath.NewInt(providerStake).Sub(cheatStake)
	require.True(t, lost.IsPositive(), "collateral and stake burned")
	require.True(t, s.burned.Sub(burnedBefore).GTE(lost))
	require.True(t, cheatPaid.Sub(lost).LT(honestPaid), "cheating pays less than keeping the data")
	require.Equal(t, sdkmath.NewInt(providerStake), s.stake(t, s.addr(honest.Provider)), "the honest provider loses nothing")
	s.requireAccounted(t)
}

// Attack: stop the daemon (stop paying for storage) and hope to be paid
// anyway. The provider is paid exactly up to the end of its last proven
// window; the blocks after it go back to the owner.
func TestStorageAttackStoppedDaemonPaidToLastProvenWindow(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	resp := s.createDeal(t, 2, 200, 2_000_000_000)
	from := s.commitAll(t, resp.DealId)
	stopper := s.replica(t, resp.DealId, 1)
	addr := s.addr(stopper.Provider)
	before := s.balances()
	s.run(t, 23) // several proven windows
	s.silent = []sdk.AccAddress{addr}

	var dropped []*storagetypes.EventReplicaDropped
	for range 40 {
		for _, b := range s.run(t, 1) {
			dropped = append(dropped, typedEvents[*storagetypes.EventReplicaDropped](t, b.events)...)
		}
		if len(dropped) > 0 {
			break
		}
	}
	require.Len(t, dropped, 1)
	require.Equal(t, storagekeeper.ReasonMissedProofs, dropped[0].Reason)
	require.False(t, s.holds(t, addr, resp.DealId))

	var first storagetypes.FailedWindow
	require.NoError(t, s.c.App.StorageKeeper.FailedWindows.Walk(s.c.Ctx(),
		collections.NewPrefixedPairRange[sdk.AccAddress, int64](addr),
		func(_ collections.Pair[sdk.AccAddress, int64], f storagetypes.FailedWindow) (bool, error) {
			first = f
			return true, nil
		}))
	require.Positive(t, first.OpenHeight, "the silence was recorded as failed windows")
	paid := balanceOf(s.c, addr).Sub(before[stopper.Provider])
	require.Equal(t, wantEarned(s.prices[stopper.Provider], fileSize, first.OpenHeight-from[stopper.Provider]).String(), paid.String(),
		"paid up to the end of the last proven window, not a block more")
	// The stopped provider lost its whole collateral for the replica.
	require.True(t, providerOf(t, s.c, addr).Locked().IsZero())
	require.True(t, s.stake(t, addr).LT(sdkmath.NewInt(providerStake)))
	s.requireAccounted(t)
}

// Attack: delete a replica, and when it is challenged unbond to escape the
// challenge and take the stake home. The open challenge is still judged:
// the miss burns collateral and stake, the stake stays bonded while the
// replica has no committed successor, and registering again keeps the
// faults.
func TestStorageAttackUnbondWhileChallenged(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	pp := providertypes.DefaultParams()
	pp.UnbondingBlocks = 1
	res := s.c.DeliverTx(s.c.Authority, &providertypes.MsgUpdateParams{Authority: s.c.Authority.Address.String(), Params: pp})
	require.Zero(t, res.Code, res.Log)
	params := scenarioParams()
	params.CommitTimeout = 50
	s.setParams(t, params)

	resp := s.createDeal(t, 2, 300, 2_000_000_000)
	s.commitAll(t, resp.DealId)
	s.run(t, 12)
	runner := s.replica(t, resp.DealId, 1)
	addr := s.addr(runner.Provider)
	s.silent = []sdk.AccAddress{addr} // the data is gone
	for len(s.openChallenges(t, addr)) == 0 {
		s.run(t, 1)
	}
	w, err := s.c.App.StorageKeeper.CurrentWindow(s.c.Ctx())
	require.NoError(t, err)
	stakeBefore := s.stake(t, addr)

	res2, _ := s.deliver(t, s.acct(runner.Provider), &providertypes.MsgUnbondProvider{Provider: runner.Provider})
	require.Zero(t, res2.Code, res2.Log)
	require.Less(t, s.c.Height+1, w.CloseHeight, "unbonding_blocks pass before the window closes")
	require.NotEmpty(t, s.openChallenges(t, addr), "unbonding clears no challenge")
	require.True(t, s.holds(t, addr, resp.DealId), "the replica stays its obligation")

	// Even a successor that commits at once, inside the window, does not
	// take the sample away: the leaving replica is released only when the
	// window closes, after it was judged.
	s.commitAll(t, resp.DealId)
	require.Less(t, s.c.Height, w.CloseHeight)
	require.True(t, s.holds(t, addr, resp.DealId), "released at the close, not before")
	require.NotEmpty(t, s.openChallenges(t, addr), "still owed")
	// Past unbonding_blocks (1) the stake is still bonded.
	p := providerOf(t, s.c, addr)
	require.Equal(t, providertypes.ProviderStatus_PROVIDER_STATUS_UNBONDING, p.Status)
	require.Positive(t, p.StorageUsed)

	var faults []*storagetypes.EventFault
	for s.c.Height <= w.CloseHeight {
		for _, b := range s.run(t, 1) {
			faults = append(faults, typedEvents[*storagetypes.EventFault](t, b.events)...)
		}
	}
	require.Len(t, faults, 1, "the open challenge is judged")
	require.Equal(t, runner.Provider, faults[0].Provider)
	require.NotEqual(t, "0", faults[0].CollateralBurned)
	require.True(t, s.stake(t, addr).LT(stakeBefore), "slashed while unbonding")
	require.False(t, s.holds(t, addr, resp.DealId), "released once judged")

	// The stake comes back only after that, minus what was burned.
	faultsBefore := providerOf(t, s.c, addr).Faults
	require.Positive(t, faultsBefore)
	stakeLeft := s.stake(t, addr)
	balance := balanceOf(s.c, addr)
	for range 30 {
		if _, err := s.c.App.ProviderKeeper.GetProvider(s.c.Ctx(), addr); err != nil {
			break
		}
		s.run(t, 1)
	}
	_, err = s.c.App.ProviderKeeper.GetProvider(s.c.Ctx(), addr)
	require.ErrorIs(t, err, providertypes.ErrProviderNotFound)
	require.Equal(t, balance.Add(stakeLeft), balanceOf(s.c, addr), "what is left of the stake came back")
	require.True(t, stakeLeft.LT(sdkmath.NewInt(providerStake)))

	// Registering again does not wipe the record.
	msg := registerProviderMsg(addr, providerStake)
	msg.StoragePrice = decCoin(1_000_000_000)
	res3, _ := s.deliver(t, s.acct(runner.Provider), msg)
	require.Zero(t, res3.Code, res3.Log)
	require.Equal(t, faultsBefore, providerOf(t, s.c, addr).Faults)
	s.requireAccounted(t)
}

// Attack: dilute the audit with many tiny deals. Samples are drawn per
// provider, so 10,000 tiny deals of another owner change neither how many
// samples a given provider gets each window nor where they land.
func TestStorageAttackTinyDealsDoNotDilute(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	params := scenarioParams()
	params.ProofWindow = 50
	params.CommitTimeout = 1000
	s.setParams(t, params)
	resp := s.createDeal(t, 1, 2000, 2_000_000_000)
	s.commitAll(t, resp.DealId)
	target := s.addr(s.replica(t, resp.DealId, 0).Provider)
	samplesOf := func() int {
		// The window after next: no fresh replica of its own adds a sample.
		for range 2 {
			w, err := s.c.App.StorageKeeper.CurrentWindow(s.c.Ctx())
			require.NoError(t, err)
			for s.c.Height < w.CloseHeight+1 {
				s.run(t, 1)
			}
		}
		duty, err := s.c.App.StorageKeeper.Duties.Get(s.c.Ctx(), target)
		require.NoError(t, err)
		for _, x := range duty.Samples {
			require.Equal(t, resp.DealId, x.DealId, "the target's samples land on its own replicas")
		}
		return len(duty.Samples)
	}
	alone := samplesOf()
	require.Equal(t, int(params.SamplesPerWindow), alone, "samples_per_window distinct leaves")

	// 10,000 one-byte deals by another owner, committed by the others.
	others := []sdk.AccAddress{}
	for _, p := range s.providers {
		if !p.Address.Equals(target) {
			others = append(others, p.Address)
		}
	}
	root := merkle.HashLeaf([]byte{7})
	require.NoError(t, s.c.Exec(func(ctx sdk.Context) error {
		k := s.c.App.StorageKeeper
		for i := range 10_000 {
			res, err := k.CreateDealWithHolders(ctx, &storagetypes.MsgCreateDeal{
				Owner: s.other.Address.String(), Root: root[:], Size_: 1, Replicas: 1, DurationBlocks: 2000,
				MaxPrice: decCoin(2_000_000_000),
			}, []sdk.AccAddress{others[i%len(others)]}, 1024)
			if err != nil {
				return err
			}
			s.files[res.DealId] = []byte{7}
		}
		return nil
	}))
	s.requireAccounted(t)
	require.Equal(t, alone, samplesOf(), "10,000 tiny deals elsewhere change nothing for the target")
}

// 10,000 deals ending at one height end over several blocks, at most
// max_expiries_per_block each, and every owner gets exactly its unspent
// escrow back.
func TestStorageManyDealsEndAtOneHeight(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000)
	params := scenarioParams()
	params.CommitTimeout = 10_000
	params.MaxExpiriesPerBlock = 1_500
	s.setParams(t, params)
	const n = 10_000
	root := merkle.HashLeaf([]byte{9})
	escrows := sdkmath.ZeroInt()
	ownerBefore := balanceOf(s.c, s.other.Address)
	var end int64
	require.NoError(t, s.c.Exec(func(ctx sdk.Context) error {
		end = ctx.BlockHeight() + 20
		for range n {
			res, err := s.c.App.StorageKeeper.CreateDeal(ctx, &storagetypes.MsgCreateDeal{
				Owner: s.other.Address.String(), Root: root[:], Size_: 1, Replicas: 1, DurationBlocks: 20,
				MaxPrice: decCoin(2_000_000_000),
			})
			if err != nil {
				return err
			}
			escrows = escrows.Add(res.Escrow.Amount)
		}
		return nil
	}))
	require.Equal(t, ownerBefore.Sub(escrows), balanceOf(s.c, s.other.Address))
	s.requireAccounted(t)

	for s.c.Height < end-1 {
		s.run(t, 1)
	}
	blocks := 0
	live := func() int {
		count := 0
		require.NoError(t, s.c.App.StorageKeeper.DealsByEnd.Walk(s.c.Ctx(), nil, func(collections.Pair[int64, uint64]) (bool, error) {
			count++
			return false, nil
		}))
		return count
	}
	for left := live(); left > 0; {
		s.run(t, 1)
		blocks++
		now := live()
		require.LessOrEqual(t, left-now, int(params.MaxExpiriesPerBlock), "at most max_expiries_per_block per block")
		left = now
		require.Less(t, blocks, 20)
	}
	require.Equal(t, (n+int(params.MaxExpiriesPerBlock)-1)/int(params.MaxExpiriesPerBlock), blocks)
	require.Equal(t, ownerBefore, balanceOf(s.c, s.other.Address), "never-stored deals refund every unit of escrow")
	require.True(t, s.moduleBalance().IsZero())
	s.requireAccounted(t)
}

// Attack: reserve providers' capacity with deals whose data never comes.
// The deal fee is never refunded: it goes to the providers that reserved
// space, and only the escrow comes back when the deal fails.
func TestStorageAttackUnusedDealForfeitsFee(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	params := scenarioParams()
	params.DealFee = sdk.NewInt64Coin(app.BondDenom, 9_001)
	params.MinBillableBytes = 1 << 20
	s.setParams(t, params)
	before := s.balances()
	resp := s.createDeal(t, 2, 100, 2_000_000_000)
	require.Equal(t, wantEscrow(2_000_000_000, 1<<20, 100, 2), resp.Escrow.Amount, "billed for min_billable_bytes")
	require.Equal(t, sdkmath.NewInt(9_001), s.deal(t, resp.DealId).Fee.Amount)
	feeTo := map[string]sdkmath.Int{}
	for i, p := range resp.Providers {
		share := sdkmath.NewInt(4_500)
		if i == 0 {
			share = share.AddRaw(1)
		}
		feeTo[p] = share
		require.Equal(t, share, balanceOf(s.c, s.addr(p)).Sub(before[p]), "the fee pays the reserving provider at once")
	}
	for s.deal(t, resp.DealId).Status == storagetypes.DealStatus_DEAL_STATUS_PENDING {
		s.run(t, 1)
	}
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_FAILED, s.deal(t, resp.DealId).Status)
	require.Equal(t, before[s.user.Address.String()].SubRaw(9_001), balanceOf(s.c, s.user.Address), "escrow back, fee kept")
	s.requireAccounted(t)
}

// Collateral comes out of free stake: a provider bonded at exactly
// min_stake has none and is never picked; the one with room locks
// collateral_ratio x its price x size x duration.
func TestStorageCollateralFromFreeStake(t *testing.T) {
	s := newScenario(t, 1_000_000_000)
	// A second provider at exactly min_stake.
	poor := s.other
	res := s.c.DeliverTx(s.c.Authority, &membershiptypes.MsgGrantRole{
		Authority: s.c.Authority.Address.String(), Address: poor.Address.String(), Role: membershiptypes.Role_ROLE_PROVIDER,
		Description: "bonded at min_stake",
	})
	require.Zero(t, res.Code, res.Log)
	msg := registerProviderMsg(poor.Address, providertypes.DefaultMinStake.Int64())
	msg.StoragePrice = decCoin(1)
	res = s.c.DeliverTx(poor, msg)
	require.Zero(t, res.Code, res.Log)

	resp := s.createDeal(t, 1, 100, 2_000_000_000)
	require.Equal(t, []string{s.providers[0].Address.String()}, resp.Providers, "the cheaper provider has no free stake")
	require.True(t, s.replica(t, resp.DealId, 0).Collateral.IsZero(), "nothing is locked before the data arrives")
	require.True(t, providerOf(t, s.c, s.providers[0].Address).Locked().IsZero())
	s.commitAll(t, resp.DealId)
	r := s.replica(t, resp.DealId, 0)
	want := wantEscrow(2*1_000_000_000, fileSize, s.deal(t, resp.DealId).EndHeight-r.CommittedHeight, 1)
	require.Equal(t, want, r.Collateral)
	require.Equal(t, want, providerOf(t, s.c, s.providers[0].Address).Locked())
	res2, _ := s.deliver(t, s.user, &storagetypes.MsgCreateDeal{
		Owner: s.user.Address.String(), Root: make([]byte, 32), Size_: fileSize, Replicas: 2, DurationBlocks: 100,
		MaxPrice: decCoin(2_000_000_000),
	})
	require.Equal(t, storagetypes.ErrNoProviders.ABCICode(), res2.Code, res2.Log)
	s.requireAccounted(t)
}

// An outage is one fault a window, not one per replica: a provider that
// misses a window in which several of its replicas were sampled is slashed
// once (and each replica still burns its own collateral).
func TestStorageOutageSlashesOncePerWindow(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000)
	var ids []uint64
	for range 4 {
		resp := s.createDeal(t, 2, 300, 2_000_000_000) // both providers hold every deal
		s.commitAll(t, resp.DealId)
		ids = append(ids, resp.DealId)
	}
	down := s.addr(s.replica(t, ids[0], 0).Provider)
	held := 0
	for _, id := range ids {
		if s.holds(t, down, id) {
			held++
		}
	}
	require.Equal(t, 4, held)
	s.run(t, 6)
	s.silent = []sdk.AccAddress{down}
	for {
		// The replicas the window sampled (seeds differ from run to run).
		sampled := map[uint64]bool{}
		for _, c := range s.openChallenges(t, down) {
			sampled[c.DealId] = true
		}
		var faults []*storagetypes.EventFault
		var slashes []*providertypes.EventProviderSlashed
		for _, b := range s.run(t, 1) {
			faults = append(faults, typedEvents[*storagetypes.EventFault](t, b.events)...)
			for _, ev := range typedEvents[*providertypes.EventProviderSlashed](t, b.events) {
				if ev.Address == down.String() && !ev.Fraction.IsZero() {
					slashes = append(slashes, ev)
				}
			}
		}
		if len(faults) == 0 {
			continue
		}
		require.Len(t, faults, len(sampled), "every sampled replica of the provider misses")
		require.GreaterOrEqual(t, len(faults), 2, "8 samples over 4 replicas hit several")
		require.Len(t, slashes, 1, "one stake slash for the window")
		require.Equal(t, sdkmath.LegacyNewDecWithPrec(1, 2), slashes[0].Fraction, "slash_missed")
		burns := 0
		for _, f := range faults {
			if f.CollateralBurned != "0" {
				burns++
			}
		}
		require.Equal(t, len(faults), burns, "each replica burns its own collateral")
		break
	}
	s.requireAccounted(t)
}

// Attack (by an owner): extend a deal beyond what its provider's free stake
// can collateralise, to push the provider out of a deal it serves. The
// extension locks what the free stake allows and the provider stays, paid.
func TestStorageExtensionCannotPushAProviderOut(t *testing.T) {
	s := newScenario(t, 1_000_000_000)
	resp := s.createDeal(t, 1, 100, 2_000_000_000)
	s.commitAll(t, resp.DealId)
	addr := s.addr(resp.Providers[0])
	before := s.replica(t, resp.DealId, 0).Collateral
	minStake := providertypes.DefaultMinStake
	free := providerOf(t, s.c, addr).FreeStake(minStake)
	require.True(t, free.IsPositive())

	res, _ := s.deliver(t, s.user, &storagetypes.MsgExtendDeal{Owner: s.user.Address.String(), DealId: resp.DealId, AdditionalBlocks: 100_000})
	require.Zero(t, res.Code, res.Log)

	r := s.replica(t, resp.DealId, 0)
	require.Equal(t, addr.String(), r.Provider)
	require.False(t, r.Leaving, "not pushed out")
	require.Equal(t, before.Add(free).String(), r.Collateral.String(), "locks all its free stake, no more")
	require.True(t, providerOf(t, s.c, addr).FreeStake(minStake).IsZero())
	replicas, err := s.c.App.StorageKeeper.DealReplicas(s.c.Ctx(), resp.DealId)
	require.NoError(t, err)
	require.Len(t, replicas, 1, "no handover slot")
	s.requireAccounted(t)
}
