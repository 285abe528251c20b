package keeper_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec/address"
	codectestutil "github.com/cosmos/cosmos-sdk/codec/testutil"
	"github.com/cosmos/cosmos-sdk/runtime"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"

	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	"github.com/stratusnet/stratus/x/provider/keeper"
	"github.com/stratusnet/stratus/x/provider/types"
)

const (
	accPrefix  = "stratus"
	denom      = "ustrat"
	testHeight = int64(100)
)

func TestMain(m *testing.M) {
	cfg := sdk.GetConfig()
	cfg.SetBech32PrefixForAccount(accPrefix, accPrefix+sdk.PrefixPublic)
	sdk.DefaultBondDenom = denom
	os.Exit(m.Run())
}

// ---------------------------------------------------------------------------
// fakes
// ---------------------------------------------------------------------------

// fakeMembership holds PROVIDER grants.
type fakeMembership struct{ providers map[string]bool }

func (f *fakeMembership) HasRole(_ context.Context, role membershiptypes.Role, addr sdk.AccAddress) (bool, error) {
	return role == membershiptypes.Role_ROLE_PROVIDER && f.providers[string(addr)], nil
}

type fakeAccounts struct{}

func (fakeAccounts) GetModuleAddress(name string) sdk.AccAddress {
	return authtypes.NewModuleAddress(name)
}
func (fakeAccounts) GetModuleAccount(_ context.Context, name string) sdk.ModuleAccountI {
	return authtypes.NewEmptyModuleAccount(name, authtypes.Burner)
}

// fakeBank keeps balances in memory and refuses overdrafts like x/bank.
type fakeBank struct {
	balances map[string]sdk.Coins
	burned   sdk.Coins
}

func (b *fakeBank) GetBalance(_ context.Context, addr sdk.AccAddress, d string) sdk.Coin {
	return sdk.NewCoin(d, b.balances[string(addr)].AmountOf(d))
}

func (b *fakeBank) move(from, to sdk.AccAddress, amt sdk.Coins) error {
	have := b.balances[string(from)]
	left, neg := have.SafeSub(amt...)
	if neg {
		return sdkerrors.ErrInsufficientFunds.Wrapf("%s < %s", have, amt)
	}
	b.balances[string(from)] = left
	if to != nil {
		b.balances[string(to)] = b.balances[string(to)].Add(amt...)
	}
	return nil
}

func (b *fakeBank) SendCoinsFromAccountToModule(_ context.Context, from sdk.AccAddress, module string, amt sdk.Coins) error {
	return b.move(from, authtypes.NewModuleAddress(module), amt)
}

func (b *fakeBank) SendCoinsFromModuleToAccount(_ context.Context, module string, to sdk.AccAddress, amt sdk.Coins) error {
	return b.move(authtypes.NewModuleAddress(module), to, amt)
}

func (b *fakeBank) BurnCoins(_ context.Context, module string, amt sdk.Coins) error {
	if err := b.move(authtypes.NewModuleAddress(module), nil, amt); err != nil {
		return err
	}
	b.burned = b.burned.Add(amt...)
	return nil
}

// recordingHooks records AfterProviderDeactivated calls.
type recordingHooks struct{ deactivated []sdk.AccAddress }

func (h *recordingHooks) AfterProviderDeactivated(_ context.Context, addr sdk.AccAddress) error {
	h.deactivated = append(h.deactivated, addr)
	return nil
}

// ---------------------------------------------------------------------------
// fixture
// ---------------------------------------------------------------------------

type fixture struct {
	ctx        sdk.Context
	k          *keeper.Keeper
	msgs       types.MsgServer
	queries    types.QueryServer
	membership *fakeMembership
	bank       *fakeBank
	hooks      *recordingHooks
	gov        string
	params     types.Params
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	key := storetypes.NewKVStoreKey(types.StoreKey)
	tctx := testutil.DefaultContextWithDB(t, key, storetypes.NewTransientStoreKey("transient_test"))
	ctx := tctx.Ctx.WithBlockHeight(testHeight).WithEventManager(sdk.NewEventManager())

	cdc := codectestutil.CodecOptions{AccAddressPrefix: accPrefix}.NewCodec()
	gov := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	f := &fixture{
		membership: &fakeMembership{providers: map[string]bool{}},
		bank:       &fakeBank{balances: map[string]sdk.Coins{}},
		hooks:      &recordingHooks{},
		gov:        gov,
	}
	f.k = keeper.NewKeeper(cdc, runtime.NewKVStoreService(key), address.NewBech32Codec(accPrefix), gov, denom,
		f.membership, fakeAccounts{}, f.bank)
	f.k.SetHooks(f.hooks)
	require.NoError(t, f.k.InitGenesis(ctx, types.DefaultGenesisState()))
	f.ctx = ctx
	f.msgs = keeper.NewMsgServerImpl(f.k)
	f.queries = keeper.NewQueryServerImpl(f.k)
	f.params = types.DefaultParams()
	return f
}

var accountSeq int

// member makes a funded account holding the PROVIDER role.
func (f *fixture) member(funds int64) sdk.AccAddress {
	accountSeq++
	addr := sdk.AccAddress(fmt.Appendf(nil, "provider-%014d", accountSeq))
	f.membership.providers[string(addr)] = true
	f.bank.balances[string(addr)] = sdk.NewCoins(sdk.NewInt64Coin(denom, funds))
	return addr
}

func (f *fixture) balance(addr sdk.AccAddress) sdkmath.Int {
	return f.bank.balances[string(addr)].AmountOf(denom)
}

func (f *fixture) moduleBalance() sdkmath.Int {
	return f.balance(authtypes.NewModuleAddress(types.ModuleName))
}

func registerMsg(addr sdk.AccAddress, stake int64) *types.MsgRegisterProvider {
	return &types.MsgRegisterProvider{
		Provider:        addr.String(),
		Moniker:         "acme",
		Endpoint:        "https://sp1.acme.example",
		StorageCapacity: 1 << 40,
		ComputeSlots:    4,
		StoragePrice:    sdk.NewDecCoinFromDec(denom, sdkmath.LegacyNewDecWithPrec(1, 3)),
		ComputePrice:    sdk.NewInt64Coin(denom, 1000),
		Stake:           sdk.NewInt64Coin(denom, stake),
	}
}

func updateMsg(p types.Provider) *types.MsgUpdateProvider {
	return &types.MsgUpdateProvider{
		Provider: p.Address, Moniker: p.Moniker, Endpoint: p.Endpoint,
		StorageCapacity: p.StorageCapacity, ComputeSlots: p.ComputeSlots,
		StoragePrice: p.StoragePrice, ComputePrice: p.ComputePrice,
	}
}

const minStake = int64(1_000_000_000)

// registered makes a member and registers it with stake.
func (f *fixture) registered(t testing.TB, stake int64) sdk.AccAddress {
	t.Helper()
	addr := f.member(stake * 2)
	_, err := f.msgs.RegisterProvider(f.ctx, registerMsg(addr, stake))
	require.NoError(t, err)
	return addr
}

func (f *fixture) provider(t testing.TB, addr sdk.AccAddress) types.Provider {
	t.Helper()
	p, err := f.k.GetProvider(f.ctx, addr)
	require.NoError(t, err)
	return p
}

// checkInvariant asserts that the module account holds the sum of stakes and
// the pick tree weighs the active stakes. Every scenario ends with it.
func (f *fixture) checkInvariant(t testing.TB) {
	t.Helper()
	require.NoError(t, f.k.StakeInvariant(f.ctx))
}

// atHeight moves the fixture to height h.
func (f *fixture) atHeight(h int64) {
	f.ctx = f.ctx.WithBlockHeight(h).WithEventManager(sdk.NewEventManager())
}

// hasEvent reports whether an event of the given proto type was emitted.
func hasEvent(ctx sdk.Context, typeName string) bool {
	for _, ev := range ctx.EventManager().Events() {
		if ev.Type == typeName {
			return true
		}
	}
	return false
}
