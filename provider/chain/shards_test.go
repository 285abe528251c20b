package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/erasure"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// shardNet is an erasure-coded deal whose shards other providers serve,
// some of them wrongly, and this provider's follower.
type shardNet struct {
	f      *Follower
	st     *store.Store
	dir    string
	deal   storagetypes.Deal
	shards [][]byte
	// serve is what each endpoint sends (nil: it is down).
	mu    sync.Mutex
	serve map[string][]byte
	calls []string
}

const shardDeal = 9

func peerAddr(i int) string { return sdk.AccAddress(bytes.Repeat([]byte{byte(10 + i)}, 20)).String() }
func peerURL(i int) string  { return fmt.Sprintf("http://peer-%d.test", i) }

// newShardNet records deal shardDeal (3+2 over testData) with shard i held
// by peer i, committed, except the shard mine, which this provider is
// assigned and must rebuild.
func newShardNet(t *testing.T, mine int) *shardNet {
	t.Helper()
	s := erasure.Scheme{K: 3, M: 2}
	data := testData(shardDeal, 25*testChunk+17)
	bufs := make([]bytes.Buffer, s.N())
	out := make([]io.Writer, s.N())
	for i := range bufs {
		out[i] = &bufs[i]
	}
	roots, err := erasure.Encode(s, bytes.NewReader(data), uint64(len(data)), testChunk, out)
	require.NoError(t, err)
	root, err := merkle.Root(data, testChunk)
	require.NoError(t, err)
	dir := t.TempDir()
	st, err := store.Open(dir)
	require.NoError(t, err)
	n := &shardNet{st: st, dir: dir, serve: map[string][]byte{}}
	n.deal = storagetypes.Deal{
		Id: shardDeal, Root: root[:], Size_: uint64(len(data)), ChunkSize: testChunk, Replicas: 5,
		DataShards: 3, ParityShards: 2, ShardSize: erasure.ShardSize(uint64(len(data)), 3),
	}
	endpoints := map[string]string{}
	var replicas []storagetypes.Replica
	for i := range s.N() {
		n.shards = append(n.shards, bufs[i].Bytes())
		n.deal.ShardRoots = append(n.deal.ShardRoots, append([]byte(nil), roots[i][:]...))
		r := storagetypes.Replica{DealId: shardDeal, Slot: uint32(i), Shard: uint32(i), Provider: peerAddr(i),
			Status: storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED}
		if i == mine {
			r.Provider, r.Status = testMe, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED
		} else {
			endpoints[peerAddr(i)] = peerURL(i)
			n.serve[peerURL(i)] = slices.Clone(n.shards[i])
		}
		replicas = append(replicas, r)
	}
	chain := &fakeChain{deals: map[uint64]*storagetypes.QueryDealResponse{shardDeal: {Deal: n.deal, Replicas: replicas}}}
	node := &Node{me: testMe, storage: chain, endpoints: endpoints}
	n.f = NewFollower(node, st, &fakeSender{chain: chain}, n.fetch, testMe, Config{}, slog.New(slog.DiscardHandler), metrics.New())
	return n
}

func (n *shardNet) fetch(_ context.Context, from providerapi.Target, id, _ uint64, w io.Writer) error {
	n.mu.Lock()
	n.calls = append(n.calls, from.URL)
	data, ok := n.serve[from.URL]
	n.mu.Unlock()
	if !ok || data == nil || id != shardDeal {
		return errors.New("connection refused")
	}
	_, err := w.Write(data)
	return err
}

func (n *shardNet) mine(t *testing.T) storagetypes.Replica {
	t.Helper()
	_, replicas, err := n.f.node.Deal(context.Background(), shardDeal)
	require.NoError(t, err)
	i := slices.IndexFunc(replicas, func(r storagetypes.Replica) bool { return r.Provider == testMe })
	require.GreaterOrEqual(t, i, 0)
	return replicas[i]
}

// A new holder of a shard rebuilds it from any k verified shards of the
// others: holders that are down or serve wrong bytes (a corrupt shard, or
// another shard's bytes) are skipped, and what is stored is checked
// against the slot's own root.
func TestShardIsRebuiltFromKVerifiedShards(t *testing.T) {
	for mine := range 5 {
		t.Run(fmt.Sprintf("shard %d", mine), func(t *testing.T) {
			n := newShardNet(t, mine)
			var bad []int
			for i := range 5 {
				if i != mine && len(bad) < 1 {
					bad = append(bad, i)
				}
			}
			// One holder forwards a wrong shard (another shard's bytes,
			// of the right size).
			n.serve[peerURL(bad[0])] = slices.Clone(n.shards[(bad[0]+1)%5])
			require.NoError(t, n.f.fetchFromPeers(context.Background(), n.mine(t)))
			f, meta, err := n.st.OpenData(shardDeal)
			require.NoError(t, err)
			got, err := io.ReadAll(f)
			f.Close()
			require.NoError(t, err)
			require.Equal(t, n.shards[mine], got)
			require.Equal(t, n.deal.ShardRoots[mine], meta.Root[:])
			requireNoUploadLeft(t, n.dir)

			// The node tells the server and the prover this slot's shape:
			// the shard's root and size, not the file's.
			info, err := n.f.node.DealInfo(context.Background(), shardDeal)
			require.NoError(t, err)
			require.Equal(t, n.deal.ShardRoots[mine], info.Root[:])
			require.Equal(t, n.deal.ShardSize, info.Size)
			require.True(t, info.Erasure)
			require.Equal(t, mine, info.Shard)
		})
	}
}

// With fewer than k good shards nothing is stored: a wrong shard is never
// committed.
func TestTooFewGoodShardsStoreNothing(t *testing.T) {
	n := newShardNet(t, 4)
	n.serve[peerURL(0)][10] ^= 1                    // corrupt
	n.serve[peerURL(1)] = slices.Clone(n.shards[2]) // another shard's bytes
	err := n.f.fetchFromPeers(context.Background(), n.mine(t))
	require.ErrorIs(t, err, erasure.ErrTooFewShards)
	require.ErrorIs(t, err, erasure.ErrBadShard)
	require.False(t, n.st.Has(shardDeal))
	requireNoUploadLeft(t, n.dir)
}

// A handover copies the shard from the leaving holder of the same shard:
// one shard of traffic, not k.
func TestHandoverCopiesTheSameShard(t *testing.T) {
	n := newShardNet(t, 1)
	node := n.f.node
	chain := node.storage.(*fakeChain)
	res := chain.deals[shardDeal]
	leaving := storagetypes.Replica{DealId: shardDeal, Slot: 5, Shard: 1, Provider: peerAddr(9),
		Status: storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED, Leaving: true}
	res.Replicas = append(res.Replicas, leaving)
	node.endpoints[peerAddr(9)] = peerURL(9)
	n.serve[peerURL(9)] = slices.Clone(n.shards[1])
	require.NoError(t, n.f.fetchFromPeers(context.Background(), n.mine(t)))
	require.Equal(t, []string{peerURL(9)}, n.calls)
	require.NoError(t, n.st.Verify(shardDeal))
}

// The holder of shard 0 is the deal's encoder: once k shards are
// committed it computes the parity shards still assigned, checks each
// against its root and stages it. A shard whose root the owner forged is
// not staged.
// encoderNet is a shard net where this provider holds shard 0, committed,
// and the parity slots named are assigned and hold nothing yet.
func encoderNet(t *testing.T, parity ...int) (*shardNet, *storagetypes.QueryDealResponse) {
	t.Helper()
	n := newShardNet(t, 0)
	res := n.f.node.storage.(*fakeChain).deals[shardDeal]
	require.NoError(t, n.st.Put(shardDeal, store.Expect{Root: merkle.Hash(n.deal.ShardRoots[0]), Size: n.deal.ShardSize, ChunkSize: testChunk},
		bytes.NewReader(n.shards[0])))
	res.Replicas[0].Status = storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED
	for _, i := range parity {
		res.Replicas[i].Status = storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED
		delete(n.serve, peerURL(i))
	}
	return n, res
}

func TestEncoderStagesVerifiedParity(t *testing.T) {
	n, res := encoderNet(t, 3, 4)
	forged := bytes.Repeat([]byte{7}, merkle.HashSize)
	res.Deal.ShardRoots[4] = forged

	require.NoError(t, n.f.encodeParity(context.Background(), shardDeal))
	got, err := os.ReadFile(n.st.StagedShardPath(shardDeal, 3))
	require.NoError(t, err)
	require.Equal(t, n.shards[3], got)
	_, err = os.Stat(n.st.StagedShardPath(shardDeal, 4))
	require.True(t, os.IsNotExist(err), "a shard that fails the owner's root is not staged")
	require.NotContains(t, n.calls, peerURL(0), "its own shard is read locally")
}

// The encoder stages parity even when every fetch slot was taken at its
// commit: the deal waits in stageLater and a later step stages it.
func TestParityStagingWaitsForAFetchSlot(t *testing.T) {
	n, res := encoderNet(t, 3)

	n.f.cfg.MaxFetches = 1
	require.True(t, n.f.reserveFetch(999)) // another deal's download holds the only slot
	n.f.stageParity(context.Background(), shardDeal)
	n.f.mu.Lock()
	require.True(t, n.f.stageLater[shardDeal], "put off, not dropped")
	n.f.mu.Unlock()
	mine := map[uint64]storagetypes.Replica{shardDeal: n.mine(t)}
	n.f.retryStaging(context.Background(), mine) // still no slot
	_, err := os.Stat(n.st.StagedShardPath(shardDeal, 3))
	require.True(t, os.IsNotExist(err))

	n.f.releaseFetch(999)
	n.f.retryStaging(context.Background(), mine)
	require.Eventually(t, func() bool {
		got, err := os.ReadFile(n.st.StagedShardPath(shardDeal, 3))
		return err == nil && bytes.Equal(n.shards[3], got)
	}, 30*time.Second, 20*time.Millisecond, "parity shard 3 staged once a slot was free")
	n.f.mu.Lock()
	require.False(t, n.f.stageLater[shardDeal])
	n.f.mu.Unlock()
	// While a parity slot is assigned, shard 0's holder is the deal's
	// encoder: peers serve it the data shards outside its repair budget.
	info, err := n.f.node.DealInfo(context.Background(), shardDeal)
	require.NoError(t, err)
	require.Equal(t, res.Replicas[0].Provider, info.Encoder)
	for i := range res.Replicas {
		res.Replicas[i].Status = storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED
	}
	info, err = n.f.node.DealInfo(context.Background(), shardDeal)
	require.NoError(t, err)
	require.Empty(t, info.Encoder, "every slot committed: no encoder")
}

// A parity slot's provider fetches its shard from the encoder: one shard
// of traffic. While the encoder has nothing staged it waits (errNoSource);
// after ParityWait, or when the encoder serves wrong bytes, it rebuilds
// the shard from k others, and nothing wrong is stored.
func TestParitySlotFetchesFromTheEncoder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		serve  func(n *shardNet) []byte // what the encoder sends (nil: 404)
		wait   time.Duration
		direct bool
	}{
		{"staged", func(n *shardNet) []byte { return n.shards[4] }, time.Minute, true},
		{"wrong bytes", func(n *shardNet) []byte { return n.shards[3] }, time.Minute, false},
		{"never staged", func(*shardNet) []byte { return nil }, time.Nanosecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newShardNet(t, 4)
			n.f.cfg.ParityWait = tc.wait
			var parityCalls []string
			n.f.SetParityFetch(func(_ context.Context, from providerapi.Target, id uint64, shard int, w io.Writer) error {
				parityCalls = append(parityCalls, fmt.Sprintf("%s/%d/%d", from.URL, id, shard))
				data := tc.serve(n)
				if data == nil {
					return &providerapi.APIError{Status: 404}
				}
				_, err := w.Write(data)
				return err
			})
			require.NoError(t, n.f.fetchFromPeers(context.Background(), n.mine(t)))
			require.Equal(t, []string{fmt.Sprintf("%s/%d/4", peerURL(0), shardDeal)}, parityCalls, "the holder of shard 0 is asked")
			if tc.direct {
				require.Empty(t, n.calls, "no shard fetched besides its own")
			} else {
				require.GreaterOrEqual(t, len(n.calls), 3, "rebuilt from k shards")
			}
			require.NoError(t, n.st.Verify(shardDeal))
			f, meta, err := n.st.OpenData(shardDeal)
			require.NoError(t, err)
			f.Close()
			require.Equal(t, n.deal.ShardRoots[4], meta.Root[:])
		})
	}

	// Before ParityWait has passed, a 404 means "not yet": nothing is
	// fetched from the other holders.
	n := newShardNet(t, 4)
	n.f.SetParityFetch(func(context.Context, providerapi.Target, uint64, int, io.Writer) error {
		return &providerapi.APIError{Status: 404}
	})
	require.ErrorIs(t, n.f.fetchFromPeers(context.Background(), n.mine(t)), errNoSource)
	require.Empty(t, n.calls)
	require.False(t, n.st.Has(shardDeal))
}
