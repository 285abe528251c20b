package app_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	"github.com/cosmos/cosmos-sdk/x/authz"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/testutil/apptest"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
)

func createValidatorMsg(t *testing.T, operator sdk.AccAddress) *stakingtypes.MsgCreateValidator {
	t.Helper()
	msg, err := stakingtypes.NewMsgCreateValidator(
		sdk.ValAddress(operator).String(), ed25519.GenPrivKey().PubKey(),
		sdk.NewCoin(app.BondDenom, sdkmath.NewInt(5_000_000)),
		stakingtypes.NewDescription("node", "", "", "", ""),
		stakingtypes.NewCommissionRates(sdkmath.LegacyNewDecWithPrec(1, 1), sdkmath.LegacyNewDecWithPrec(2, 1), sdkmath.LegacyNewDecWithPrec(1, 2)),
		sdkmath.OneInt())
	require.NoError(t, err)
	return msg
}

func TestMembershipGateThroughRealTxs(t *testing.T) {
	c := apptest.New(t, apptest.Options{ExtraAccounts: 3})
	member, outsider, grantee := c.Accounts[0], c.Accounts[1], c.Accounts[2]

	// Only the authority may grant: a plain account is refused at execution.
	res := c.DeliverTx(outsider, &membershiptypes.MsgGrantRole{
		Authority: outsider.Address.String(), Address: outsider.Address.String(), Role: membershiptypes.Role_ROLE_VALIDATOR,
	})
	require.Equal(t, sdkerrors.ErrUnauthorized.ABCICode(), res.Code, res.Log)
	require.Equal(t, sdkerrors.ErrUnauthorized.Codespace(), res.Codespace)

	res = c.DeliverTx(c.Authority, &membershiptypes.MsgGrantRole{
		Authority: c.Authority.Address.String(), Address: member.Address.String(),
		Role: membershiptypes.Role_ROLE_VALIDATOR, Description: "Acme",
	})
	require.Zero(t, res.Code, res.Log)
	ok, err := c.App.MembershipKeeper.HasRole(c.Ctx(), membershiptypes.Role_ROLE_VALIDATOR, member.Address)
	require.NoError(t, err)
	require.True(t, ok)

	// A non-member's create-validator is refused by the ante gate with a reason.
	res = c.DeliverTx(outsider, createValidatorMsg(t, outsider.Address))
	require.Equal(t, membershiptypes.ErrNotPermitted.ABCICode(), res.Code)
	require.Equal(t, membershiptypes.ModuleName, res.Codespace)
	require.Contains(t, res.Log, "does not hold the validator role")
	_, err = c.App.StakingKeeper.GetValidator(c.Ctx(), sdk.ValAddress(outsider.Address))
	require.ErrorIs(t, err, stakingtypes.ErrNoValidatorFound)

	// Nesting the same message in authz exec does not get around the gate.
	exec := authz.NewMsgExec(grantee.Address, []sdk.Msg{createValidatorMsg(t, outsider.Address)})
	res = c.DeliverTx(grantee, &exec)
	require.Equal(t, membershiptypes.ErrNotPermitted.ABCICode(), res.Code, res.Log)

	// The member's create-validator goes through.
	res = c.DeliverTx(member, createValidatorMsg(t, member.Address))
	require.Zero(t, res.Code, res.Log)
	val, err := c.App.StakingKeeper.GetValidator(c.Ctx(), sdk.ValAddress(member.Address))
	require.NoError(t, err)
	require.Equal(t, sdkmath.NewInt(5_000_000), val.Tokens)

	// Delegating to the outsider (no validator, no role) is refused too.
	res = c.DeliverTx(member, stakingtypes.NewMsgDelegate(member.Address.String(),
		sdk.ValAddress(outsider.Address).String(), sdk.NewCoin(app.BondDenom, sdkmath.NewInt(1))))
	require.Equal(t, membershiptypes.ErrNotPermitted.ABCICode(), res.Code, res.Log)
}

func TestRevokeValidatorRoleJailsValidator(t *testing.T) {
	c := apptest.New(t, apptest.Options{ExtraAccounts: 1, Members: map[int]membershiptypes.Role{0: membershiptypes.Role_ROLE_VALIDATOR}})
	member := c.Accounts[0]
	require.Zero(t, c.DeliverTx(member, createValidatorMsg(t, member.Address)).Code)
	c.NextBlock() // the end blocker bonds the new validator

	val, err := c.App.StakingKeeper.GetValidator(c.Ctx(), sdk.ValAddress(member.Address))
	require.NoError(t, err)
	require.True(t, val.IsBonded())

	res := c.DeliverTx(c.Authority, &membershiptypes.MsgRevokeRole{
		Authority: c.Authority.Address.String(), Address: member.Address.String(),
		Role: membershiptypes.Role_ROLE_VALIDATOR, Reason: "left",
	})
	require.Zero(t, res.Code, res.Log)
	val, err = c.App.StakingKeeper.GetValidator(c.Ctx(), sdk.ValAddress(member.Address))
	require.NoError(t, err)
	require.True(t, val.IsJailed())
	require.False(t, val.IsBonded())

	// The revoked operator may not unjail itself afterwards.
	res = c.DeliverTx(member, &slashingtypes.MsgUnjail{ValidatorAddr: sdk.ValAddress(member.Address).String()})
	require.Equal(t, membershiptypes.ErrNotPermitted.ABCICode(), res.Code, res.Log)

	// The genesis validator is now the only bonded one: revoking it would halt
	// the chain, so it is refused and state is unchanged.
	res = c.DeliverTx(c.Authority, &membershiptypes.MsgRevokeRole{
		Authority: c.Authority.Address.String(), Address: c.Validator.Address.String(), Role: membershiptypes.Role_ROLE_VALIDATOR,
	})
	require.Equal(t, membershiptypes.ErrLastValidator.ABCICode(), res.Code, res.Log)
	ok, err := c.App.MembershipKeeper.HasRole(c.Ctx(), membershiptypes.Role_ROLE_VALIDATOR, c.Validator.Address)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestGenesisExportImportRoundTrip(t *testing.T) {
	c := apptest.New(t, apptest.Options{ExtraAccounts: 2, Members: map[int]membershiptypes.Role{0: membershiptypes.Role_ROLE_PROVIDER}})
	require.Zero(t, c.DeliverTx(c.Authority, &membershiptypes.MsgGrantRole{
		Authority: c.Authority.Address.String(), Address: c.Accounts[1].Address.String(),
		Role: membershiptypes.Role_ROLE_VALIDATOR, Description: "granted in a block",
	}).Code)
	require.Zero(t, c.DeliverTx(c.Accounts[1], createValidatorMsg(t, c.Accounts[1].Address)).Code)
	c.NextBlock()

	// Import into a fresh app, as `stratusd init` + the exported genesis would.
	exported, imported := c.Reimport()
	require.Len(t, exported.Validators, 2)

	reexported, err := imported.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)

	var before, after map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exported.AppState, &before))
	require.NoError(t, json.Unmarshal(reexported.AppState, &after))
	require.ElementsMatch(t, keysOf(before), keysOf(after))
	for module := range before {
		if module == "distribution" {
			// Rewards accrue in the imported chain's first block.
			continue
		}
		require.JSONEq(t, withoutSeed(t, before[module]), withoutSeed(t, after[module]), "module %s changed across export/import", module)
	}

	var gs membershiptypes.GenesisState
	require.NoError(t, imported.AppCodec().UnmarshalJSON(after[membershiptypes.ModuleName], &gs))
	require.Len(t, gs.Members, 3)
	require.Equal(t, c.Authority.Address.String(), reexported.ConsensusParams.Authority.Authority)
	require.Equal(t, exported.Validators, reexported.Validators)
}

func TestZeroHeightExport(t *testing.T) {
	c := apptest.New(t, apptest.Options{})
	c.NextBlock()
	exported, err := c.App.ExportAppStateAndValidators(true, nil, nil)
	require.NoError(t, err)
	require.Zero(t, exported.Height)
	require.NotEmpty(t, exported.Validators)
}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
