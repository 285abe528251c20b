package app_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/testutil/apptest"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
)

const strat = int64(1_000_000) // ustrat per STRAT

func registerProviderMsg(addr sdk.AccAddress, stake int64) *providertypes.MsgRegisterProvider {
	return &providertypes.MsgRegisterProvider{
		Provider:        addr.String(),
		Moniker:         "acme",
		Endpoint:        "https://sp1.acme.example",
		StorageCapacity: 1 << 40,
		ComputeSlots:    4,
		StoragePrice:    sdk.NewDecCoinFromDec(app.BondDenom, sdkmath.LegacyNewDecWithPrec(1, 3)),
		ComputePrice:    sdk.NewInt64Coin(app.BondDenom, 1000),
		Stake:           sdk.NewInt64Coin(app.BondDenom, stake),
	}
}

func balanceOf(c *apptest.Chain, addr sdk.AccAddress) sdkmath.Int {
	return c.App.BankKeeper.GetBalance(c.Ctx(), addr, app.BondDenom).Amount
}

func requireStakeInvariant(t *testing.T, c *apptest.Chain) {
	t.Helper()
	require.NoError(t, c.App.ProviderKeeper.StakeInvariant(c.Ctx()))
}

func providerOf(t *testing.T, c *apptest.Chain, addr sdk.AccAddress) providertypes.Provider {
	t.Helper()
	p, err := c.App.ProviderKeeper.GetProvider(c.Ctx(), addr)
	require.NoError(t, err)
	return p
}

// shortenProviderWindows sets jail and unbonding windows of a few blocks,
// through the authority, so a lifecycle fits in a test.
func shortenProviderWindows(t *testing.T, c *apptest.Chain, jail, unbonding uint64) {
	t.Helper()
	params := providertypes.DefaultParams()
	params.JailBlocks, params.UnbondingBlocks = jail, unbonding

	// A non-authority signer is refused; the AuthorityParams authority is not.
	res := c.DeliverTx(c.Accounts[0], &providertypes.MsgUpdateParams{Authority: c.Accounts[0].Address.String(), Params: params})
	require.Equal(t, sdkerrors.ErrUnauthorized.ABCICode(), res.Code, res.Log)

	res = c.DeliverTx(c.Authority, &providertypes.MsgUpdateParams{Authority: c.Authority.Address.String(), Params: params})
	require.Zero(t, res.Code, res.Log)
}

func TestProviderLifecycle(t *testing.T) {
	c := apptest.New(t, apptest.Options{ExtraAccounts: 2, Members: map[int]membershiptypes.Role{0: membershiptypes.Role_ROLE_PROVIDER}})
	operator, outsider := c.Accounts[0], c.Accounts[1]
	shortenProviderWindows(t, c, 5, 10)
	funds := balanceOf(c, operator.Address)
	supply := c.App.BankKeeper.GetSupply(c.Ctx(), app.BondDenom).Amount

	// A non-member may not register.
	res := c.DeliverTx(outsider, registerProviderMsg(outsider.Address, 2000*strat))
	require.Equal(t, providertypes.ErrNotMember.ABCICode(), res.Code, res.Log)
	require.Equal(t, providertypes.ModuleName, res.Codespace)

	// Register with 2000 STRAT.
	res = c.DeliverTx(operator, registerProviderMsg(operator.Address, 2000*strat))
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, funds.Sub(sdkmath.NewInt(2000*strat)), balanceOf(c, operator.Address))
	require.Equal(t, providertypes.ProviderStatus_PROVIDER_STATUS_ACTIVE, providerOf(t, c, operator.Address).Status)
	requireStakeInvariant(t, c)

	// Update the offer; a bad endpoint is refused and changes nothing.
	update := &providertypes.MsgUpdateProvider{
		Provider: operator.Address.String(), Moniker: "acme", Endpoint: "http://sp1.acme.example",
		StorageCapacity: 1 << 41, ComputeSlots: 8,
		StoragePrice: sdk.NewDecCoinFromDec(app.BondDenom, sdkmath.LegacyNewDecWithPrec(2, 3)),
		ComputePrice: sdk.NewInt64Coin(app.BondDenom, 2000),
	}
	res = c.DeliverTx(operator, update)
	require.Equal(t, providertypes.ErrInvalidEndpoint.ABCICode(), res.Code, res.Log)
	require.Equal(t, "https://sp1.acme.example", providerOf(t, c, operator.Address).Endpoint)
	update.Endpoint = "https://sp2.acme.example"
	res = c.DeliverTx(operator, update)
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, uint64(1<<41), providerOf(t, c, operator.Address).StorageCapacity)
	requireStakeInvariant(t, c)

	// x/storage slashes 60%: 1200 STRAT burn and the stake (800) falls below
	// min_stake (1000), so the provider is jailed.
	var burned sdkmath.Int
	require.NoError(t, c.Exec(func(ctx sdk.Context) error {
		var err error
		burned, err = c.App.ProviderKeeper.Slash(ctx, operator.Address, sdkmath.LegacyNewDecWithPrec(6, 1), "invalid proof")
		return err
	}))
	require.Equal(t, sdkmath.NewInt(1200*strat), burned)
	p := providerOf(t, c, operator.Address)
	require.Equal(t, providertypes.ProviderStatus_PROVIDER_STATUS_JAILED, p.Status)
	require.Equal(t, sdkmath.NewInt(800*strat), p.Stake)
	require.Equal(t, supply.Sub(burned), c.App.BankKeeper.GetSupply(c.Ctx(), app.BondDenom).Amount, "slashed stake is burned")
	requireStakeInvariant(t, c)

	// Unjailing early, or below min_stake, is refused.
	res = c.DeliverTx(operator, &providertypes.MsgUnjail{Provider: operator.Address.String()})
	require.Equal(t, providertypes.ErrJailPeriodNotOver.ABCICode(), res.Code, res.Log)
	for c.Height < p.JailedUntil {
		c.NextBlock()
	}
	res = c.DeliverTx(operator, &providertypes.MsgUnjail{Provider: operator.Address.String()})
	require.Equal(t, providertypes.ErrInsufficientStake.ABCICode(), res.Code, res.Log)

	// Top up to 1300 STRAT and unjail.
	res = c.DeliverTx(operator, &providertypes.MsgAddStake{Provider: operator.Address.String(), Amount: sdk.NewInt64Coin(app.BondDenom, 500*strat)})
	require.Zero(t, res.Code, res.Log)
	res = c.DeliverTx(operator, &providertypes.MsgUnjail{Provider: operator.Address.String()})
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, providertypes.ProviderStatus_PROVIDER_STATUS_ACTIVE, providerOf(t, c, operator.Address).Status)
	requireStakeInvariant(t, c)

	// Unbond: the stake stays escrowed until unbonding_until, then returns.
	res = c.DeliverTx(operator, &providertypes.MsgUnbondProvider{Provider: operator.Address.String()})
	require.Zero(t, res.Code, res.Log)
	until := providerOf(t, c, operator.Address).UnbondingUntil
	require.Equal(t, c.Height+10, until)
	before := balanceOf(c, operator.Address)
	for c.Height < until-1 {
		c.NextBlock()
		require.Equal(t, before, balanceOf(c, operator.Address), "no stake returned before height %d", until)
	}
	c.NextBlock()
	require.Equal(t, before.Add(sdkmath.NewInt(1300*strat)), balanceOf(c, operator.Address))
	require.Equal(t, funds.Sub(burned), balanceOf(c, operator.Address), "all but the burned stake returned")
	_, err := c.App.ProviderKeeper.GetProvider(c.Ctx(), operator.Address)
	require.ErrorIs(t, err, providertypes.ErrProviderNotFound)
	requireStakeInvariant(t, c)
}

func TestRevokingProviderRoleUnbondsProvider(t *testing.T) {
	c := apptest.New(t, apptest.Options{ExtraAccounts: 1, Members: map[int]membershiptypes.Role{0: membershiptypes.Role_ROLE_PROVIDER}})
	operator := c.Accounts[0]
	funds := balanceOf(c, operator.Address)
	require.Zero(t, c.DeliverTx(operator, registerProviderMsg(operator.Address, 1000*strat)).Code)

	res := c.DeliverTx(c.Authority, &membershiptypes.MsgRevokeRole{
		Authority: c.Authority.Address.String(), Address: operator.Address.String(),
		Role: membershiptypes.Role_ROLE_PROVIDER, Reason: "left",
	})

	require.Zero(t, res.Code, res.Log)
	p := providerOf(t, c, operator.Address)
	require.Equal(t, providertypes.ProviderStatus_PROVIDER_STATUS_UNBONDING, p.Status)
	require.Equal(t, c.Height+int64(providertypes.DefaultUnbondingBlocks), p.UnbondingUntil)
	_, err := c.App.ProviderKeeper.PickProviders(c.Ctx(), providertypes.PickCriteria{Count: 1, Seed: []byte("s")})
	require.ErrorIs(t, err, providertypes.ErrNotEnoughProviders)
	requireStakeInvariant(t, c)

	for c.Height < p.UnbondingUntil {
		c.NextBlock()
	}
	require.Equal(t, funds, balanceOf(c, operator.Address))
	requireStakeInvariant(t, c)
}

func TestProviderGenesisExportImport(t *testing.T) {
	c := apptest.New(t, apptest.Options{ExtraAccounts: 2, Members: map[int]membershiptypes.Role{
		0: membershiptypes.Role_ROLE_PROVIDER, 1: membershiptypes.Role_ROLE_PROVIDER,
	}})
	require.Zero(t, c.DeliverTx(c.Accounts[0], registerProviderMsg(c.Accounts[0].Address, 1000*strat)).Code)
	require.Zero(t, c.DeliverTx(c.Accounts[1], registerProviderMsg(c.Accounts[1].Address, 3000*strat)).Code)
	require.Zero(t, c.DeliverTx(c.Accounts[1], &providertypes.MsgUnbondProvider{Provider: c.Accounts[1].Address.String()}).Code)

	_, imported := c.Reimport()

	ctx := imported.NewContextLegacy(true, c.Ctx().BlockHeader())
	require.NoError(t, imported.ProviderKeeper.StakeInvariant(ctx))
	gs, err := imported.ProviderKeeper.ExportGenesis(ctx)
	require.NoError(t, err)
	want, err := c.App.ProviderKeeper.ExportGenesis(c.Ctx())
	require.NoError(t, err)
	require.Equal(t, want, gs)
	picked, err := imported.ProviderKeeper.PickProviders(ctx, providertypes.PickCriteria{Count: 1, Seed: []byte("s")})
	require.NoError(t, err)
	require.Equal(t, []sdk.AccAddress{c.Accounts[0].Address}, picked)
	requireStakeInvariant(t, c)
}
