package keeper

// Benchmarks of the work x/storage does per block and per proof message.
// The fixture keeps state in a real IAVL store and fakes x/provider and
// x/bank in memory, so the gas reported is x/storage's own store gas (and
// its verification gas), never the bank transfers, slashes or provider
// picks it triggers. Figures and commands are in docs/benchmarks.md.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/cosmos/cosmos-sdk/codec/address"
	codectestutil "github.com/cosmos/cosmos-sdk/codec/testutil"
	"github.com/cosmos/cosmos-sdk/runtime"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	"github.com/cosmos/gogoproto/proto"

	"github.com/stratusnet/stratus/merkle"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	"github.com/stratusnet/stratus/x/storage/types"
)

const (
	benchDenom = "ustrat"
	benchSlots = 3 // replicas per deal
	benchChunk = merkle.DefaultChunkSize
	benchStart = int64(1_000)
	// benchBigFile is the size of the deals of the turnover states: 1 GiB,
	// 2^20 leaves each, so a sample's leaf index is a full-size number.
	benchBigFile = uint64(1) << 30
)

// benchPrice is every provider's storage price, per GiB-block; deals' max
// price is twice it.
var benchPrice = math.LegacyNewDec(1_000_000)

// benchProviderKeeper stands in for x/provider: every provider is active,
// has room and stake; collateral is counted in CollateralLocked so the
// keeper's invariant can compare it with the replicas'. Slash and
// BurnCollateral burn nothing (BurnCollateral only unlocks).
type benchProviderKeeper struct {
	addrs []sdk.AccAddress // what PickProviders draws from
	info  map[string]providertypes.Provider
}

func (p *benchProviderKeeper) add(addr sdk.AccAddress, pick bool) {
	if pick {
		p.addrs = append(p.addrs, addr)
	}
	p.info[string(addr)] = providertypes.Provider{
		Address: addr.String(), Status: providertypes.ProviderStatus_PROVIDER_STATUS_ACTIVE,
		StoragePrice: sdk.NewDecCoinFromDec(benchDenom, benchPrice), Stake: math.NewInt(1 << 62),
		StorageCapacity: 1 << 50, CollateralLocked: math.ZeroInt(),
	}
}

func (p *benchProviderKeeper) GetProvider(_ context.Context, addr sdk.AccAddress) (providertypes.Provider, error) {
	info, ok := p.info[string(addr)]
	if !ok {
		return info, providertypes.ErrProviderNotFound
	}
	return info, nil
}
func (*benchProviderKeeper) ReserveStorage(context.Context, sdk.AccAddress, uint64) error { return nil }
func (*benchProviderKeeper) ReleaseStorage(context.Context, sdk.AccAddress, uint64) error { return nil }
func (*benchProviderKeeper) Slash(context.Context, sdk.AccAddress, math.LegacyDec, string) (math.Int, error) {
	return math.ZeroInt(), nil
}
func (*benchProviderKeeper) MinStake(context.Context) (math.Int, error) { return math.ZeroInt(), nil }

func (p *benchProviderKeeper) LockCollateral(_ context.Context, addr sdk.AccAddress, amount math.Int) error {
	info, ok := p.info[string(addr)]
	if !ok {
		return providertypes.ErrProviderNotFound
	}
	info.CollateralLocked = info.Locked().Add(amount)
	p.info[string(addr)] = info
	return nil
}

func (p *benchProviderKeeper) UnlockCollateral(_ context.Context, addr sdk.AccAddress, amount math.Int) error {
	info, ok := p.info[string(addr)]
	if !ok || !amount.IsPositive() {
		return nil
	}
	info.CollateralLocked = math.MaxInt(info.Locked().Sub(amount), math.ZeroInt())
	p.info[string(addr)] = info
	return nil
}

func (p *benchProviderKeeper) BurnCollateral(ctx context.Context, addr sdk.AccAddress, amount math.Int, _ string) (math.Int, error) {
	return math.ZeroInt(), p.UnlockCollateral(ctx, addr, amount)
}

func (p *benchProviderKeeper) PickProviders(_ context.Context, c providertypes.PickCriteria) ([]sdk.AccAddress, error) {
	excluded := map[string]bool{}
	for _, a := range c.Exclude {
		excluded[string(a)] = true
	}
	start := int(binary.BigEndian.Uint32(c.Seed) % uint32(len(p.addrs)))
	var out []sdk.AccAddress
	for i := 0; i < len(p.addrs) && len(out) < c.Count; i++ {
		a := p.addrs[(start+i)%len(p.addrs)]
		if !excluded[string(a)] {
			out = append(out, a)
		}
	}
	return out, nil
}

// benchBank keeps balances in memory.
type benchBank struct{ balances map[string]sdk.Coins }

func (b *benchBank) GetBalance(_ context.Context, addr sdk.AccAddress, d string) sdk.Coin {
	return sdk.NewCoin(d, b.balances[string(addr)].AmountOf(d))
}

func (b *benchBank) move(from, to sdk.AccAddress, amt sdk.Coins) error {
	left, neg := b.balances[string(from)].SafeSub(amt...)
	if neg {
		return fmt.Errorf("insufficient funds: %s < %s", b.balances[string(from)], amt)
	}
	b.balances[string(from)] = left
	b.balances[string(to)] = b.balances[string(to)].Add(amt...)
	return nil
}

func (b *benchBank) SendCoinsFromAccountToModule(_ context.Context, from sdk.AccAddress, module string, amt sdk.Coins) error {
	return b.move(from, authtypes.NewModuleAddress(module), amt)
}

func (b *benchBank) SendCoinsFromModuleToAccount(_ context.Context, module string, to sdk.AccAddress, amt sdk.Coins) error {
	return b.move(authtypes.NewModuleAddress(module), to, amt)
}

type benchAccounts struct{}

func (benchAccounts) GetModuleAddress(name string) sdk.AccAddress {
	return authtypes.NewModuleAddress(name)
}

// benchState is a keeper over an IAVL store and the fakes it talks to.
type benchState struct {
	ctx       sdk.Context // over the commit multistore itself
	cms       storetypes.CommitMultiStore
	k         *Keeper
	params    types.Params
	providers *benchProviderKeeper
	bank      *benchBank
	owner     sdk.AccAddress
	module    sdk.AccAddress
	scenario  turnoverScenario // what the open window's duties are set up as
	checked   map[string]bool  // invariant checks done, by benchmark
}

func newBenchState(b *testing.B, params types.Params, providers int) *benchState {
	b.Helper()
	key := storetypes.NewKVStoreKey(types.StoreKey)
	tctx := testutil.DefaultContextWithDB(b, key, storetypes.NewTransientStoreKey("transient_bench"))
	prefix := sdk.GetConfig().GetBech32AccountAddrPrefix()
	cdc := codectestutil.CodecOptions{AccAddressPrefix: prefix}.NewCodec()
	ac := address.NewBech32Codec(prefix)
	s := &benchState{
		params:    params,
		providers: &benchProviderKeeper{info: map[string]providertypes.Provider{}},
		bank:      &benchBank{balances: map[string]sdk.Coins{}},
		owner:     sdk.AccAddress("bench-owner-00000000"),
		module:    authtypes.NewModuleAddress(types.ModuleName),
		checked:   map[string]bool{},
	}
	for i := range providers {
		s.providers.add(sdk.AccAddress(fmt.Appendf(nil, "bench-provider-%05d", i)), true)
	}
	authority := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	s.k = NewKeeper(cdc, runtime.NewKVStoreService(key), ac, authority, benchDenom, s.providers, s.bank, benchAccounts{})
	s.cms = tctx.CMS
	s.ctx = tctx.Ctx.WithBlockHeight(benchStart).WithEventManager(sdk.NewEventManager())
	if err := s.k.InitGenesis(s.ctx, &types.GenesisState{Params: params, NextDealId: 1}); err != nil {
		b.Fatal(err)
	}
	s.commit()
	return s
}

func (s *benchState) commit() { s.cms.Commit() }

// dealSpec is a deal to write straight into the store.
type dealSpec struct {
	root      []byte
	size      uint64
	end       int64
	earnsFrom int64
	holders   []sdk.AccAddress // one committed replica each, slot = index
}

// addDeal writes an ACTIVE deal whose replicas are all COMMITTED, as
// CreateDeal and CommitReplica leave them, except that the replicas are not
// in NewReplicas (they are old) and lock no collateral. The escrow is the
// full one at max price and is credited to the module account.
func (s *benchState) addDeal(b *testing.B, ctx context.Context, spec dealSpec) uint64 {
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	id, err := s.k.NextDealID.Next(ctx)
	must(err)
	billable := max(spec.size, s.params.MinBillableBytes)
	maxPrice := sdk.NewDecCoinFromDec(benchDenom, benchPrice.MulInt64(2))
	escrow := sdk.NewCoin(benchDenom, types.EscrowFor(maxPrice.Amount, billable, uint64(spec.end-1), uint32(len(spec.holders))))
	d := types.Deal{
		Id: id, Owner: s.owner.String(), Root: spec.root, Size_: spec.size, ChunkSize: benchChunk,
		Replicas: uint32(len(spec.holders)), MaxPrice: maxPrice, Escrow: escrow,
		Status: types.DealStatus_DEAL_STATUS_ACTIVE, CreatedHeight: 1, EndHeight: spec.end,
		Fee: sdk.NewInt64Coin(benchDenom, 0), NextSlot: uint32(len(spec.holders)), BillableBytes: billable,
	}
	s.bank.balances[string(s.module)] = s.bank.balances[string(s.module)].Add(escrow)
	must(s.k.setDeal(ctx, d))
	must(s.k.DealsByOwner.Set(ctx, collections.Join(s.owner, id)))
	must(s.k.DealsByEnd.Set(ctx, collections.Join(d.EndHeight, id)))
	weight := merkle.LeafCount(spec.size, benchChunk)
	for i, p := range spec.holders {
		slot := uint32(i)
		r := types.Replica{
			DealId: id, Slot: slot, Provider: p.String(), Status: types.ReplicaStatus_REPLICA_STATUS_COMMITTED,
			Price: s.providers.info[string(p)].StoragePrice, AssignedHeight: 1, CommitDeadline: 101,
			CommittedHeight: 2, PaidUntil: 2, Paid: math.ZeroInt(), Collateral: math.ZeroInt(), EarnsFrom: spec.earnsFrom,
		}
		must(s.k.Replicas.Set(ctx, collections.Join(id, slot), r))
		must(s.k.ReplicasByProvider.Set(ctx, collections.Join(p, id), slot))
		must(s.k.holdingAdd(ctx, p, types.ReplicaRef{DealId: id, Slot: slot, Weight: weight}))
	}
	return id
}

// populate writes n committed replicas of 1 GiB deals (benchSlots replicas
// each, the last deal taking the remainder) spread evenly over the
// providers, and commits them. It writes through one branch, as a block
// would, then commits it once.
func (s *benchState) populate(b *testing.B, n int) {
	b.Helper()
	branch := s.cms.CacheMultiStore()
	ctx := s.ctx.WithMultiStore(branch)
	next := 0
	for i := 0; n > 0; i++ {
		holders := make([]sdk.AccAddress, min(benchSlots, n))
		for j := range holders {
			holders[j] = s.providers.addrs[next%len(s.providers.addrs)]
			next++
		}
		var root [32]byte
		binary.BigEndian.PutUint64(root[:], uint64(i))
		s.addDeal(b, ctx, dealSpec{root: root[:], size: benchBigFile, end: benchStart + 1_000_000, earnsFrom: 2, holders: holders})
		n -= len(holders)
	}
	branch.Write()
	s.commit()
}

// block runs fn as block h runs on a chain: on a branch of the committed
// store, with a fresh infinite gas meter, event manager and a header hash
// that varies with h. Only fn is timed. keep writes the branch back and
// commits it (untimed), as the chain does after every block; otherwise the
// branch and whatever the block did to the fakes are thrown away, so the
// same block can be measured again on the same state. after, if set, runs
// untimed on the block's context before it is thrown away or kept.
func (s *benchState) block(b *testing.B, h int64, keep bool, fn func(ctx context.Context) error, after func(ctx sdk.Context)) blockResult {
	b.Helper()
	bal, info := maps.Clone(s.bank.balances), maps.Clone(s.providers.info)
	meter := storetypes.NewInfiniteGasMeter()
	hash := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(h)))
	branch := s.cms.CacheMultiStore()
	ctx := s.ctx.WithMultiStore(branch).WithBlockHeight(h).WithHeaderHash(hash[:]).
		WithGasMeter(meter).WithEventManager(sdk.NewEventManager())
	b.StartTimer()
	start := time.Now()
	err := fn(ctx)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("block %d: %v", h, err)
	}
	res := blockResult{gas: meter.GasConsumed(), elapsed: elapsed, events: ctx.EventManager().Events()}
	if after != nil {
		after(ctx)
	}
	if keep {
		branch.Write()
		s.commit()
	} else {
		s.bank.balances, s.providers.info = bal, info
	}
	return res
}

type blockResult struct {
	gas     uint64
	elapsed time.Duration
	events  sdk.Events
}

// count is how many events of msg's type the block emitted.
func (r blockResult) count(msg proto.Message) int {
	name, n := proto.MessageName(msg), 0
	for _, e := range r.events {
		if e.Type == name {
			n++
		}
	}
	return n
}

func (s *benchState) window(b *testing.B) types.Window {
	w, err := s.k.CurrentWindow(s.ctx)
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// checkOnce runs the keeper's escrow and holdings invariants on ctx, once
// per state and label: they walk every replica.
func (s *benchState) checkOnce(b *testing.B, label string, ctx sdk.Context) {
	if s.checked[label] {
		return
	}
	s.checked[label] = true
	if err := s.k.EscrowInvariant(ctx); err != nil {
		b.Fatalf("%s: %v", label, err)
	}
}

// benchParams are the defaults (samples_per_window 8, proof_window 100), with
// the fee in the bench's denom.
func benchParams() types.Params {
	p := types.DefaultParams()
	p.DealFee = sdk.NewInt64Coin(benchDenom, p.DealFee.Amount.Int64())
	return p
}

// The turnover matrix.
var (
	benchReplicaCounts  = []int{1_000, 10_000, 100_000}
	benchProviderCounts = []int{10, 100, 1_000}
)

// benchStates caches the populated turnover states across the rounds the
// testing package runs to pick b.N and across the benchmarks that share
// them: populating 100,000 replicas takes seconds. Measured blocks are
// thrown away (see block), so a cached state never changes but for the
// duty set-up of turnoverScenario, which each benchmark asks for.
var benchStates = map[[2]int]*benchState{}

// populated is the state of n committed replicas over p providers, inside
// the first proof window (opened at benchStart, closing at benchStart+100),
// whose duties are as the open left them: samples_per_window weighted
// samples per provider, none answered.
func populated(b *testing.B, n, p int) *benchState {
	if s, ok := benchStates[[2]int{n, p}]; ok {
		return s
	}
	start := time.Now()
	s := newBenchState(b, benchParams(), p)
	s.populate(b, n)
	s.block(b, benchStart, true, s.k.EndBlocker, nil)
	s.checkOnce(b, "populate", s.ctx)
	b.Logf("populated %d replicas over %d providers in %s", n, p, time.Since(start).Round(time.Millisecond))
	benchStates[[2]int{n, p}] = s
	return s
}

// turnoverScenario is how the duties of the window about to close stand.
type turnoverScenario int

const (
	// scenarioMissed: no sample answered, no replica missed before.
	scenarioMissed turnoverScenario = iota
	// scenarioAnswered: every sample answered (the healthy network).
	scenarioAnswered
	// scenarioDrops: no sample answered, and every sampled replica has
	// missed max_missed-1 windows already (it is a suspect), so this miss
	// drops it and its slot is repaired.
	scenarioDrops
)

// setScenario rewrites the open window's duties, and the sampled replicas'
// miss counts, for sc, and commits. It is untimed set-up.
func (s *benchState) setScenario(b *testing.B, sc turnoverScenario) {
	if s.scenario == sc {
		return
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	var addrs []sdk.AccAddress
	var duties []types.Duty
	must(s.k.Duties.Walk(s.ctx, nil, func(a sdk.AccAddress, d types.Duty) (bool, error) {
		addrs = append(addrs, a)
		duties = append(duties, d)
		return false, nil
	}))
	for i, d := range duties {
		for j := range d.Samples {
			d.Samples[j].Answered = sc == scenarioAnswered
			key := collections.Join(d.Samples[j].DealId, d.Samples[j].Slot)
			r, err := s.k.Replicas.Get(s.ctx, key)
			must(err)
			if sc == scenarioDrops {
				r.Missed = s.params.MaxMissed - 1
				must(s.k.Suspects.Set(s.ctx, key))
			} else {
				r.Missed = 0
				must(s.k.Suspects.Remove(s.ctx, key))
			}
			must(s.k.Replicas.Set(s.ctx, key, r))
		}
		must(s.k.Duties.Set(s.ctx, addrs[i], d))
	}
	s.commit()
	s.scenario = sc
}

// benchTurnover measures the end blocker at the open window's close height
// (close it, open the next) over the matrix, with the duties set up as sc.
func benchTurnover(b *testing.B, sc turnoverScenario) {
	for _, n := range benchReplicaCounts {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			for _, p := range benchProviderCounts {
				b.Run(fmt.Sprintf("providers=%d", p), func(b *testing.B) {
					b.StopTimer()
					s := populated(b, n, p)
					s.setScenario(b, sc)
					w := s.window(b)
					var gas uint64
					var faults, drops, opened int
					b.ResetTimer()
					for range b.N {
						res := s.block(b, w.CloseHeight, false, s.k.EndBlocker, func(ctx sdk.Context) {
							next, err := s.k.CurrentWindow(ctx)
							if err != nil || next.Number != w.Number+1 {
								b.Fatalf("window %d did not turn over: %v %v", w.Number, next, err)
							}
							opened += int(next.Challenges)
							s.checkOnce(b, fmt.Sprintf("turnover %d", sc), ctx)
						})
						gas += res.gas
						faults += res.count(&types.EventFault{})
						drops += res.count(&types.EventReplicaDropped{})
					}
					if want := sc != scenarioAnswered; (faults > 0) != want {
						b.Fatalf("%d faults in %d turnovers, scenario %d", faults, b.N, sc)
					}
					if want := sc == scenarioDrops; (drops > 0) != want || (want && drops != faults) {
						b.Fatalf("%d drops for %d faults in %d turnovers, scenario %d", drops, faults, b.N, sc)
					}
					per := func(x int) float64 { return float64(x) / float64(b.N) }
					b.ReportMetric(float64(gas)/float64(b.N), "gas/op")
					b.ReportMetric(float64(gas)/float64(b.N)/float64(p), "gas/provider")
					b.ReportMetric(float64(w.Challenges), "closed-samples/op")
					b.ReportMetric(per(faults), "faults/op")
					b.ReportMetric(per(opened), "opened-samples/op")
				})
			}
		})
	}
}

// BenchmarkWindowTurnover is the end blocker at a window's close height:
// it closes the window and opens the next. The measured close is the worst
// case short of drops: no provider answered any of its samples, so every
// sampled replica misses (a fault each, counted once however many of its
// leaves were drawn: a slash, a collateral burn, which is nothing here as
// the fixture locks no collateral, and a suspect entry), every provider
// fails the window (a FailedWindow record each), and the open draws
// samples_per_window weighted samples per provider plus one more for each
// replica that just missed. Every replica was healthy before, so each miss
// is a first miss and drops nothing; BenchmarkWindowTurnoverDrops is the
// case where every miss drops.
func BenchmarkWindowTurnover(b *testing.B) { benchTurnover(b, scenarioMissed) }

// BenchmarkWindowTurnoverAnswered is the same turnover when every provider
// answered all of its samples (the healthy network): the close only reads
// and deletes the duties; the open is the same as above without suspects.
func BenchmarkWindowTurnoverAnswered(b *testing.B) { benchTurnover(b, scenarioAnswered) }

// BenchmarkWindowTurnoverDrops is the turnover when every sample is missed
// and every sampled replica has missed max_missed-1 windows already: each
// miss drops its replica (settling it, taking it out of the holdings) and
// repairs the slot with another provider. The fake x/provider's pick costs
// no gas; the real one adds its own (docs/benchmarks.md, x/provider) per
// dropped replica.
func BenchmarkWindowTurnoverDrops(b *testing.B) { benchTurnover(b, scenarioDrops) }

// BenchmarkQuietBlock is the end blocker at a height where nothing is due:
// no timeout, no expiry, no window turnover, no open slot.
func BenchmarkQuietBlock(b *testing.B) {
	for _, n := range benchReplicaCounts {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			for _, p := range benchProviderCounts {
				b.Run(fmt.Sprintf("providers=%d", p), func(b *testing.B) {
					b.StopTimer()
					s := populated(b, n, p)
					w := s.window(b)
					gas := uint64(0)
					b.ResetTimer()
					for i := range b.N {
						h := w.OpenHeight + 1 + int64(i)%(w.CloseHeight-w.OpenHeight-1)
						gas += s.block(b, h, false, s.k.EndBlocker, func(ctx sdk.Context) {
							if after, err := s.k.CurrentWindow(ctx); err != nil || after.Number != w.Number {
								b.Fatalf("window moved from %d to %v in the middle of a window: %v", w.Number, after, err)
							}
						}).gas
					}
					b.ReportMetric(float64(gas)/float64(b.N), "gas/op")
				})
			}
		})
	}
}

// proofFixture is a state in which one provider, the prover, holds
// proverDeals real 1 MiB files among 10,000 other committed replicas, and
// the window is open with the prover's duty drawn from its holdings; msg
// answers the whole duty with real proofs.
type proofFixture struct {
	s     *benchState
	msg   *types.MsgSubmitProofs
	depth int
}

const (
	proverDeals    = 32
	proverFileSize = 1 << 20 // 1,024 leaves of 1 KiB: 10-hash audit paths
)

var proofFixtures = map[uint32]*proofFixture{}

// proverFile is deal i's file: deterministic bytes.
func proverFile(i int) []byte {
	var seed [32]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i)+1)
	data := make([]byte, proverFileSize)
	_, _ = rand.NewChaCha8(seed).Read(data)
	return data
}

func newProofFixture(b *testing.B, samples uint32) *proofFixture {
	if f, ok := proofFixtures[samples]; ok {
		return f
	}
	params := benchParams()
	params.SamplesPerWindow = samples
	s := newBenchState(b, params, 100)
	s.populate(b, 10_000)
	prover := sdk.AccAddress("bench-prover-0000000")
	s.providers.add(prover, false)
	files := map[uint64][]byte{}
	branch := s.cms.CacheMultiStore()
	ctx := s.ctx.WithMultiStore(branch)
	for i := range proverDeals {
		data := proverFile(i)
		root, err := merkle.Root(data, benchChunk)
		if err != nil {
			b.Fatal(err)
		}
		id := s.addDeal(b, ctx, dealSpec{
			root: root[:], size: uint64(len(data)), end: benchStart + 1_000_000, earnsFrom: 2,
			holders: []sdk.AccAddress{prover, s.providers.addrs[i%100], s.providers.addrs[(i+1)%100]},
		})
		files[id] = data
	}
	branch.Write()
	s.commit()
	s.block(b, benchStart, true, s.k.EndBlocker, nil) // opens window 1: the duties
	w := s.window(b)
	duty, err := s.k.Duties.Get(s.ctx, prover)
	if err != nil {
		b.Fatal(err)
	}
	f := &proofFixture{s: s, msg: &types.MsgSubmitProofs{Provider: prover.String(), Window: w.Number}}
	for _, smp := range duty.Samples {
		leaf, path, err := merkle.ProofFromData(files[smp.DealId], benchChunk, smp.LeafIndex)
		if err != nil {
			b.Fatal(err)
		}
		p := types.StorageProof{DealId: smp.DealId, LeafIndex: smp.LeafIndex, Leaf: leaf}
		for _, h := range path {
			p.AuditPath = append(p.AuditPath, h[:])
		}
		f.depth = max(f.depth, len(path))
		f.msg.Proofs = append(f.msg.Proofs, p)
	}
	if len(f.msg.Proofs) == 0 || len(f.msg.Proofs) > int(samples) {
		b.Fatalf("prover's duty has %d samples, samples_per_window %d", len(f.msg.Proofs), samples)
	}
	proofFixtures[samples] = f
	return f
}

// BenchmarkSubmitProofs is one MsgSubmitProofs through the message server
// in which one provider answers its whole duty for the window
// (samples_per_window byte-weighted samples of its 32 files of 1 MiB,
// fewer when two draws land on the same leaf) with real proofs against the
// deals' real roots. Every proof must verify. The store also holds 10,000
// other committed replicas over 100 providers.
func BenchmarkSubmitProofs(b *testing.B) {
	for _, samples := range []uint32{8, 32, 128} {
		b.Run(fmt.Sprintf("samples=%d", samples), func(b *testing.B) {
			b.StopTimer()
			f := newProofFixture(b, samples)
			s, msg := f.s, f.msg
			srv := NewMsgServerImpl(s.k)
			w := s.window(b)
			gas := uint64(0)
			b.ResetTimer()
			for range b.N {
				gas += s.block(b, w.OpenHeight+1, false, func(ctx context.Context) error {
					res, err := srv.SubmitProofs(ctx, msg)
					if err == nil && (len(res.Accepted) != len(msg.Proofs) || len(res.Rejected) != 0) {
						err = fmt.Errorf("%d of %d proofs accepted, %d rejected", len(res.Accepted), len(msg.Proofs), len(res.Rejected))
					}
					return err
				}, func(ctx sdk.Context) {
					duty, err := s.k.Duties.Get(ctx, sdk.MustAccAddressFromBech32(msg.Provider))
					done := false
					if err == nil {
						done, err = s.k.dutyDone(ctx, duty)
					}
					if err != nil || !done {
						b.Fatalf("duty not done after the message: %v", err)
					}
				}).gas
			}
			proofs := float64(len(msg.Proofs))
			b.ReportMetric(float64(gas)/float64(b.N), "gas/op")
			b.ReportMetric(proofs, "proofs/op")
			b.ReportMetric(float64(gas)/float64(b.N)/proofs, "gas/leaf")
			b.ReportMetric(float64(f.depth), "path-depth")
			b.ReportMetric(float64(msg.Size())/proofs, "msg-bytes/leaf")
		})
	}
}

// Expiry scenario: expiryDeals deals of 1 MiB and a bit more (sizes vary, so
// payments round differently), benchSlots replicas each over 100 providers,
// all ending at expiryEnd, inside window 2. Window 1 (benchStart to
// benchStart+100) was proven by the even-numbered providers and failed by
// the odd ones; nobody has proven window 2 when the deals end. So each
// even provider's replica is paid for exactly the 100 blocks of window 1,
// each odd one's for nothing, and the owner gets the rest of the escrow.
const (
	expiryDeals     = 10_000
	expiryProviders = 100
	expiryEnd       = benchStart + 120
)

func expiryState(b *testing.B) *benchState {
	s := newBenchState(b, benchParams(), expiryProviders)
	branch := s.cms.CacheMultiStore()
	ctx := s.ctx.WithMultiStore(branch)
	for i := range expiryDeals {
		holders := make([]sdk.AccAddress, benchSlots)
		for j := range holders {
			holders[j] = s.providers.addrs[(i*benchSlots+j)%expiryProviders]
		}
		var root [32]byte
		binary.BigEndian.PutUint64(root[:], uint64(i))
		s.addDeal(b, ctx, dealSpec{
			root: root[:], size: 1<<20 + uint64(i)*4099, end: expiryEnd, earnsFrom: benchStart, holders: holders,
		})
	}
	branch.Write()
	s.commit()
	s.block(b, benchStart, true, s.k.EndBlocker, nil) // window 1 opens
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	// The even providers answer all of window 1.
	for i, p := range s.providers.addrs {
		if i%2 != 0 {
			continue
		}
		duty, err := s.k.Duties.Get(s.ctx, p)
		must(err)
		for j := range duty.Samples {
			duty.Samples[j].Answered = true
		}
		must(s.k.Duties.Set(s.ctx, p, duty))
	}
	s.commit()
	w := s.window(b)
	s.block(b, w.CloseHeight, true, s.k.EndBlocker, nil) // window 1 closes, window 2 opens
	drain := int64(expiryDeals+s.params.MaxExpiriesPerBlock-1) / int64(s.params.MaxExpiriesPerBlock)
	if w2 := s.window(b); w2.Number != 2 || w2.CloseHeight < expiryEnd+drain {
		b.Fatalf("window 2 %v must stay open while the deals drain", w2)
	}
	return s
}

// BenchmarkExpiries is the drain of expiryDeals deals ending at the same
// height, max_expiries_per_block (200) per block: one op is the whole
// drain, each block written back and committed. It fails unless every deal
// ends, each owner refund is exactly the escrow less what its providers
// were paid, the payments are what the proven windows earned, and the
// module account ends empty.
func BenchmarkExpiries(b *testing.B) {
	b.StopTimer()
	var gas, maxGas uint64
	var elapsed time.Duration
	blocks := 0
	b.ResetTimer()
	for range b.N {
		s := expiryState(b)
		escrow := map[uint64]math.Int{}
		replicas := map[uint64][]types.Replica{}
		if err := s.k.Deals.Walk(s.ctx, nil, func(id uint64, d types.Deal) (bool, error) {
			escrow[id] = d.Escrow.Amount
			rs, err := s.k.DealReplicas(s.ctx, id)
			replicas[id] = rs
			return false, err
		}); err != nil {
			b.Fatal(err)
		}
		if len(escrow) != expiryDeals {
			b.Fatalf("%d deals, want %d", len(escrow), expiryDeals)
		}
		paid, refund := map[uint64]math.Int{}, map[uint64]math.Int{}
		ended := 0
		var perBlock []uint64
		for h := expiryEnd; ; h++ {
			res := s.block(b, h, true, s.k.EndBlocker, nil)
			n := 0
			for _, e := range res.events {
				msg, err := sdk.ParseTypedEvent(abci.Event(e))
				if err != nil {
					continue
				}
				switch ev := msg.(type) {
				case *types.EventEarningsPaid:
					paid[ev.DealId] = orZero(paid[ev.DealId]).Add(ev.Amount.Amount)
				case *types.EventDealEnded:
					refund[ev.DealId] = ev.Refund.Amount
					n++
				case *types.EventWindowOpened:
					b.Fatalf("a window turned over at %d while the deals drained", h)
				}
			}
			if n == 0 || n > int(s.params.MaxExpiriesPerBlock) {
				b.Fatalf("%d deals ended at %d, want 1 to %d per block", n, h, s.params.MaxExpiriesPerBlock)
			}
			ended += n
			blocks++
			perBlock = append(perBlock, res.gas)
			gas += res.gas
			maxGas = max(maxGas, res.gas)
			elapsed += res.elapsed
			if left, err := s.k.DealsByEnd.Iterate(s.ctx, nil); err != nil {
				b.Fatal(err)
			} else {
				more := left.Valid()
				left.Close()
				if !more {
					break
				}
			}
		}
		checkExpiries(b, s, escrow, replicas, paid, refund, ended)
		sorted := slices.Sorted(slices.Values(perBlock))
		b.Logf("%d deals ended in %d blocks; gas per block: first %d, min %d, median %d, max %d (block %d), last %d",
			ended, len(perBlock), perBlock[0], sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1],
			slices.Index(perBlock, sorted[len(sorted)-1])+1, perBlock[len(perBlock)-1])
	}
	b.ReportMetric(float64(blocks)/float64(b.N), "blocks/op")
	b.ReportMetric(float64(gas)/float64(blocks), "gas/block")
	b.ReportMetric(float64(maxGas), "max-gas/block")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(blocks), "ns/block")
	b.ReportMetric(float64(expiryDeals*b.N)/float64(blocks), "deals/block")
}

func orZero(x math.Int) math.Int {
	if x.IsNil() {
		return math.ZeroInt()
	}
	return x
}

// checkExpiries asserts the drain's outcome.
func checkExpiries(b *testing.B, s *benchState, escrow map[uint64]math.Int, replicas map[uint64][]types.Replica,
	paid, refund map[uint64]math.Int, ended int,
) {
	b.Helper()
	if ended != expiryDeals {
		b.Fatalf("%d of %d deals ended", ended, expiryDeals)
	}
	index := map[string]int{}
	for i, a := range s.providers.addrs {
		index[a.String()] = i
	}
	totalRefund := math.ZeroInt()
	for id, e := range escrow {
		d, err := s.k.GetDeal(s.ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if d.Status != types.DealStatus_DEAL_STATUS_ENDED || !d.Escrow.IsZero() {
			b.Fatalf("deal %d is %s with escrow %s after the drain", id, d.Status, d.Escrow)
		}
		// What the proven windows earned: window 1's 100 blocks for a
		// provider that proved it, nothing for one that failed it.
		want := math.ZeroInt()
		for _, r := range replicas[id] {
			if index[r.Provider]%2 == 0 {
				want = want.Add(types.Earned(r.Price.Amount, d.BillableBytes, 100))
			}
		}
		got := orZero(paid[id])
		if !got.Equal(want) {
			b.Fatalf("deal %d paid its providers %s, the proven windows earned %s", id, got, want)
		}
		r, ok := refund[id]
		if !ok || !r.Equal(e.Sub(got)) {
			b.Fatalf("deal %d refunded %s, want escrow %s - paid %s = %s", id, r, e, got, e.Sub(got))
		}
		totalRefund = totalRefund.Add(r)
	}
	if bal := s.bank.GetBalance(s.ctx, s.module, benchDenom); !bal.IsZero() {
		b.Fatalf("module account holds %s after every deal ended", bal)
	}
	if bal := s.bank.GetBalance(s.ctx, s.owner, benchDenom); !bal.Amount.Equal(totalRefund) {
		b.Fatalf("owner holds %s, refunds total %s", bal, totalRefund)
	}
	if err := s.k.EscrowInvariant(s.ctx); err != nil {
		b.Fatal(err)
	}
}
