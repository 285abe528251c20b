package types_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	codectestutil "github.com/cosmos/cosmos-sdk/codec/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"

	"github.com/stratusnet/stratus/x/membership/types"
)

// Bech32 prefixes used by the app (app/config.go).
const (
	accPrefix  = "stratus"
	valPrefix  = "stratusvaloper"
	consPrefix = "stratusvalcons"
)

func TestMain(m *testing.M) {
	cfg := sdk.GetConfig()
	cfg.SetBech32PrefixForAccount(accPrefix, accPrefix+sdk.PrefixPublic)
	cfg.SetBech32PrefixForValidator(valPrefix, valPrefix+sdk.PrefixPublic)
	cfg.SetBech32PrefixForConsensusNode(consPrefix, consPrefix+sdk.PrefixPublic)
	initAddresses()
	os.Exit(m.Run())
}

func testAddr(n byte) sdk.AccAddress { return sdk.AccAddress(bytes.Repeat([]byte{n}, 20)) }

// Addresses are computed in TestMain, after the prefixes are set: the SDK
// caches an address's bech32 string by its bytes, so stringifying one earlier
// would pin the default "cosmos" prefix.
var (
	gov, member, cosmosAddr, valoperAddr string

	maxText     = strings.Repeat("a", types.MaxTextLength)
	tooLongText = strings.Repeat("a", types.MaxTextLength+1)
)

func initAddresses() {
	gov = authtypes.NewModuleAddress(govtypes.ModuleName).String()
	member = testAddr(1).String()
	valoperAddr = sdk.ValAddress(testAddr(1)).String()
	var err error
	// the same bytes under another chain's prefix
	if cosmosAddr, err = sdk.Bech32ifyAddressBytes("cosmos", testAddr(1)); err != nil {
		panic(err)
	}
}

// ---------------------------------------------------------------------------
// ValidateBasic
// ---------------------------------------------------------------------------

func TestMsgGrantRoleValidateBasic(t *testing.T) {
	cases := []struct {
		name    string
		msg     types.MsgGrantRole
		wantErr error
	}{
		{"valid validator", types.MsgGrantRole{Authority: gov, Address: member, Role: types.Role_ROLE_VALIDATOR}, nil},
		{"valid provider with description at the limit", types.MsgGrantRole{Authority: gov, Address: member, Role: types.Role_ROLE_PROVIDER, Description: maxText}, nil},
		{"empty authority", types.MsgGrantRole{Address: member, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"malformed authority", types.MsgGrantRole{Authority: "gov", Address: member, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"authority with foreign prefix", types.MsgGrantRole{Authority: cosmosAddr, Address: member, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"empty address", types.MsgGrantRole{Authority: gov, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"address with foreign prefix", types.MsgGrantRole{Authority: gov, Address: cosmosAddr, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"valoper instead of account address", types.MsgGrantRole{Authority: gov, Address: valoperAddr, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"bad checksum", types.MsgGrantRole{Authority: gov, Address: member[:len(member)-1] + flipLast(member), Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"role unspecified", types.MsgGrantRole{Authority: gov, Address: member}, types.ErrInvalidRole},
		{"role out of range", types.MsgGrantRole{Authority: gov, Address: member, Role: types.Role(99)}, types.ErrInvalidRole},
		{"negative role", types.MsgGrantRole{Authority: gov, Address: member, Role: types.Role(-1)}, types.ErrInvalidRole},
		{"description too long", types.MsgGrantRole{Authority: gov, Address: member, Role: types.Role_ROLE_VALIDATOR, Description: tooLongText}, types.ErrTextTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.ValidateBasic()
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestMsgRevokeRoleValidateBasic(t *testing.T) {
	cases := []struct {
		name    string
		msg     types.MsgRevokeRole
		wantErr error
	}{
		{"valid validator", types.MsgRevokeRole{Authority: gov, Address: member, Role: types.Role_ROLE_VALIDATOR}, nil},
		{"valid provider with reason at the limit", types.MsgRevokeRole{Authority: gov, Address: member, Role: types.Role_ROLE_PROVIDER, Reason: maxText}, nil},
		{"empty authority", types.MsgRevokeRole{Address: member, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"authority with foreign prefix", types.MsgRevokeRole{Authority: cosmosAddr, Address: member, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"empty address", types.MsgRevokeRole{Authority: gov, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"malformed address", types.MsgRevokeRole{Authority: gov, Address: "stratus1", Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"valoper instead of account address", types.MsgRevokeRole{Authority: gov, Address: valoperAddr, Role: types.Role_ROLE_VALIDATOR}, sdkerrors.ErrInvalidAddress},
		{"role unspecified", types.MsgRevokeRole{Authority: gov, Address: member}, types.ErrInvalidRole},
		{"role out of range", types.MsgRevokeRole{Authority: gov, Address: member, Role: types.Role(3)}, types.ErrInvalidRole},
		{"reason too long", types.MsgRevokeRole{Authority: gov, Address: member, Role: types.Role_ROLE_PROVIDER, Reason: tooLongText}, types.ErrTextTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.ValidateBasic()
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestMsgUpdateParamsValidateBasic(t *testing.T) {
	cases := []struct {
		name    string
		msg     types.MsgUpdateParams
		wantErr error
	}{
		{"default params", types.MsgUpdateParams{Authority: gov, Params: types.DefaultParams()}, nil},
		{"caps set", types.MsgUpdateParams{Authority: gov, Params: types.Params{MaxValidators: 100, MaxProviders: 1}}, nil},
		{"max caps", types.MsgUpdateParams{Authority: gov, Params: types.Params{MaxValidators: ^uint32(0), MaxProviders: ^uint32(0)}}, nil},
		{"empty authority", types.MsgUpdateParams{Params: types.DefaultParams()}, sdkerrors.ErrInvalidAddress},
		{"malformed authority", types.MsgUpdateParams{Authority: "x", Params: types.DefaultParams()}, sdkerrors.ErrInvalidAddress},
		{"authority with foreign prefix", types.MsgUpdateParams{Authority: cosmosAddr, Params: types.DefaultParams()}, sdkerrors.ErrInvalidAddress},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.ValidateBasic()
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

// TestMsgSignersAreTheAuthority checks the cosmos.msg.v1.signer annotation:
// the authority, and nobody else, must sign each message.
func TestMsgSignersAreTheAuthority(t *testing.T) {
	cdc := codectestutil.CodecOptions{AccAddressPrefix: accPrefix, ValAddressPrefix: valPrefix}.NewCodec()
	types.RegisterInterfaces(cdc.InterfaceRegistry())
	authority := testAddr(0xAA)

	msgs := []sdk.Msg{
		&types.MsgGrantRole{Authority: authority.String(), Address: member, Role: types.Role_ROLE_VALIDATOR},
		&types.MsgRevokeRole{Authority: authority.String(), Address: member, Role: types.Role_ROLE_VALIDATOR},
		&types.MsgUpdateParams{Authority: authority.String()},
	}
	for _, msg := range msgs {
		t.Run(sdk.MsgTypeURL(msg), func(t *testing.T) {
			signers, _, err := cdc.GetMsgV1Signers(msg)
			require.NoError(t, err)
			require.Equal(t, [][]byte{authority.Bytes()}, signers)
		})
	}
}

func TestMsgTypeURLsResolve(t *testing.T) {
	cdc := codectestutil.CodecOptions{AccAddressPrefix: accPrefix, ValAddressPrefix: valPrefix}.NewCodec()
	types.RegisterInterfaces(cdc.InterfaceRegistry())
	for _, url := range []string{
		"/stratus.membership.v1.MsgGrantRole",
		"/stratus.membership.v1.MsgRevokeRole",
		"/stratus.membership.v1.MsgUpdateParams",
	} {
		_, err := cdc.InterfaceRegistry().Resolve(url)
		require.NoError(t, err, url)
	}
}

// ---------------------------------------------------------------------------
// GenesisState.Validate
// ---------------------------------------------------------------------------

func TestGenesisStateValidate(t *testing.T) {
	v := func(n byte) types.Member {
		return types.Member{Address: testAddr(n).String(), Role: types.Role_ROLE_VALIDATOR}
	}
	p := func(n byte) types.Member {
		return types.Member{Address: testAddr(n).String(), Role: types.Role_ROLE_PROVIDER}
	}
	many := func(mk func(byte) types.Member, n int) []types.Member {
		out := make([]types.Member, n)
		for i := range out {
			out[i] = mk(byte(i + 1))
		}
		return out
	}
	cases := []struct {
		name    string
		gs      types.GenesisState
		wantErr bool
	}{
		{"default", *types.DefaultGenesisState(), false},
		{"empty", types.GenesisState{}, false},
		{"members of both roles", types.GenesisState{Members: []types.Member{v(1), v(2), p(3)}}, false},
		{"same address in both roles", types.GenesisState{Members: []types.Member{v(1), p(1)}}, false},
		{"description at the limit", types.GenesisState{Members: []types.Member{{Address: member, Role: types.Role_ROLE_VALIDATOR, Description: maxText, GrantedHeight: 5}}}, false},
		{"caps exactly reached", types.GenesisState{Params: types.Params{MaxValidators: 2, MaxProviders: 1}, Members: []types.Member{v(1), p(1), v(2)}}, false},
		{"cap 0 is unlimited", types.GenesisState{Params: types.Params{MaxValidators: 0, MaxProviders: 1}, Members: many(v, 40)}, false},
		{"bad address", types.GenesisState{Members: []types.Member{{Address: "stratus1nope", Role: types.Role_ROLE_VALIDATOR}}}, true},
		{"empty address", types.GenesisState{Members: []types.Member{{Role: types.Role_ROLE_VALIDATOR}}}, true},
		{"foreign prefix", types.GenesisState{Members: []types.Member{{Address: cosmosAddr, Role: types.Role_ROLE_VALIDATOR}}}, true},
		{"role unspecified", types.GenesisState{Members: []types.Member{{Address: member}}}, true},
		{"role out of range", types.GenesisState{Members: []types.Member{{Address: member, Role: types.Role(7)}}}, true},
		{"description too long", types.GenesisState{Members: []types.Member{{Address: member, Role: types.Role_ROLE_PROVIDER, Description: tooLongText}}}, true},
		{"duplicate member", types.GenesisState{Members: []types.Member{v(1), p(2), v(1)}}, true},
		{"validator cap exceeded", types.GenesisState{Params: types.Params{MaxValidators: 2}, Members: many(v, 3)}, true},
		{"provider cap exceeded", types.GenesisState{Params: types.Params{MaxValidators: 10, MaxProviders: 1}, Members: []types.Member{p(1), v(1), p(2)}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.gs.Validate()
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, types.ErrInvalidGenesis)
		})
	}
}

func TestGenesisStateValidateWrapsCause(t *testing.T) {
	// The underlying reason stays visible through the genesis error.
	err := types.GenesisState{Members: []types.Member{{Address: member, Role: types.Role(7)}}}.Validate()
	require.ErrorIs(t, err, types.ErrInvalidGenesis)
	require.Contains(t, err.Error(), "7 is not VALIDATOR or PROVIDER")

	err = types.GenesisState{Members: []types.Member{{Address: member, Role: types.Role_ROLE_PROVIDER, Description: tooLongText}}}.Validate()
	require.ErrorIs(t, err, types.ErrInvalidGenesis)
	require.Contains(t, err.Error(), "257 bytes")
}

// ---------------------------------------------------------------------------
// Role
// ---------------------------------------------------------------------------

func TestParseRole(t *testing.T) {
	cases := []struct {
		in      string
		want    types.Role
		wantErr bool
	}{
		{"validator", types.Role_ROLE_VALIDATOR, false},
		{"VALIDATOR", types.Role_ROLE_VALIDATOR, false},
		{"Validator", types.Role_ROLE_VALIDATOR, false},
		{"ROLE_VALIDATOR", types.Role_ROLE_VALIDATOR, false},
		{"role_validator", types.Role_ROLE_VALIDATOR, false},
		{"  validator\n", types.Role_ROLE_VALIDATOR, false},
		{"provider", types.Role_ROLE_PROVIDER, false},
		{"PROVIDER", types.Role_ROLE_PROVIDER, false},
		{"ROLE_PROVIDER", types.Role_ROLE_PROVIDER, false},
		{"", types.Role_ROLE_UNSPECIFIED, true},
		{"   ", types.Role_ROLE_UNSPECIFIED, true},
		{"admin", types.Role_ROLE_UNSPECIFIED, true},
		{"unspecified", types.Role_ROLE_UNSPECIFIED, true},
		{"ROLE_UNSPECIFIED", types.Role_ROLE_UNSPECIFIED, true},
		{"ROLE_", types.Role_ROLE_UNSPECIFIED, true},
		{"validators", types.Role_ROLE_UNSPECIFIED, true},
		{"ROLE_ROLE_VALIDATOR", types.Role_ROLE_UNSPECIFIED, true},
		{"1", types.Role_ROLE_UNSPECIFIED, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := types.ParseRole(tc.in)
			if tc.wantErr {
				require.ErrorIs(t, err, types.ErrInvalidRole)
				require.Equal(t, types.Role_ROLE_UNSPECIFIED, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseRoleRoundTripsShortName(t *testing.T) {
	for _, r := range []types.Role{types.Role_ROLE_VALIDATOR, types.Role_ROLE_PROVIDER} {
		got, err := types.ParseRole(r.ShortName())
		require.NoError(t, err)
		require.Equal(t, r, got)
		got, err = types.ParseRole(r.String())
		require.NoError(t, err)
		require.Equal(t, r, got)
	}
}

func TestRoleShortName(t *testing.T) {
	cases := []struct {
		role types.Role
		want string
	}{
		{types.Role_ROLE_VALIDATOR, "validator"},
		{types.Role_ROLE_PROVIDER, "provider"},
		{types.Role_ROLE_UNSPECIFIED, "unspecified"},
		{types.Role(99), "role(99)"},
		{types.Role(-3), "role(-3)"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, tc.role.ShortName(), "role %d", int32(tc.role))
	}
}

func TestRoleValidate(t *testing.T) {
	cases := []struct {
		role  types.Role
		valid bool
	}{
		{types.Role_ROLE_VALIDATOR, true},
		{types.Role_ROLE_PROVIDER, true},
		{types.Role_ROLE_UNSPECIFIED, false},
		{types.Role(3), false},
		{types.Role(-1), false},
	}
	for _, tc := range cases {
		err := tc.role.Validate()
		if tc.valid {
			require.NoError(t, err, "role %d", int32(tc.role))
		} else {
			require.ErrorIs(t, err, types.ErrInvalidRole, "role %d", int32(tc.role))
		}
	}
}

// ---------------------------------------------------------------------------
// Params
// ---------------------------------------------------------------------------

func TestParamsCap(t *testing.T) {
	p := types.Params{MaxValidators: 4, MaxProviders: 9}
	cases := []struct {
		role types.Role
		want uint32
	}{
		{types.Role_ROLE_VALIDATOR, 4},
		{types.Role_ROLE_PROVIDER, 9},
		{types.Role_ROLE_UNSPECIFIED, 0},
		{types.Role(42), 0},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, p.Cap(tc.role), tc.role.ShortName())
	}
}

func TestDefaultParamsHaveNoCaps(t *testing.T) {
	p := types.DefaultParams()
	require.NoError(t, p.Validate())
	require.Zero(t, p.Cap(types.Role_ROLE_VALIDATOR))
	require.Zero(t, p.Cap(types.Role_ROLE_PROVIDER))
	require.NoError(t, types.DefaultGenesisState().Validate())
	require.Empty(t, types.DefaultGenesisState().Members)
}

// flipLast returns a different final bech32 character, breaking the checksum.
func flipLast(s string) string {
	if s[len(s)-1] == 'q' {
		return "p"
	}
	return "q"
}
