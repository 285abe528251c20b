package chain

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/metrics"
	"github.com/stratusnet/stratus/provider/server"
	"github.com/stratusnet/stratus/provider/store"
	"github.com/stratusnet/stratus/providerapi"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

var (
	testMe   = sdk.AccAddress(bytes.Repeat([]byte{1}, 20)).String()
	testPeer = sdk.AccAddress(bytes.Repeat([]byte{2}, 20)).String()
)

const (
	testPeerURL  = "http://peer.test"
	testChunk    = 64
	testLeaves   = 40 // leaves 3 and 30 sit under different kept tree nodes
	testWindowNo = 7
)

// fakeChain answers the storage queries the follower makes; any other
// query panics on the nil embedded client.
type fakeChain struct {
	storagetypes.QueryClient

	mu         sync.Mutex
	window     storagetypes.Window
	challenges []storagetypes.Challenge
	deals      map[uint64]*storagetypes.QueryDealResponse
}

func (c *fakeChain) Deal(_ context.Context, in *storagetypes.QueryDealRequest, _ ...grpc.CallOption) (*storagetypes.QueryDealResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.deals[in.DealId]
	if !ok {
		return nil, fmt.Errorf("deal %d not found", in.DealId)
	}
	return d, nil
}

func (c *fakeChain) Challenges(context.Context, *storagetypes.QueryChallengesRequest, ...grpc.CallOption) (*storagetypes.QueryChallengesResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &storagetypes.QueryChallengesResponse{Window: c.window, Challenges: slices.Clone(c.challenges)}, nil
}

// fakeSender records every MsgSubmitProofs the chain would take: one
// naming a window other than the open one is refused, as the chain does.
type fakeSender struct {
	chain *fakeChain
	mu    sync.Mutex
	sent  []*storagetypes.MsgSubmitProofs
	other []sdk.Msg // every other message, in order
	// otherAwaits says, for each of other, whether its context asked to
	// wait for an upload (only a first fetch may).
	otherAwaits []bool
}

func (s *fakeSender) Send(ctx context.Context, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	s.chain.mu.Lock()
	open := s.chain.window.Number
	s.chain.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range msgs {
		msg, ok := m.(*storagetypes.MsgSubmitProofs)
		if !ok {
			s.other = append(s.other, m)
			s.otherAwaits = append(s.otherAwaits, providerapi.AwaitsUpload(ctx))
			continue
		}
		if msg.Window != 0 && msg.Window != open {
			return nil, fmt.Errorf("%w: window %d, open %d", storagetypes.ErrWindowClosed, msg.Window, open)
		}
		s.sent = append(s.sent, msg)
	}
	return &sdk.TxResponse{TxHash: fmt.Sprintf("TX%d", len(s.sent))}, nil
}

func (s *fakeSender) messages() []*storagetypes.MsgSubmitProofs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// fakePeer is the peer provider's download endpoint.
type fakePeer struct {
	mu     sync.Mutex
	data   map[uint64][]byte
	calls  []string
	awaits []bool        // whether each fetch asked to await the upload
	stall  chan struct{} // when set, a fetch hangs until it is closed, ignoring ctx
}

func (p *fakePeer) fetch(ctx context.Context, from providerapi.Target, id, _ uint64, w io.Writer) error {
	endpoint := from.URL
	p.mu.Lock()
	p.calls = append(p.calls, fmt.Sprintf("%s/%d", endpoint, id))
	p.awaits = append(p.awaits, providerapi.AwaitsUpload(ctx))
	data, stall := p.data[id], p.stall
	p.mu.Unlock()
	if stall != nil {
		<-stall
		return fmt.Errorf("stalled")
	}
	_, err := w.Write(data)
	return err
}

func (p *fakePeer) fetches() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

type rig struct {
	f      *Follower
	chain  *fakeChain
	sender *fakeSender
	peer   *fakePeer
	st     *store.Store
	dir    string
	m      *metrics.Metrics
	data   map[uint64][]byte
}

func newRig(t *testing.T, repairWait time.Duration) *rig {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	require.NoError(t, err)
	chain := &fakeChain{window: storagetypes.Window{Number: testWindowNo}, deals: map[uint64]*storagetypes.QueryDealResponse{}}
	r := &rig{
		chain: chain, sender: &fakeSender{chain: chain}, peer: &fakePeer{data: map[uint64][]byte{}},
		st: st, dir: dir, m: metrics.New(), data: map[uint64][]byte{},
	}
	node := &Node{me: testMe, storage: r.chain, endpoints: map[string]string{testPeer: testPeerURL}}
	r.f = NewFollower(node, st, r.sender, r.peer.fetch, testMe, Config{RepairWait: repairWait}, slog.New(slog.DiscardHandler), r.m)
	return r
}

func testData(id uint64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(uint64(i)*31 + id*7 + uint64(i/testChunk))
	}
	return b
}

// addDeal stores data as deal id here, records the deal on chain with this
// provider's committed replica, and with peerHolds a peer's that serves it.
func (r *rig) addDeal(t *testing.T, id uint64, data []byte, peerHolds bool) {
	t.Helper()
	root, err := merkle.Root(data, testChunk)
	require.NoError(t, err)
	require.NoError(t, r.st.Put(id, store.Expect{Root: root, Size: uint64(len(data)), ChunkSize: testChunk}, bytes.NewReader(data)))
	committed := storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED
	replicas := []storagetypes.Replica{{DealId: id, Slot: 0, Provider: testMe, Status: committed}}
	if peerHolds {
		replicas = append(replicas, storagetypes.Replica{DealId: id, Slot: 1, Provider: testPeer, Status: committed})
		r.peer.data[id] = slices.Clone(data)
	}
	r.chain.deals[id] = &storagetypes.QueryDealResponse{
		Deal:     storagetypes.Deal{Id: id, Root: root[:], Size_: uint64(len(data)), ChunkSize: testChunk},
		Replicas: replicas,
	}
	r.data[id] = data
}

func (r *rig) challenge(id uint64, answered bool, leaves ...uint64) {
	r.chain.mu.Lock()
	defer r.chain.mu.Unlock()
	for _, l := range leaves {
		r.chain.challenges = append(r.chain.challenges, storagetypes.Challenge{
			Window: r.chain.window.Number, Provider: testMe, DealId: id, LeafIndex: l, Answered: answered,
		})
	}
}

// corrupt flips one byte of a leaf in the stored file, as a failing disk would.
func (r *rig) corrupt(t *testing.T, id, leaf uint64) {
	t.Helper()
	path := filepath.Join(r.dir, "deals", strconv.FormatUint(id, 10), "data")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	off := int64(leaf)*testChunk + 5
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0x40
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

func (r *rig) shape(id uint64) server.DealInfo {
	d := r.chain.deals[id].Deal
	root, _ := merkle.HashFromBytes(d.Root)
	return server.DealInfo{ID: id, Root: root, Size: d.Size_, ChunkSize: int(d.ChunkSize), Assigned: true}
}

// sentSamples checks every proof sent as the chain does (leaf size, path to
// the deal's root on chain, and the leaf is the owner's bytes) and returns
// each message's samples.
func (r *rig) sentSamples(t *testing.T) [][]sample {
	t.Helper()
	var out [][]sample
	for _, msg := range r.sender.messages() {
		require.Equal(t, testMe, msg.Provider)
		require.NotZero(t, msg.Window, "proofs name their window")
		require.NoError(t, msg.ValidateBasic())
		var got []sample
		for _, p := range msg.Proofs {
			d := r.chain.deals[p.DealId].Deal
			root, err := merkle.HashFromBytes(d.Root)
			require.NoError(t, err)
			path, err := p.Hashes()
			require.NoError(t, err)
			require.NoError(t, merkle.VerifyProof(root, merkle.LeafCount(d.Size_, int(d.ChunkSize)), p.LeafIndex, p.Leaf, path),
				"deal %d leaf %d: the chain would refuse this proof", p.DealId, p.LeafIndex)
			lo := p.LeafIndex * testChunk
			require.Equal(t, r.data[p.DealId][lo:min(lo+testChunk, uint64(len(r.data[p.DealId])))], p.Leaf)
			got = append(got, sample{p.DealId, p.LeafIndex})
		}
		out = append(out, got)
	}
	return out
}

func (r *rig) repairs(result string) float64 {
	return value(r.m.ProofRepairs.WithLabelValues(result))
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func requireNoUploadLeft(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	require.NoError(t, err)
	require.Empty(t, entries, "a refused download left bytes behind")
}

// Several samples of one deal go in one message, the last (short) leaf
// included; a sample is sent once, and a new leaf of a proven deal is
// still proven: bookkeeping is per sample, not per deal.
func TestAnswerChallengesOneMessageKeyedBySample(t *testing.T) {
	r := newRig(t, time.Second)
	r.addDeal(t, 1, testData(1, 10*testChunk+10), false)
	r.addDeal(t, 2, testData(2, 5*testChunk), false)
	r.challenge(1, false, 0, 5, 10)
	r.challenge(2, false, 2)
	r.challenge(2, true, 3) // answered already: not sent again
	ctx := context.Background()

	require.NoError(t, r.f.answerChallenges(ctx))
	require.Equal(t, [][]sample{{{1, 0}, {1, 5}, {1, 10}, {2, 2}}}, r.sentSamples(t))

	require.NoError(t, r.f.answerChallenges(ctx))
	require.Len(t, r.sender.messages(), 1, "proven samples are not sent twice")

	r.challenge(1, false, 7)
	require.NoError(t, r.f.answerChallenges(ctx))
	require.Equal(t, [][]sample{{{1, 0}, {1, 5}, {1, 10}, {2, 2}}, {{1, 7}}}, r.sentSamples(t))

	require.Equal(t, 5.0, value(r.m.ProofsSubmitted))
	require.Zero(t, value(r.m.ProofsFailed))
	require.Zero(t, r.repairs(metrics.RepairOK)+r.repairs(metrics.RepairFailed))
	require.Empty(t, r.peer.fetches())
}

// More samples than one message holds overflow into a second.
func TestAnswerChallengesSplitsAtMaxProofsPerMsg(t *testing.T) {
	r := newRig(t, time.Second)
	n := storagetypes.MaxProofsPerMsg + 1
	r.addDeal(t, 1, testData(1, n*testChunk), false)
	for i := range n {
		r.challenge(1, false, uint64(i))
	}
	require.NoError(t, r.f.answerChallenges(context.Background()))
	msgs := r.sentSamples(t)
	require.Len(t, msgs, 2)
	require.Len(t, msgs[0], storagetypes.MaxProofsPerMsg)
	require.Equal(t, []sample{{1, uint64(n - 1)}}, msgs[1])
}

// A flipped byte on disk is caught by the local check (the store alone
// still hands out the proof), the replica is fetched again from the peer,
// and the sample is proven in the same window, after the good ones.
func TestCorruptLeafIsRefetchedAndProven(t *testing.T) {
	r := newRig(t, 5*time.Second)
	r.addDeal(t, 1, testData(1, 3*testChunk), false)
	r.addDeal(t, 2, testData(2, testLeaves*testChunk), true)
	r.corrupt(t, 2, 3)

	_, _, err := r.st.Proof(2, 3)
	require.NoError(t, err, "the store does not re-hash on a proof")
	_, err = prove(r.st, r.shape(2), 3)
	require.ErrorIs(t, err, merkle.ErrRootMismatch)
	_, err = prove(r.st, r.shape(2), 30)
	require.NoError(t, err, "a leaf under another kept node still proves")

	r.challenge(1, false, 1)
	r.challenge(2, false, 3, 30)
	require.NoError(t, r.f.answerChallenges(context.Background()))

	require.Equal(t, [][]sample{{{1, 1}, {2, 30}}, {{2, 3}}}, r.sentSamples(t))
	require.Equal(t, []string{testPeerURL + "/2"}, r.peer.fetches())
	require.NoError(t, r.st.Verify(2), "the stored copy is whole again")
	f, _, err := r.st.OpenData(2)
	require.NoError(t, err)
	defer f.Close()
	onDisk, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, r.data[2], onDisk)
	require.Equal(t, 1.0, r.repairs(metrics.RepairOK))
	require.Zero(t, r.repairs(metrics.RepairFailed))
	require.Zero(t, value(r.m.ProofsFailed))
	require.Equal(t, 3.0, value(r.m.ProofsSubmitted))
}

// A peer serving wrong bytes leaves nothing stored and no proof sent for
// the deal; the repair is counted failed and not retried in the window.
// In the next window the missing data is fetched again and proven.
func TestPeerServingWrongBytesLeavesNothingStored(t *testing.T) {
	r := newRig(t, 5*time.Second)
	r.addDeal(t, 1, testData(1, 3*testChunk), false)
	r.addDeal(t, 2, testData(2, testLeaves*testChunk), true)
	r.corrupt(t, 2, 3)
	r.peer.data[2][100] ^= 1
	r.challenge(1, false, 1)
	r.challenge(2, false, 3)
	ctx := context.Background()

	require.NoError(t, r.f.answerChallenges(ctx))
	require.Equal(t, [][]sample{{{1, 1}}}, r.sentSamples(t))
	require.False(t, r.st.Has(2), "neither the bad copy nor the peer's bytes are kept")
	requireNoUploadLeft(t, r.dir)
	require.Equal(t, 1.0, r.repairs(metrics.RepairFailed))
	require.Zero(t, r.repairs(metrics.RepairOK))
	require.Equal(t, 1.0, value(r.m.ProofsFailed))

	// Later blocks of the window neither refetch nor count the sample again.
	require.NoError(t, r.f.answerChallenges(ctx))
	require.Len(t, r.peer.fetches(), 1)
	require.Len(t, r.sender.messages(), 1)
	require.Equal(t, 1.0, value(r.m.ProofsFailed))

	// Next window: the peer serves the right bytes, the missing copy returns.
	r.peer.data[2] = slices.Clone(r.data[2])
	r.chain.mu.Lock()
	r.chain.window.Number++
	r.chain.challenges = []storagetypes.Challenge{{Window: r.chain.window.Number, Provider: testMe, DealId: 2, LeafIndex: 17}}
	r.chain.mu.Unlock()
	require.NoError(t, r.f.answerChallenges(ctx))
	require.Equal(t, [][]sample{{{1, 1}}, {{2, 17}}}, r.sentSamples(t))
	msgs := r.sender.messages()
	require.Equal(t, []uint64{testWindowNo, testWindowNo + 1}, []uint64{msgs[0].Window, msgs[1].Window})
	require.NoError(t, r.st.Verify(2))
	require.Equal(t, 1.0, r.repairs(metrics.RepairOK))
}

// A peer that never answers costs only its own deal's samples: the good
// proofs are sent, and the step ends once RepairWait is over, even though
// the fetch ignores its context.
func TestSlowPeerCostsOnlyItsOwnSamples(t *testing.T) {
	r := newRig(t, 200*time.Millisecond)
	r.peer.stall = make(chan struct{})
	t.Cleanup(func() { close(r.peer.stall) })
	r.addDeal(t, 1, testData(1, 3*testChunk), false)
	r.addDeal(t, 2, testData(2, testLeaves*testChunk), true)
	r.corrupt(t, 2, 3)
	r.challenge(1, false, 2)
	r.challenge(2, false, 3)

	start := time.Now()
	require.NoError(t, r.f.answerChallenges(context.Background()))
	require.Less(t, time.Since(start), 3*time.Second)
	require.Equal(t, [][]sample{{{1, 2}}}, r.sentSamples(t))
	require.Equal(t, 1.0, r.repairs(metrics.RepairFailed))
	require.Equal(t, 1.0, value(r.m.ProofsFailed))
	require.False(t, r.st.Has(2))
	requireNoUploadLeft(t, r.dir)
	r.f.mu.Lock()
	require.Empty(t, r.f.fetching, "the fetch slot is given back")
	r.f.mu.Unlock()
}

// With no other committed replica there is nothing to fetch from: the
// damaged copy is kept, its good leaves still prove, the bad one is not sent.
func TestNoPeerKeepsTheDamagedCopy(t *testing.T) {
	r := newRig(t, time.Second)
	r.addDeal(t, 2, testData(2, testLeaves*testChunk), false)
	r.corrupt(t, 2, 3)
	r.challenge(2, false, 3, 30)

	require.NoError(t, r.f.answerChallenges(context.Background()))
	require.Equal(t, [][]sample{{{2, 30}}}, r.sentSamples(t))
	require.True(t, r.st.Has(2))
	require.Empty(t, r.peer.fetches())
	require.Equal(t, 1.0, r.repairs(metrics.RepairFailed))
	require.Equal(t, 1.0, value(r.m.ProofsFailed))
}

// replicaToFetch puts deal id on the chain with slot 0 at the peer (in
// status source) and slot 1 assigned to us, to copy from the peer; it
// returns the deal's bytes and our replica.
func (r *rig) replicaToFetch(t *testing.T, id uint64, source storagetypes.ReplicaStatus) ([]byte, storagetypes.Replica) {
	t.Helper()
	data := testData(id, testLeaves*testChunk)
	root, err := merkle.Root(data, testChunk)
	require.NoError(t, err)
	mine := storagetypes.Replica{DealId: id, Slot: 1, Provider: testMe, Status: storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED, Source: testPeer}
	r.chain.deals[id] = &storagetypes.QueryDealResponse{
		Deal:     storagetypes.Deal{Id: id, Root: root[:], Size_: uint64(len(data)), ChunkSize: testChunk},
		Replicas: []storagetypes.Replica{{DealId: id, Slot: 0, Provider: testPeer, Status: source}, mine},
	}
	return data, mine
}

// A replicating provider asks the source to await the owner's upload on
// its first try of a deal only: a deal never uploaded is answered at once
// after that, and cannot hold a fetch slot block after block.
func TestOnlyTheFirstFetchOfADealAwaitsTheUpload(t *testing.T) {
	r := newRig(t, 0)
	_, mine := r.replicaToFetch(t, 9, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED)
	// The source has nothing yet: each try fails short.
	awaits := func() []bool {
		r.peer.mu.Lock()
		defer r.peer.mu.Unlock()
		return slices.Clone(r.peer.awaits)
	}
	for try := 1; try <= 3; try++ {
		r.f.replicate(context.Background(), mine)
		require.Eventually(t, func() bool {
			r.f.mu.Lock()
			defer r.f.mu.Unlock()
			return len(awaits()) == try && !r.f.fetching[9]
		}, 10*time.Second, time.Millisecond, "try %d did not end", try)
	}
	require.Equal(t, []bool{true, false, false}, awaits())
}

// A fetched replica's commit goes out as soon as the copy is stored, not
// at the loop's next step (under load that step can come after the next
// block, and the put waits a block more for it).
func TestAFetchedReplicaIsCommittedAtOnce(t *testing.T) {
	r := newRig(t, 0)
	data, mine := r.replicaToFetch(t, 9, storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED)
	r.peer.mu.Lock()
	r.peer.data[9] = data
	r.peer.mu.Unlock()

	r.f.replicate(context.Background(), mine)
	require.Eventually(t, func() bool {
		r.sender.mu.Lock()
		defer r.sender.mu.Unlock()
		for _, m := range r.sender.other {
			if c, ok := m.(*storagetypes.MsgCommitReplica); ok && c.DealId == 9 && c.Provider == testMe {
				return true
			}
		}
		return false
	}, 10*time.Second, time.Millisecond, "no commit was sent after the fetch")
	require.True(t, r.st.Has(9))
	r.sender.mu.Lock()
	defer r.sender.mu.Unlock()
	require.NotContains(t, r.sender.otherAwaits, true, "the commit (and what follows it) ran under the fetch's wait for the upload")
}
