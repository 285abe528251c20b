package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/stratusnet/stratus/x/storage/types"
)

type queryServer struct{ *Keeper }

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service implementation.
func NewQueryServerImpl(k *Keeper) types.QueryServer { return queryServer{Keeper: k} }

func (q queryServer) Deal(ctx context.Context, req *types.QueryDealRequest) (*types.QueryDealResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	d, err := q.GetDeal(ctx, req.DealId)
	if errors.Is(err, types.ErrDealNotFound) {
		return nil, status.Error(codes.NotFound, err.Error())
	} else if err != nil {
		return nil, err
	}
	replicas, err := q.DealReplicas(ctx, d.Id)
	if err != nil {
		return nil, err
	}
	return &types.QueryDealResponse{Deal: d, Replicas: replicas}, nil
}

func (q queryServer) DealsByOwner(ctx context.Context, req *types.QueryDealsByOwnerRequest) (*types.QueryDealsByOwnerResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	owner, err := q.addressCodec.StringToBytes(req.Owner)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "owner %q: %v", req.Owner, err)
	}
	deals, page, err := query.CollectionPaginate(ctx, q.Keeper.DealsByOwner, req.Pagination,
		func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (types.Deal, error) {
			return q.GetDeal(ctx, key.K2())
		}, query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](owner))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryDealsByOwnerResponse{Deals: deals, Pagination: page}, nil
}

func (q queryServer) ProviderReplicas(ctx context.Context, req *types.QueryProviderReplicasRequest) (*types.QueryProviderReplicasResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	provider, err := q.addressCodec.StringToBytes(req.Provider)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "provider %q: %v", req.Provider, err)
	}
	replicas, page, err := query.CollectionPaginate(ctx, q.Keeper.ReplicasByProvider, req.Pagination,
		func(key collections.Pair[sdk.AccAddress, uint64], slot uint32) (types.Replica, error) {
			return q.Replicas.Get(ctx, collections.Join(key.K2(), slot))
		}, query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](provider))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryProviderReplicasResponse{Replicas: replicas, Pagination: page}, nil
}

func (q queryServer) Challenges(ctx context.Context, req *types.QueryChallengesRequest) (*types.QueryChallengesResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	provider, err := q.addressCodec.StringToBytes(req.Provider)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "provider %q: %v", req.Provider, err)
	}
	w, err := q.CurrentWindow(ctx)
	if err != nil {
		return nil, err
	}
	open, err := q.OpenSamples(ctx, provider)
	if err != nil {
		return nil, err
	}
	return &types.QueryChallengesResponse{Window: w, Challenges: open}, nil
}

func (q queryServer) FailedWindows(ctx context.Context, req *types.QueryFailedWindowsRequest) (*types.QueryFailedWindowsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	provider, err := q.addressCodec.StringToBytes(req.Provider)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "provider %q: %v", req.Provider, err)
	}
	failed, page, err := query.CollectionPaginate(ctx, q.Keeper.FailedWindows, req.Pagination,
		func(_ collections.Pair[sdk.AccAddress, int64], f types.FailedWindow) (types.FailedWindow, error) {
			return f, nil
		}, query.WithCollectionPaginationPairPrefix[sdk.AccAddress, int64](provider))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryFailedWindowsResponse{FailedWindows: failed, Pagination: page}, nil
}

func (q queryServer) Window(ctx context.Context, _ *types.QueryWindowRequest) (*types.QueryWindowResponse, error) {
	w, err := q.CurrentWindow(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryWindowResponse{Window: w}, nil
}

func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}
