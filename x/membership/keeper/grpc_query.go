package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/stratusnet/stratus/x/membership/types"
)

type queryServer struct {
	*Keeper
}

var _ types.QueryServer = queryServer{}

// NewQueryServerImpl returns the Query service implementation.
func NewQueryServerImpl(k *Keeper) types.QueryServer {
	return queryServer{Keeper: k}
}

// Member implements types.QueryServer.
func (q queryServer) Member(ctx context.Context, req *types.QueryMemberRequest) (*types.QueryMemberResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if err := req.Role.Validate(); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	addr, err := q.addressCodec.StringToBytes(req.Address)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "address %q: %v", req.Address, err)
	}
	m, err := q.GetMember(ctx, req.Role, addr)
	if errors.Is(err, types.ErrNotMember) {
		return nil, status.Error(codes.NotFound, err.Error())
	} else if err != nil {
		return nil, err
	}
	return &types.QueryMemberResponse{Member: m}, nil
}

// Members implements types.QueryServer.
func (q queryServer) Members(ctx context.Context, req *types.QueryMembersRequest) (*types.QueryMembersResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	var opts []func(*query.CollectionsPaginateOptions[collections.Pair[int32, sdk.AccAddress]])
	if req.Role != types.Role_ROLE_UNSPECIFIED {
		if err := req.Role.Validate(); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		opts = append(opts, query.WithCollectionPaginationPairPrefix[int32, sdk.AccAddress](int32(req.Role)))
	}
	members, pageRes, err := query.CollectionPaginate(ctx, q.Keeper.Members, req.Pagination,
		func(_ collections.Pair[int32, sdk.AccAddress], m types.Member) (types.Member, error) { return m, nil },
		opts...)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryMembersResponse{Members: members, Pagination: pageRes}, nil
}

// Params implements types.QueryServer.
func (q queryServer) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}
