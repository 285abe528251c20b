package app_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/erasure"
	"github.com/stratusnet/stratus/merkle"
	storagekeeper "github.com/stratusnet/stratus/x/storage/keeper"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// ecDealMsg encodes a fresh random file of size bytes in k+m shards and
// returns the deal message, the file and its shards.
func (s *scenario) ecDealMsg(t *testing.T, size int, k, m uint32, duration uint64, maxPrice int64) (*storagetypes.MsgCreateDeal, []byte, [][]byte) {
	t.Helper()
	file := randomFile(t, size)
	root, err := merkle.Root(file, 1024)
	require.NoError(t, err)
	scheme := erasure.Scheme{K: int(k), M: int(m)}
	bufs := make([]bytes.Buffer, scheme.N())
	out := make([]io.Writer, scheme.N())
	for i := range bufs {
		out[i] = &bufs[i]
	}
	roots, err := erasure.Encode(scheme, bytes.NewReader(file), uint64(size), 1024, out)
	require.NoError(t, err)
	msg := &storagetypes.MsgCreateDeal{
		Owner: s.user.Address.String(), Root: root[:], Size_: uint64(size),
		DurationBlocks: duration, MaxPrice: decCoin(maxPrice),
		DataShards: k, ParityShards: m, ShardSize: storagetypes.ShardSizeFor(uint64(size), k),
	}
	shards := make([][]byte, scheme.N())
	for i := range roots {
		msg.ShardRoots = append(msg.ShardRoots, append([]byte(nil), roots[i][:]...))
		shards[i] = bufs[i].Bytes()
		require.Len(t, shards[i], int(msg.ShardSize))
	}
	return msg, file, shards
}

// createECDeal stores a fresh random file as an erasure-coded deal.
func (s *scenario) createECDeal(t *testing.T, size int, k, m uint32, duration uint64, maxPrice int64) storagetypes.MsgCreateDealResponse {
	t.Helper()
	msg, file, shards := s.ecDealMsg(t, size, k, m, duration, maxPrice)
	res, _ := s.deliver(t, s.user, msg)
	require.Zero(t, res.Code, res.Log)
	var resp storagetypes.MsgCreateDealResponse
	decodeResponse(t, res, &resp)
	s.files[resp.DealId] = file
	s.shards[resp.DealId] = shards
	return resp
}

// An erasure-coded deal: every slot holds its own shard and is billed,
// reserved, proven and paid for shard_size bytes. A proof of another
// shard's leaf is an invalid proof. A slot that stops proving is dropped
// and reassigned with its shard, and the new holder proves that shard.
// Escrow and stake add up throughout.
func TestErasureDealSlotsAreProvenPaidAndRepairedApart(t *testing.T) {
	const price = 1_000_000_000
	s := newScenario(t, price, price, price, price, price, price, price)
	c := s.c
	const size, k, m = 40_000, 3, 2
	shardSize := storagetypes.ShardSizeFor(size, k)
	require.Equal(t, uint64(13_334), shardSize)
	balance := balanceOf(c, s.user.Address)
	resp := s.createECDeal(t, size, k, m, 300, 2*price)
	id := resp.DealId

	d := s.deal(t, id)
	require.Equal(t, []uint32{k, m, k + m}, []uint32{d.DataShards, d.ParityShards, d.Replicas})
	require.Equal(t, shardSize, d.ShardSize)
	require.Equal(t, shardSize, d.BillableBytes, "billed per shard byte")
	require.Len(t, d.ShardRoots, k+m)
	want := wantEscrow(2*price, shardSize, 300, k+m)
	require.Equal(t, want.String(), d.Escrow.Amount.String(), "escrow is n shards, not n files")
	require.Equal(t, balance.Sub(want).String(), balanceOf(c, s.user.Address).String())
	require.Len(t, resp.Providers, k+m)
	for slot := range uint32(k + m) {
		r := s.replica(t, id, slot)
		require.Equal(t, slot, r.Shard, "slot i holds shard i")
		require.Empty(t, r.Source, "the owner uploads every shard to its slot")
		require.Equal(t, shardSize, providerOf(t, c, s.addr(r.Provider)).StorageUsed, "capacity reserved per shard")
	}

	// Every slot proves its own shard, window after window, and is paid
	// for shard_size bytes.
	before := s.balances()
	committed := s.commitAll(t, id)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, s.deal(t, id).Status)
	_, windows := s.advanceTo(t, c.Height+12)
	require.Empty(t, typedEvents[*storagetypes.EventFault](t, windows))
	for _, p := range resp.Providers {
		res, _ := s.deliver(t, s.acct(p), &storagetypes.MsgClaimEarnings{Provider: p})
		require.Zero(t, res.Code, res.Log)
		got := balanceOf(c, s.addr(p)).Sub(before[p])
		require.True(t, got.IsPositive())
		// Paid for the proven blocks since it earns (windows proven in
		// full; the open one is paid when it closes proven).
		blocks := s.replica(t, id, slotOf(t, s, id, p)).EarnedBlocks
		require.GreaterOrEqual(t, int64(blocks), c.Height-committed[p]-int64(scenarioParams().ProofWindow))
		require.Equal(t, wantEarned(price, shardSize, int64(blocks)).String(), got.String(), "provider %s paid per shard byte", p)
	}
	s.requireAccounted(t)

	// Slot 1's holder answers with shard 0's leaf: a valid leaf and path of
	// the deal, but not of its shard.
	cheat := s.replica(t, id, 1)
	cheatAddr := s.addr(cheat.Provider)
	s.silent = []sdk.AccAddress{cheatAddr}
	for len(s.openChallenges(t, cheatAddr)) == 0 {
		s.proveBlock(t)
	}
	challenge := s.openChallenges(t, cheatAddr)[0]
	require.Equal(t, uint32(1), challenge.Slot)
	wrong := s.proofOf(t, s.shards[id][0], id, challenge.LeafIndex)
	require.NotEqual(t, s.slotProof(t, id, 1, challenge.LeafIndex).Leaf, wrong.Leaf)
	stakeBefore := s.stake(t, cheatAddr)
	collateral := cheat.Collateral
	res, events := s.deliver(t, s.acct(cheat.Provider), &storagetypes.MsgSubmitProofs{
		Provider: cheat.Provider, Proofs: []storagetypes.StorageProof{wrong},
	})
	require.Zero(t, res.Code, res.Log)
	var out storagetypes.MsgSubmitProofsResponse
	decodeResponse(t, res, &out)
	require.Equal(t, []uint64{id}, out.Rejected, "another shard's leaf is an invalid proof")
	burn := percentOf(stakeBefore, 5).Add(collateral)
	require.Equal(t, stakeBefore.Sub(burn).String(), s.stake(t, cheatAddr).String())
	s.burned = s.burned.Add(burn)
	dropped := typedEvents[*storagetypes.EventReplicaDropped](t, events)
	require.Len(t, dropped, 1)
	require.Equal(t, storagekeeper.ReasonInvalidProof, dropped[0].Reason)
	s.requireAccounted(t)

	// The slot is reassigned with its shard, to a provider holding none of
	// the deal; the others are untouched.
	r := s.replica(t, id, 1)
	require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED, r.Status)
	require.Equal(t, uint32(1), r.Shard)
	require.NotContains(t, resp.Providers, r.Provider)
	for slot := range uint32(k + m) {
		if slot != 1 {
			require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED, s.replica(t, id, slot).Status)
		}
	}
	s.commit(t, r.Provider, id)
	s.silent = nil
	from := s.replica(t, id, 1).EarnsFrom
	_, events = s.advanceTo(t, from+12)
	require.Empty(t, typedEvents[*storagetypes.EventFault](t, events), "the new holder proves shard 1")
	require.Equal(t, r.Provider, s.replica(t, id, 1).Provider)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, s.deal(t, id).Status)
	s.requireAccounted(t)

	// At the end every provider's capacity is free again and the escrow is
	// settled to the last unit.
	s.advanceTo(t, s.deal(t, id).EndHeight+2)
	for _, p := range s.providers {
		require.Zero(t, providerOf(t, c, p.Address).StorageUsed)
	}
	require.True(t, s.moduleBalance().IsZero() || s.moduleBalance().IsPositive())
	s.requireAccounted(t)
}

// Bad erasure-coding schemes get typed errors and change nothing.
func TestErasureBadSchemesChangeNothing(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	p := scenarioParams()
	p.MaxReplicas = 5
	p.MaxDataShards = 3
	p.MaxParityShards = 2
	s.setParams(t, p)
	scheme := func(k, m uint32, change func(m *storagetypes.MsgCreateDeal)) func() *storagetypes.MsgCreateDeal {
		return func() *storagetypes.MsgCreateDeal {
			msg, _, _ := s.ecDealMsg(t, 9_000, k, m, 100, 2_000_000_000)
			change(msg)
			return msg
		}
	}
	valid := func(change func(m *storagetypes.MsgCreateDeal)) func() *storagetypes.MsgCreateDeal {
		return scheme(2, 2, change)
	}
	same := func(*storagetypes.MsgCreateDeal) {}
	for _, tc := range []struct {
		name string
		msg  func() *storagetypes.MsgCreateDeal
		want *errorsmod.Error
	}{
		{"k = 0", valid(func(m *storagetypes.MsgCreateDeal) { m.DataShards = 0 }), storagetypes.ErrInvalidScheme},
		{"too few shard roots", valid(func(m *storagetypes.MsgCreateDeal) { m.ShardRoots = m.ShardRoots[:3] }), storagetypes.ErrInvalidScheme},
		{"too many shard roots", valid(func(m *storagetypes.MsgCreateDeal) { m.ShardRoots = append(m.ShardRoots, m.ShardRoots[0]) }), storagetypes.ErrInvalidScheme},
		{"short shard root", valid(func(m *storagetypes.MsgCreateDeal) { m.ShardRoots[2] = m.ShardRoots[2][:31] }), storagetypes.ErrInvalidRoot},
		{"shard size one short", valid(func(m *storagetypes.MsgCreateDeal) { m.ShardSize-- }), storagetypes.ErrInvalidScheme},
		{"shard size one over", valid(func(m *storagetypes.MsgCreateDeal) { m.ShardSize++ }), storagetypes.ErrInvalidScheme},
		{"shard size of the file", valid(func(m *storagetypes.MsgCreateDeal) { m.ShardSize = m.Size_ }), storagetypes.ErrInvalidScheme},
		{"replicas not k + m", valid(func(m *storagetypes.MsgCreateDeal) { m.Replicas = 3 }), storagetypes.ErrInvalidScheme},
		{"k + m above max_replicas", scheme(3, 3, same), storagetypes.ErrInvalidReplicas},
		{"k above max_data_shards", scheme(4, 1, same), storagetypes.ErrInvalidScheme},
		{"m above max_parity_shards", scheme(2, 3, same), storagetypes.ErrInvalidScheme},
		{"more data shards than bytes", valid(func(m *storagetypes.MsgCreateDeal) { m.Size_, m.ShardSize = 1, 1 }), storagetypes.ErrInvalidScheme},
		{"shard roots on a replicated deal", valid(func(m *storagetypes.MsgCreateDeal) {
			m.DataShards, m.ParityShards, m.ShardSize, m.ShardRoots = 1, 1, m.Size_, m.ShardRoots[:2]
		}), storagetypes.ErrInvalidScheme},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.rejects(t, s.user, tc.msg(), tc.want)
		})
	}
	// The same file in a scheme within the bounds is a deal.
	res, _ := s.deliver(t, s.user, scheme(3, 2, same)())
	require.Zero(t, res.Code, res.Log)
	s.requireAccounted(t)
}

// slotOf is the slot provider holds in deal id.
func slotOf(t *testing.T, s *scenario, id uint64, provider string) uint32 {
	t.Helper()
	replicas, err := s.c.App.StorageKeeper.DealReplicas(s.c.Ctx(), id)
	require.NoError(t, err)
	for _, r := range replicas {
		if r.Provider == provider {
			return r.Slot
		}
	}
	t.Fatalf("%s holds no slot of deal %d", provider, id)
	return 0
}

// A deal's label is kept verbatim and listed with the owner's deals; one
// longer than max_label_bytes (or any, when it is 0) is refused and
// changes nothing.
func TestDealLabelsAreBoundedAndListed(t *testing.T) {
	s := newScenario(t, 1_000_000_000, 1_000_000_000, 1_000_000_000)
	p := scenarioParams()
	p.MaxLabelBytes = 64
	s.setParams(t, p)
	withLabel := func(label []byte) *storagetypes.MsgCreateDeal {
		msg, _, _ := s.ecDealMsg(t, 4_000, 2, 1, 100, 2_000_000_000)
		msg.Label = label
		return msg
	}
	s.rejects(t, s.user, withLabel(bytes.Repeat([]byte{7}, 65)), storagetypes.ErrInvalidLabel)
	over := withLabel(bytes.Repeat([]byte{7}, storagetypes.MaxLabelBytes+1))
	require.ErrorIs(t, over.ValidateBasic(), storagetypes.ErrInvalidLabel)

	label := bytes.Repeat([]byte{0xa5}, 64)
	res, _ := s.deliver(t, s.user, withLabel(label))
	require.Zero(t, res.Code, res.Log)
	var created storagetypes.MsgCreateDealResponse
	decodeResponse(t, res, &created)
	q := storagekeeper.NewQueryServerImpl(s.c.App.StorageKeeper)
	list, err := q.DealsByOwner(s.c.Ctx(), &storagetypes.QueryDealsByOwnerRequest{Owner: s.user.Address.String()})
	require.NoError(t, err)
	require.Len(t, list.Deals, 1)
	require.Equal(t, created.DealId, list.Deals[0].Id)
	require.Equal(t, label, list.Deals[0].Label)

	p.MaxLabelBytes = 0
	s.setParams(t, p)
	s.rejects(t, s.user, withLabel([]byte{1}), storagetypes.ErrInvalidLabel)
	p.MaxLabelBytes = storagetypes.MaxLabelBytes + 1
	require.ErrorIs(t, p.Validate(), storagetypes.ErrInvalidParams)
	s.requireAccounted(t)
}
