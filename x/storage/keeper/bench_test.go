package keeper

// Benchmarks of the work x/storage does per block and per proof message.
// The fixture keeps state in a real IAVL store and fakes x/provider and
// x/bank in memory, so the gas reported is x/storage's own store gas.
// Figures and commands are in docs/benchmarks.md.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec/address"
	codectestutil "github.com/cosmos/cosmos-sdk/codec/testutil"
	"github.com/cosmos/cosmos-sdk/runtime"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"

	"github.com/stratusnet/stratus/merkle"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	"github.com/stratusnet/stratus/x/storage/types"
)

const (
	benchDenom     = "ustrat"
	benchProviders = 100
	benchReplicas  = 3 // per deal
	benchFileSize  = 64 << 10
	benchStart     = int64(1_000)
)

// benchProviderKeeper stands in for x/provider: every provider is eligible
// and has room; slashing burns nothing.
type benchProviderKeeper struct {
	addrs  []sdk.AccAddress
	prices map[string]providertypes.Provider
}

func (p *benchProviderKeeper) GetProvider(_ context.Context, addr sdk.AccAddress) (providertypes.Provider, error) {
	return p.prices[string(addr)], nil
}
func (*benchProviderKeeper) ReserveStorage(context.Context, sdk.AccAddress, uint64) error { return nil }
func (*benchProviderKeeper) ReleaseStorage(context.Context, sdk.AccAddress, uint64) error { return nil }
func (*benchProviderKeeper) Slash(context.Context, sdk.AccAddress, math.LegacyDec, string) (math.Int, error) {
	return math.ZeroInt(), nil
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

// benchState is a keeper over an IAVL store holding committed replicas.
type benchState struct {
	ctx       sdk.Context
	k         *Keeper
	providers *benchProviderKeeper
	bank      *benchBank
	owner     string
}

func newBenchState(b *testing.B, params types.Params) *benchState {
	b.Helper()
	key := storetypes.NewKVStoreKey(types.StoreKey)
	tctx := testutil.DefaultContextWithDB(b, key, storetypes.NewTransientStoreKey("transient_bench"))
	prefix := sdk.GetConfig().GetBech32AccountAddrPrefix()
	cdc := codectestutil.CodecOptions{AccAddressPrefix: prefix}.NewCodec()
	ac := address.NewBech32Codec(prefix)
	s := &benchState{
		providers: &benchProviderKeeper{prices: map[string]providertypes.Provider{}},
		bank:      &benchBank{balances: map[string]sdk.Coins{}},
	}
	price := sdk.NewDecCoinFromDec(benchDenom, math.LegacyNewDec(1_000_000)) // per GiB-block
	for i := range benchProviders {
		addr := sdk.AccAddress(fmt.Appendf(nil, "bench-provider-%05d", i))
		s.providers.addrs = append(s.providers.addrs, addr)
		s.providers.prices[string(addr)] = providertypes.Provider{Address: addr.String(), StoragePrice: price}
	}
	s.owner = sdk.AccAddress([]byte("bench-owner-00000000")).String()
	authority := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	s.k = NewKeeper(cdc, runtime.NewKVStoreService(key), ac, authority, benchDenom, s.providers, s.bank, benchAccounts{})
	s.ctx = tctx.Ctx.WithBlockHeight(benchStart).WithEventManager(sdk.NewEventManager())
	if err := s.k.InitGenesis(s.ctx, &types.GenesisState{Params: params, NextDealId: 1}); err != nil {
		b.Fatal(err)
	}
	return s
}

// addDeal writes an ACTIVE deal with benchReplicas committed replicas
// straight into the collections and the dense index, as CommitReplica
// leaves them (but not in NewReplicas: they are old replicas).
func (s *benchState) addDeal(b *testing.B, root merkle.Hash, size uint64, providerOf func(id uint64, slot uint32) sdk.AccAddress) uint64 {
	id, err := s.k.NextDealID.Next(s.ctx)
	if err != nil {
		b.Fatal(err)
	}
	escrow := sdk.NewInt64Coin(benchDenom, 1_000_000_000_000)
	d := types.Deal{
		Id: id, Owner: s.owner, Root: root[:], Size_: size, ChunkSize: 1024, Replicas: benchReplicas,
		MaxPrice: sdk.NewDecCoinFromDec(benchDenom, math.LegacyNewDec(2_000_000)), Escrow: escrow,
		Status: types.DealStatus_DEAL_STATUS_ACTIVE, CreatedHeight: 1, EndHeight: 1 << 40,
	}
	mod := authtypes.NewModuleAddress(types.ModuleName)
	s.bank.balances[string(mod)] = s.bank.balances[string(mod)].Add(escrow)
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(s.k.setDeal(s.ctx, d))
	owner := sdk.MustAccAddressFromBech32(s.owner)
	must(s.k.DealsByOwner.Set(s.ctx, collections.Join(owner, id)))
	must(s.k.DealsByEnd.Set(s.ctx, collections.Join(d.EndHeight, id)))
	for slot := range uint32(benchReplicas) {
		p := providerOf(id, slot)
		r := types.Replica{
			DealId: id, Slot: slot, Provider: p.String(), Status: types.ReplicaStatus_REPLICA_STATUS_COMMITTED,
			Price: s.providers.prices[string(p)].StoragePrice, AssignedHeight: 1, CommitDeadline: 101,
			CommittedHeight: 2, PaidUntil: 2, Paid: math.ZeroInt(),
		}
		key := collections.Join(id, slot)
		must(s.k.Replicas.Set(s.ctx, key, r))
		must(s.k.ReplicasByProvider.Set(s.ctx, collections.Join(p, id), slot))
		must(s.k.denseAdd(s.ctx, key))
	}
	return id
}

// populate fills the store with n committed replicas (n/3 deals over 100
// providers) and commits the store, as a chain would have.
func populate(b *testing.B, n int, params types.Params) *benchState {
	b.Helper()
	s := newBenchState(b, params)
	var root merkle.Hash
	for i := 0; i < n/benchReplicas; i++ {
		binary.BigEndian.PutUint64(root[:], uint64(i))
		s.addDeal(b, root, 1<<30, func(id uint64, slot uint32) sdk.AccAddress {
			return s.providers.addrs[(int(id)+int(slot))%benchProviders]
		})
	}
	s.commit()
	return s
}

func (s *benchState) commit() {
	s.ctx.MultiStore().(storetypes.CommitMultiStore).Commit()
}

// block runs fn as the block at height h runs on a chain: on a branch of
// the committed store, with a fresh infinite gas meter, event manager and a
// header hash that varies with h. Only fn is timed; writing the branch back
// and committing it (as the chain does after every block) are not. It
// returns the store gas fn consumed.
func (s *benchState) block(b *testing.B, h int64, fn func(ctx context.Context) error) uint64 {
	b.Helper()
	meter := storetypes.NewInfiniteGasMeter()
	hash := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(h)))
	branch := s.ctx.MultiStore().CacheMultiStore()
	ctx := s.ctx.WithMultiStore(branch).WithBlockHeight(h).WithHeaderHash(hash[:]).
		WithGasMeter(meter).WithEventManager(sdk.NewEventManager())
	b.StartTimer()
	err := fn(ctx)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	branch.Write()
	s.commit()
	return meter.GasConsumed()
}

func benchParams() types.Params {
	p := types.DefaultParams()
	p.ChallengesPerWindow = 100
	// Never drop a replica for missed proofs, so every window close does the
	// same work (a fault per challenge) and the population stays the same.
	p.MaxMissed = 1 << 30
	return p
}

var benchSizes = []int{1_000, 10_000, 100_000}

// benchStates caches populated stores across the rounds the testing
// package runs to pick b.N; populating 100,000 replicas takes seconds.
var benchStates = map[int]*benchState{}

func populated(b *testing.B, n int) *benchState {
	if s, ok := benchStates[n]; ok {
		return s
	}
	s := populate(b, n, benchParams())
	// Open the first window so that every benchmark starts inside one.
	s.block(b, benchStart, s.k.EndBlocker)
	benchStates[n] = s
	return s
}

// BenchmarkWindowTurnover is the end blocker at a window's close height: it
// closes the window (every challenge missed: a fault each, the worst case)
// and opens the next one with challenges_per_window samples.
func BenchmarkWindowTurnover(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			b.StopTimer()
			s := populated(b, n)
			gas, closed := uint64(0), uint64(0)
			b.ResetTimer()
			for range b.N {
				w := s.window(b)
				gas += s.block(b, w.CloseHeight, s.k.EndBlocker)
				closed += uint64(w.Challenges)
			}
			b.ReportMetric(float64(gas)/float64(b.N), "gas/op")
			b.ReportMetric(float64(closed)/float64(b.N), "closed/op")
			if err := s.k.EscrowInvariant(s.ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWindowTurnoverAnswered is the same turnover when every challenge
// was answered (the healthy case): the close only deletes challenges.
func BenchmarkWindowTurnoverAnswered(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			b.StopTimer()
			s := populated(b, n)
			gas := uint64(0)
			b.ResetTimer()
			for range b.N {
				w := s.window(b)
				answerAll(b, s)
				gas += s.block(b, w.CloseHeight, s.k.EndBlocker)
			}
			b.ReportMetric(float64(gas)/float64(b.N), "gas/op")
		})
	}
}

func (s *benchState) window(b *testing.B) types.Window {
	w, err := s.k.CurrentWindow(s.ctx)
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// answerAll marks every open challenge answered, as if each provider had
// sent its proofs.
func answerAll(b *testing.B, s *benchState) {
	b.Helper()
	var all []types.Challenge
	if err := s.k.Challenges.Walk(s.ctx, nil, func(_ collections.Pair[sdk.AccAddress, uint64], c types.Challenge) (bool, error) {
		all = append(all, c)
		return false, nil
	}); err != nil {
		b.Fatal(err)
	}
	for _, c := range all {
		c.Answered = true
		if err := s.k.Challenges.Set(s.ctx, collections.Join(sdk.MustAccAddressFromBech32(c.Provider), c.DealId), c); err != nil {
			b.Fatal(err)
		}
	}
	s.commit()
}

// BenchmarkEndBlockerMidWindow is the end blocker at a height where nothing
// is due: no timeout, no expiry, no window turnover, no open slot.
func BenchmarkEndBlockerMidWindow(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			b.StopTimer()
			s := populated(b, n)
			w := s.window(b)
			gas := uint64(0)
			b.ResetTimer()
			for i := range b.N {
				h := w.OpenHeight + 1 + int64(i)%(w.CloseHeight-w.OpenHeight-1)
				gas += s.block(b, h, s.k.EndBlocker)
			}
			b.ReportMetric(float64(gas)/float64(b.N), "gas/op")
			if after := s.window(b); after.Number != w.Number {
				b.Fatalf("window moved from %d to %d in the middle of a window", w.Number, after.Number)
			}
		})
	}
}

// BenchmarkSubmitProofs is one MsgSubmitProofs through the message server
// with k valid proofs of 64 KiB files (1 KiB leaves, 6-hash audit paths),
// each proof settling its replica's earnings. The store also holds 10,000
// other committed replicas.
func BenchmarkSubmitProofs(b *testing.B) {
	for _, k := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("proofs=%d", k), func(b *testing.B) {
			b.StopTimer()
			s := populate(b, 10_000, benchParams())
			prover := s.providers.addrs[0]
			rng := rand.New(rand.NewPCG(uint64(k), 7))
			files := make(map[uint64][]byte, k)
			var challenges []types.Challenge
			for range k {
				data := make([]byte, benchFileSize)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				root, err := merkle.Root(data, 1024)
				if err != nil {
					b.Fatal(err)
				}
				id := s.addDeal(b, root, benchFileSize, func(id uint64, slot uint32) sdk.AccAddress {
					return s.providers.addrs[int(slot)*7%benchProviders] // slot 0 is the prover
				})
				files[id] = data
				challenges = append(challenges, types.Challenge{
					Window: 1, Provider: prover.String(), DealId: id, Slot: 0,
					LeafIndex: rng.Uint64N(merkle.LeafCount(benchFileSize, 1024)),
				})
			}
			// open (re)opens the prover's challenges, unanswered.
			open := func() {
				for _, c := range challenges {
					if err := s.k.Challenges.Set(s.ctx, collections.Join(prover, c.DealId), c); err != nil {
						b.Fatal(err)
					}
				}
				s.commit()
			}
			if err := s.k.Window.Set(s.ctx, types.Window{Number: 1, OpenHeight: benchStart, CloseHeight: benchStart + 20, Challenges: uint32(k)}); err != nil {
				b.Fatal(err)
			}
			open()
			msg := &types.MsgSubmitProofs{Provider: prover.String()}
			for _, c := range challenges {
				leaf, path, err := merkle.ProofFromData(files[c.DealId], 1024, c.LeafIndex)
				if err != nil {
					b.Fatal(err)
				}
				p := types.StorageProof{DealId: c.DealId, LeafIndex: c.LeafIndex, Leaf: leaf}
				for _, h := range path {
					p.AuditPath = append(p.AuditPath, h[:])
				}
				msg.Proofs = append(msg.Proofs, p)
			}
			srv := NewMsgServerImpl(s.k)
			gas := uint64(0)
			b.ResetTimer()
			for i := range b.N {
				open()
				// A later height each time, so every proof pays earnings.
				gas += s.block(b, benchStart+1+int64(i), func(ctx context.Context) error {
					res, err := srv.SubmitProofs(ctx, msg)
					if err == nil && len(res.Accepted) != k {
						err = fmt.Errorf("%d of %d proofs accepted", len(res.Accepted), k)
					}
					return err
				})
			}
			b.ReportMetric(float64(gas)/float64(b.N), "gas/op")
			b.ReportMetric(float64(gas)/float64(b.N)/float64(k), "gas/proof")
		})
	}
}
