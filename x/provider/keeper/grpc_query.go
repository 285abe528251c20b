package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/stratusnet/stratus/x/provider/types"
)

type queryServer struct {
	*Keeper
}

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service implementation.
func NewQueryServerImpl(k *Keeper) types.QueryServer {
	return queryServer{Keeper: k}
}

// Provider implements types.QueryServer.
func (q queryServer) Provider(ctx context.Context, req *types.QueryProviderRequest) (*types.QueryProviderResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	addr, err := q.addressCodec.StringToBytes(req.Address)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "address %q: %v", req.Address, err)
	}
	p, err := q.GetProvider(ctx, addr)
	if errors.Is(err, types.ErrProviderNotFound) {
		return nil, status.Error(codes.NotFound, err.Error())
	} else if err != nil {
		return nil, err
	}
	return &types.QueryProviderResponse{Provider: p}, nil
}

// Providers implements types.QueryServer. With a status it pages through the
// status index; without, through all providers in address order.
func (q queryServer) Providers(ctx context.Context, req *types.QueryProvidersRequest) (*types.QueryProvidersResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if req.Status == types.ProviderStatus_PROVIDER_STATUS_UNSPECIFIED {
		providers, pageRes, err := query.CollectionPaginate(ctx, q.Keeper.Providers, req.Pagination,
			func(_ sdk.AccAddress, p types.Provider) (types.Provider, error) { return p, nil })
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return &types.QueryProvidersResponse{Providers: providers, Pagination: pageRes}, nil
	}
	if err := req.Status.Validate(); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	providers, pageRes, err := query.CollectionPaginate(ctx, q.Keeper.Providers.Indexes.Status, req.Pagination,
		func(key collections.Pair[int32, sdk.AccAddress], _ collections.NoValue) (types.Provider, error) {
			return q.Keeper.Providers.Get(ctx, key.K2())
		},
		query.WithCollectionPaginationPairPrefix[int32, sdk.AccAddress](int32(req.Status)))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryProvidersResponse{Providers: providers, Pagination: pageRes}, nil
}

// Params implements types.QueryServer.
func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}
