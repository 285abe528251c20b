package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/stratusnet/stratus/x/membership/types"
)

// seedMembers grants 3 validators and 2 providers; addr 2 holds both roles.
func seedMembers(t *testing.T, f *fixture) (validators, providers []types.Member) {
	t.Helper()
	for _, n := range []byte{3, 1, 2} {
		_, err := f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: testAddr(n).String(), Role: types.Role_ROLE_VALIDATOR, Description: "v"})
		require.NoError(t, err)
		validators = append(validators, types.Member{Address: testAddr(n).String(), Role: types.Role_ROLE_VALIDATOR, GrantedHeight: testHeight, Description: "v"})
	}
	for _, n := range []byte{2, 9} {
		_, err := f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: testAddr(n).String(), Role: types.Role_ROLE_PROVIDER, Description: "p"})
		require.NoError(t, err)
		providers = append(providers, types.Member{Address: testAddr(n).String(), Role: types.Role_ROLE_PROVIDER, GrantedHeight: testHeight, Description: "p"})
	}
	return sortedMembers(t, validators), sortedMembers(t, providers)
}

func TestQueryMember(t *testing.T) {
	f := newFixture(t)
	validators, providers := seedMembers(t, f)

	cases := []struct {
		name     string
		req      *types.QueryMemberRequest
		wantCode codes.Code
		want     types.Member
	}{
		{"validator found", &types.QueryMemberRequest{Address: testAddr(1).String(), Role: types.Role_ROLE_VALIDATOR}, codes.OK, validators[0]},
		{"provider found", &types.QueryMemberRequest{Address: testAddr(9).String(), Role: types.Role_ROLE_PROVIDER}, codes.OK, providers[1]},
		{"non-member", &types.QueryMemberRequest{Address: testAddr(50).String(), Role: types.Role_ROLE_VALIDATOR}, codes.NotFound, types.Member{}},
		{"member of the other role only", &types.QueryMemberRequest{Address: testAddr(9).String(), Role: types.Role_ROLE_VALIDATOR}, codes.NotFound, types.Member{}},
		{"role unspecified", &types.QueryMemberRequest{Address: testAddr(1).String(), Role: types.Role_ROLE_UNSPECIFIED}, codes.InvalidArgument, types.Member{}},
		{"role out of range", &types.QueryMemberRequest{Address: testAddr(1).String(), Role: types.Role(99)}, codes.InvalidArgument, types.Member{}},
		{"bad address", &types.QueryMemberRequest{Address: "stratus1bad", Role: types.Role_ROLE_VALIDATOR}, codes.InvalidArgument, types.Member{}},
		{"empty address", &types.QueryMemberRequest{Role: types.Role_ROLE_VALIDATOR}, codes.InvalidArgument, types.Member{}},
		{"nil request", nil, codes.InvalidArgument, types.Member{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.queries.Member(f.ctx, tc.req)

			if tc.wantCode != codes.OK {
				require.Error(t, err)
				require.Equal(t, tc.wantCode, status.Code(err), "err: %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Member)
		})
	}
}

func TestQueryMembers(t *testing.T) {
	f := newFixture(t)
	validators, providers := seedMembers(t, f)
	all := append(append([]types.Member(nil), validators...), providers...)

	cases := []struct {
		name string
		role types.Role
		want []types.Member
	}{
		{"no filter returns every member, validators first", types.Role_ROLE_UNSPECIFIED, all},
		{"validators only", types.Role_ROLE_VALIDATOR, validators},
		{"providers only", types.Role_ROLE_PROVIDER, providers},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.queries.Members(f.ctx, &types.QueryMembersRequest{Role: tc.role})

			require.NoError(t, err)
			require.Equal(t, tc.want, res.Members)
		})
	}
}

func TestQueryMembersEmpty(t *testing.T) {
	f := newFixture(t)

	res, err := f.queries.Members(f.ctx, &types.QueryMembersRequest{Role: types.Role_ROLE_PROVIDER})

	require.NoError(t, err)
	require.Empty(t, res.Members)
}

func TestQueryMembersRejectsBadRequest(t *testing.T) {
	f := newFixture(t)
	seedMembers(t, f)

	_, err := f.queries.Members(f.ctx, &types.QueryMembersRequest{Role: types.Role(99)})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "err: %v", err)

	_, err = f.queries.Members(f.ctx, nil)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "err: %v", err)
}

func TestQueryMembersPagination(t *testing.T) {
	f := newFixture(t)
	validators, providers := seedMembers(t, f)
	all := append(append([]types.Member(nil), validators...), providers...)

	cases := []struct {
		name string
		role types.Role
		want []types.Member
	}{
		{"validators", types.Role_ROLE_VALIDATOR, validators},
		{"providers", types.Role_ROLE_PROVIDER, providers},
		{"all roles", types.Role_ROLE_UNSPECIFIED, all},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// first page
			res, err := f.queries.Members(f.ctx, &types.QueryMembersRequest{Role: tc.role, Pagination: &query.PageRequest{Limit: 1, CountTotal: true}})
			require.NoError(t, err)
			require.Equal(t, tc.want[:1], res.Members)
			require.NotNil(t, res.Pagination)
			require.NotEmpty(t, res.Pagination.NextKey, "limit 1 of %d must return next_key", len(tc.want))
			require.Equal(t, uint64(len(tc.want)), res.Pagination.Total)

			// follow next_key to the end
			got := append([]types.Member(nil), res.Members...)
			next := res.Pagination.NextKey
			for pages := 1; next != nil; pages++ {
				require.LessOrEqual(t, pages, len(tc.want), "pagination does not terminate")
				res, err = f.queries.Members(f.ctx, &types.QueryMembersRequest{Role: tc.role, Pagination: &query.PageRequest{Key: next, Limit: 1}})
				require.NoError(t, err)
				require.Len(t, res.Members, 1)
				got = append(got, res.Members...)
				next = res.Pagination.NextKey
			}
			require.Equal(t, tc.want, got)

			// a page big enough for everything has no next_key
			res, err = f.queries.Members(f.ctx, &types.QueryMembersRequest{Role: tc.role, Pagination: &query.PageRequest{Limit: uint64(len(tc.want))}})
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Members)
			require.Empty(t, res.Pagination.NextKey)
		})
	}
}

func TestQueryMembersOffsetPagination(t *testing.T) {
	f := newFixture(t)
	validators, _ := seedMembers(t, f)

	res, err := f.queries.Members(f.ctx, &types.QueryMembersRequest{Role: types.Role_ROLE_VALIDATOR, Pagination: &query.PageRequest{Offset: 1, Limit: 1}})

	require.NoError(t, err)
	require.Equal(t, validators[1:2], res.Members)
}

func TestQueryParams(t *testing.T) {
	f := newFixture(t)

	res, err := f.queries.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, types.DefaultParams(), res.Params)

	p := types.Params{MaxValidators: 4, MaxProviders: 8}
	f.setParams(t, p)
	res, err = f.queries.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, p, res.Params)
}
