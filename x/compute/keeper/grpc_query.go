package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/stratusnet/stratus/x/compute/types"
)

type queryServer struct{ *Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service implementation.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{Keeper: k} }

func (q queryServer) Job(ctx context.Context, req *types.QueryJobRequest) (*types.QueryJobResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	j, err := q.GetJob(ctx, req.JobId)
	if errors.Is(err, types.ErrJobNotFound) {
		return nil, status.Error(codes.NotFound, err.Error())
	} else if err != nil {
		return nil, err
	}
	return &types.QueryJobResponse{Job: j}, nil
}

func (q queryServer) jobsOf(ctx context.Context, set collections.KeySet[JobRef], addr string, page *query.PageRequest) ([]types.Job, *query.PageResponse, error) {
	a, err := q.addressCodec.StringToBytes(addr)
	if err != nil {
		return nil, nil, status.Errorf(codes.InvalidArgument, "address %q: %v", addr, err)
	}
	jobs, resp, err := query.CollectionPaginate(ctx, set, page,
		func(key JobRef, _ collections.NoValue) (types.Job, error) { return q.GetJob(ctx, key.K2()) },
		query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](a))
	if err != nil {
		return nil, nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return jobs, resp, nil
}

func (q queryServer) JobsByOwner(ctx context.Context, req *types.QueryJobsByOwnerRequest) (*types.QueryJobsByOwnerResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	jobs, page, err := q.jobsOf(ctx, q.Keeper.JobsByOwner, req.Owner, req.Pagination)
	if err != nil {
		return nil, err
	}
	return &types.QueryJobsByOwnerResponse{Jobs: jobs, Pagination: page}, nil
}

func (q queryServer) JobsByProvider(ctx context.Context, req *types.QueryJobsByProviderRequest) (*types.QueryJobsByProviderResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	set := q.Keeper.JobsByProvider
	if req.OpenOnly {
		set = q.Keeper.OpenByProvider
	}
	jobs, page, err := q.jobsOf(ctx, set, req.Provider, req.Pagination)
	if err != nil {
		return nil, err
	}
	return &types.QueryJobsByProviderResponse{Jobs: jobs, Pagination: page}, nil
}

func (q queryServer) Program(ctx context.Context, req *types.QueryProgramRequest) (*types.QueryProgramResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	wasm, err := q.Programs.Get(ctx, req.JobId)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no inline program kept for job %d (stored by deal, or the job is finished)", req.JobId)
	} else if err != nil {
		return nil, err
	}
	return &types.QueryProgramResponse{Wasm: wasm}, nil
}

func (q queryServer) Params(ctx context.Context, req *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}
