// Package chain is the provider daemon's view of the chain: it follows new
// blocks, reads the provider's replicas and challenges, and acts on them —
// fetching and committing replicas, answering every challenge of a window
// in one transaction, and claiming earnings. It keeps no state of its own
// beyond what it is doing right now: after a restart it resumes from chain
// state plus the store on disk.
package chain

import (
	"context"
	"fmt"
	"strings"
	"sync"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/provider/server"
	computetypes "github.com/stratusnet/stratus/x/compute/types"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// ErrUnknownDeal is returned for a deal the chain does not have.
var ErrUnknownDeal = server.ErrUnknownDeal

// Node queries the chain through a node's RPC (ABCI queries).
type Node struct {
	clientCtx sdkclient.Context
	me        string
	storage   storagetypes.QueryClient
	providers providertypes.QueryClient
	compute   computetypes.QueryClient

	mu        sync.Mutex
	endpoints map[string]string
}

// NewNode queries through clientCtx on behalf of provider me.
func NewNode(clientCtx sdkclient.Context, me string) *Node {
	return &Node{
		clientCtx: clientCtx, me: me,
		storage:   storagetypes.NewQueryClient(clientCtx),
		providers: providertypes.NewQueryClient(clientCtx),
		compute:   computetypes.NewQueryClient(clientCtx),
		endpoints: map[string]string{},
	}
}

// Height is the node's latest block height.
func (n *Node) Height(ctx context.Context) (int64, error) {
	st, err := n.clientCtx.Client.Status(ctx)
	if err != nil {
		return 0, err
	}
	if st.SyncInfo.CatchingUp {
		return 0, fmt.Errorf("node is catching up (at %d)", st.SyncInfo.LatestBlockHeight)
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// Deal returns a deal and its replicas.
func (n *Node) Deal(ctx context.Context, id uint64) (storagetypes.Deal, []storagetypes.Replica, error) {
	res, err := n.storage.Deal(ctx, &storagetypes.QueryDealRequest{DealId: id})
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return storagetypes.Deal{}, nil, fmt.Errorf("%w: %d", ErrUnknownDeal, id)
		}
		return storagetypes.Deal{}, nil, err
	}
	return res.Deal, res.Replicas, nil
}

// DealInfo reads a deal from the chain: what its bytes must be, who may
// read them, and whether this provider holds or must fetch a slot of it.
func (n *Node) DealInfo(ctx context.Context, id uint64) (server.DealInfo, error) {
	d, replicas, err := n.Deal(ctx, id)
	if err != nil {
		return server.DealInfo{}, err
	}
	// This provider's slot decides what it holds: its shard of an
	// erasure-coded deal, the whole file of a replicated one.
	shard := uint32(0)
	for _, r := range replicas {
		if r.Provider == n.me && r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_OPEN {
			shard = r.Shard
		}
	}
	root, err := merkle.HashFromBytes(d.SlotRoot(shard))
	if err != nil {
		return server.DealInfo{}, fmt.Errorf("deal %d shard %d: %w", id, shard, err)
	}
	s := server.DealInfo{ID: id, Owner: d.Owner, Public: d.Public, Root: root, Size: d.SlotSize(), ChunkSize: int(d.ChunkSize),
		Shard: int(shard), Erasure: d.Scheme().Erasure()}
	shard0, parityOpen := "", false // the encoder, while a parity slot waits for it
	for _, r := range replicas {
		switch r.Status {
		case storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED:
			s.Fetchers = append(s.Fetchers, r.Provider)
			parityOpen = parityOpen || r.Shard >= d.DataShards
			if s.Erasure {
				if s.ShardFetchers == nil {
					s.ShardFetchers = map[string]int{}
				}
				s.ShardFetchers[r.Provider] = int(r.Shard)
			}
		case storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED:
			s.Holders = append(s.Holders, r.Provider)
			if r.Shard == 0 {
				shard0 = r.Provider
			}
		default:
			continue
		}
		if r.Provider == n.me {
			s.Assigned = true
		}
	}
	if s.Erasure && parityOpen {
		s.Encoder = shard0
	}
	return s, nil
}

// JobInfo reads a job from the chain: who may read its data.
func (n *Node) JobInfo(ctx context.Context, id uint64) (server.JobInfo, error) {
	job, err := n.Job(ctx, id)
	if err != nil {
		return server.JobInfo{}, err
	}
	info := server.JobInfo{ID: id, Owner: job.Owner, Public: job.Public}
	// Only executors that still have to run the job may fetch its data:
	// once it committed, was replaced or the job closed, the access ends.
	for _, e := range job.Executors {
		if job.Open() && e.Status == computetypes.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED {
			info.Executors = append(info.Executors, e.Provider)
		}
	}
	if job.ProgramDealId != 0 {
		info.Reads = append(info.Reads, job.ProgramDealId)
	}
	for _, in := range job.Inputs {
		info.Reads = append(info.Reads, in.DealId)
	}
	return info, nil
}

// MyReplicas lists every slot this provider holds or must fetch.
func (n *Node) MyReplicas(ctx context.Context) ([]storagetypes.Replica, error) {
	var out []storagetypes.Replica
	var key []byte
	for {
		res, err := n.storage.ProviderReplicas(ctx, &storagetypes.QueryProviderReplicasRequest{
			Provider: n.me, Pagination: &query.PageRequest{Key: key, Limit: 500},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Replicas...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return out, nil
		}
		key = res.Pagination.NextKey
	}
}

// Challenges returns the current window and this provider's open challenges.
func (n *Node) Challenges(ctx context.Context) (storagetypes.Window, []storagetypes.Challenge, error) {
	res, err := n.storage.Challenges(ctx, &storagetypes.QueryChallengesRequest{Provider: n.me})
	if err != nil {
		return storagetypes.Window{}, nil, err
	}
	return res.Window, res.Challenges, nil
}

// Provider returns a provider's record.
func (n *Node) Provider(ctx context.Context, addr string) (providertypes.Provider, error) {
	res, err := n.providers.Provider(ctx, &providertypes.QueryProviderRequest{Address: addr})
	if err != nil {
		return providertypes.Provider{}, err
	}
	return res.Provider, nil
}

// MinStake is the chain's min_stake: the part of a stake never lockable as
// collateral.
func (n *Node) MinStake(ctx context.Context) (sdk.Coin, error) {
	res, err := n.providers.Params(ctx, &providertypes.QueryParamsRequest{})
	if err != nil {
		return sdk.Coin{}, err
	}
	return res.Params.MinStake, nil
}

// Endpoint returns a provider's HTTP endpoint, cached.
func (n *Node) Endpoint(ctx context.Context, addr string) (string, error) {
	n.mu.Lock()
	ep, ok := n.endpoints[addr]
	n.mu.Unlock()
	if ok {
		return ep, nil
	}
	p, err := n.Provider(ctx, addr)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.endpoints[addr] = p.Endpoint
	n.mu.Unlock()
	return p.Endpoint, nil
}

// MyOpenJobs lists the jobs in which this provider still has to commit or reveal.
func (n *Node) MyOpenJobs(ctx context.Context) ([]computetypes.Job, error) {
	var out []computetypes.Job
	var key []byte
	for {
		res, err := n.compute.JobsByProvider(ctx, &computetypes.QueryJobsByProviderRequest{
			Provider: n.me, OpenOnly: true, Pagination: &query.PageRequest{Key: key, Limit: 200},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Jobs...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return out, nil
		}
		key = res.Pagination.NextKey
	}
}

// Job returns a job, or an error wrapping server.ErrUnknownJob if the
// chain has none of that id.
func (n *Node) Job(ctx context.Context, id uint64) (computetypes.Job, error) {
	res, err := n.compute.Job(ctx, &computetypes.QueryJobRequest{JobId: id})
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return computetypes.Job{}, fmt.Errorf("%w: %d", server.ErrUnknownJob, id)
		}
		return computetypes.Job{}, err
	}
	return res.Job, nil
}

// Program returns an open job's inline program.
func (n *Node) Program(ctx context.Context, id uint64) ([]byte, error) {
	res, err := n.compute.Program(ctx, &computetypes.QueryProgramRequest{JobId: id})
	if err != nil {
		return nil, err
	}
	return res.Wasm, nil
}
