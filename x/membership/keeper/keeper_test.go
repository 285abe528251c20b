package keeper_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sort"
	"testing"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/codec/address"
	codectestutil "github.com/cosmos/cosmos-sdk/codec/testutil"
	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	"github.com/cosmos/cosmos-sdk/runtime"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/stratusnet/stratus/x/membership/keeper"
	"github.com/stratusnet/stratus/x/membership/types"
)

// Bech32 prefixes used by the app (app/config.go). They are set here rather
// than by importing the app package so that these tests build on their own.
const (
	accPrefix  = "stratus"
	valPrefix  = "stratusvaloper"
	consPrefix = "stratusvalcons"
	testHeight = int64(42)
)

func TestMain(m *testing.M) {
	cfg := sdk.GetConfig()
	cfg.SetBech32PrefixForAccount(accPrefix, accPrefix+sdk.PrefixPublic)
	cfg.SetBech32PrefixForValidator(valPrefix, valPrefix+sdk.PrefixPublic)
	cfg.SetBech32PrefixForConsensusNode(consPrefix, consPrefix+sdk.PrefixPublic)
	os.Exit(m.Run())
}

// ---------------------------------------------------------------------------
// fakes
// ---------------------------------------------------------------------------

// fakeStaking is an in-memory types.StakingKeeper. Jail marks the validator
// with the given consensus address jailed, like x/staking does, so that a
// second revocation sees the jailed flag. Bonded validators (jailed or not)
// are the "last validator set", as in x/staking until the next EndBlock.
type fakeStaking struct {
	vals     map[string]stakingtypes.Validator // keyed by operator bech32
	order    []string                          // insertion order of vals
	jailCall []sdk.ConsAddress

	getValErr  error
	getLastErr error
	jailErr    error
}

func newFakeStaking() *fakeStaking {
	return &fakeStaking{vals: map[string]stakingtypes.Validator{}}
}

var _ types.StakingKeeper = (*fakeStaking)(nil)

func (f *fakeStaking) GetValidator(_ context.Context, addr sdk.ValAddress) (stakingtypes.Validator, error) {
	if f.getValErr != nil {
		return stakingtypes.Validator{}, f.getValErr
	}
	v, ok := f.vals[addr.String()]
	if !ok {
		return stakingtypes.Validator{}, stakingtypes.ErrNoValidatorFound
	}
	return v, nil
}

func (f *fakeStaking) GetLastValidators(context.Context) ([]stakingtypes.Validator, error) {
	if f.getLastErr != nil {
		return nil, f.getLastErr
	}
	var out []stakingtypes.Validator
	for _, op := range f.order {
		if v := f.vals[op]; v.IsBonded() {
			out = append(out, v)
		}
	}
	return out, nil
}

func (f *fakeStaking) Jail(_ context.Context, consAddr sdk.ConsAddress) error {
	if f.jailErr != nil {
		return f.jailErr
	}
	f.jailCall = append(f.jailCall, consAddr)
	for op, v := range f.vals {
		ca, err := v.GetConsAddr()
		if err != nil {
			return err
		}
		if bytes.Equal(ca, consAddr) {
			v.Jailed = true
			f.vals[op] = v
		}
	}
	return nil
}

// addValidator registers a validator operated by acc with a fresh ed25519
// consensus key and returns its consensus address.
func (f *fakeStaking) addValidator(t *testing.T, acc sdk.AccAddress, status stakingtypes.BondStatus, jailed bool) sdk.ConsAddress {
	t.Helper()
	pk := ed25519.GenPrivKey().PubKey()
	op := sdk.ValAddress(acc).String()
	v, err := stakingtypes.NewValidator(op, pk, stakingtypes.Description{Moniker: "v-" + op[len(op)-6:]})
	require.NoError(t, err)
	v.Status = status
	v.Jailed = jailed
	if _, ok := f.vals[op]; !ok {
		f.order = append(f.order, op)
	}
	f.vals[op] = v
	return sdk.ConsAddress(pk.Address())
}

type hookCall struct {
	addr sdk.AccAddress
	role types.Role
}

// recordingHooks records AfterRoleRevoked calls and optionally fails them.
type recordingHooks struct {
	calls []hookCall
	err   error
}

var _ types.MembershipHooks = (*recordingHooks)(nil)

func (h *recordingHooks) AfterRoleRevoked(_ context.Context, addr sdk.AccAddress, role types.Role) error {
	h.calls = append(h.calls, hookCall{addr: addr, role: role})
	return h.err
}

// ---------------------------------------------------------------------------
// fixture
// ---------------------------------------------------------------------------

type fixture struct {
	ctx     sdk.Context
	k       *keeper.Keeper
	msgs    types.MsgServer
	queries types.QueryServer
	staking *fakeStaking
	hooks   *recordingHooks
	gov     string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return buildFixture(t, true)
}

// buildFixture builds a keeper over a fresh store, initialised with the
// default genesis at height testHeight; withHooks installs recording hooks.
func buildFixture(t *testing.T, withHooks bool) *fixture {
	t.Helper()
	key := storetypes.NewKVStoreKey(types.StoreKey)
	tctx := testutil.DefaultContextWithDB(t, key, storetypes.NewTransientStoreKey("transient_test"))
	ctx := tctx.Ctx.WithBlockHeight(testHeight).WithEventManager(sdk.NewEventManager())

	cdc := codectestutil.CodecOptions{AccAddressPrefix: accPrefix, ValAddressPrefix: valPrefix}.NewCodec()
	gov := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	staking := newFakeStaking()
	hooks := &recordingHooks{}

	k := keeper.NewKeeper(cdc, runtime.NewKVStoreService(key), address.NewBech32Codec(accPrefix), gov, staking)
	if withHooks {
		k.SetHooks(hooks)
	}
	require.NoError(t, k.InitGenesis(ctx, types.DefaultGenesisState()))

	return &fixture{
		ctx:     ctx,
		k:       k,
		msgs:    keeper.NewMsgServerImpl(k),
		queries: keeper.NewQueryServerImpl(k),
		staking: staking,
		hooks:   hooks,
		gov:     gov,
	}
}

// freshEvents returns ctx with an empty event manager.
func freshEvents(ctx sdk.Context) sdk.Context {
	return ctx.WithEventManager(sdk.NewEventManager())
}

// withConsensusAuthority returns ctx whose consensus params name authority.
func withConsensusAuthority(ctx sdk.Context, authority string) sdk.Context {
	return ctx.WithConsensusParams(cmtproto.ConsensusParams{
		Authority: &cmtproto.AuthorityParams{Authority: authority},
	})
}

// testAddr returns a deterministic 20-byte account address; higher n sorts later.
func testAddr(n byte) sdk.AccAddress {
	return sdk.AccAddress(bytes.Repeat([]byte{n}, 20))
}

// typedEvents parses every typed event emitted on ctx.
func typedEvents(t *testing.T, ctx sdk.Context) []proto.Message {
	t.Helper()
	var out []proto.Message
	for _, ev := range ctx.EventManager().ABCIEvents() {
		msg, err := sdk.ParseTypedEvent(ev)
		if err != nil {
			continue // not a typed event
		}
		out = append(out, msg)
	}
	return out
}

// onlyEvent asserts exactly one typed event of type T was emitted and returns it.
func onlyEvent[T proto.Message](t *testing.T, ctx sdk.Context) T {
	t.Helper()
	var found []T
	for _, m := range typedEvents(t, ctx) {
		if e, ok := m.(T); ok {
			found = append(found, e)
		}
	}
	require.Len(t, found, 1, "events: %v", ctx.EventManager().Events())
	return found[0]
}

// noMembershipEvents asserts no typed x/membership event was emitted.
func noMembershipEvents(t *testing.T, ctx sdk.Context) {
	t.Helper()
	for _, m := range typedEvents(t, ctx) {
		switch m.(type) {
		case *types.EventRoleGranted, *types.EventRoleRevoked, *types.EventParamsUpdated:
			t.Fatalf("unexpected event %T: %v", m, m)
		}
	}
}

// state is everything x/membership stores, for before/after comparisons.
type state struct {
	genesis *types.GenesisState
	counts  map[types.Role]uint64
}

func (f *fixture) snapshot(t *testing.T) state {
	t.Helper()
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	counts := map[types.Role]uint64{}
	for _, r := range []types.Role{types.Role_ROLE_VALIDATOR, types.Role_ROLE_PROVIDER} {
		n, err := f.k.CountMembers(f.ctx, r)
		require.NoError(t, err)
		counts[r] = n
	}
	return state{genesis: gs, counts: counts}
}

// grant grants role to addr through the msg server with the gov authority.
func (f *fixture) grant(t *testing.T, addr sdk.AccAddress, role types.Role) {
	t.Helper()
	_, err := f.msgs.GrantRole(f.ctx, &types.MsgGrantRole{Authority: f.gov, Address: addr.String(), Role: role})
	require.NoError(t, err)
}

func (f *fixture) setParams(t *testing.T, p types.Params) {
	t.Helper()
	_, err := f.msgs.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: p})
	require.NoError(t, err)
}

func (f *fixture) requireMember(t *testing.T, addr sdk.AccAddress, role types.Role, want bool) {
	t.Helper()
	has, err := f.k.HasRole(f.ctx, role, addr)
	require.NoError(t, err)
	require.Equal(t, want, has, "HasRole(%s, %s)", role.ShortName(), addr)
}

func (f *fixture) requireCount(t *testing.T, role types.Role, want uint64) {
	t.Helper()
	n, err := f.k.CountMembers(f.ctx, role)
	require.NoError(t, err)
	require.Equal(t, want, n, "CountMembers(%s)", role.ShortName())
}

// sortedMembers sorts members the way the store iterates them: (role, address bytes).
func sortedMembers(t *testing.T, ms []types.Member) []types.Member {
	t.Helper()
	out := append([]types.Member(nil), ms...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		a, err := sdk.AccAddressFromBech32(out[i].Address)
		require.NoError(t, err)
		b, err := sdk.AccAddressFromBech32(out[j].Address)
		require.NoError(t, err)
		return bytes.Compare(a, b) < 0
	})
	return out
}

var errBoom = errors.New("boom")

// ---------------------------------------------------------------------------
// keeper basics
// ---------------------------------------------------------------------------

func TestNewKeeperPanicsOnInvalidAuthority(t *testing.T) {
	key := storetypes.NewKVStoreKey(types.StoreKey)
	cdc := codectestutil.CodecOptions{AccAddressPrefix: accPrefix, ValAddressPrefix: valPrefix}.NewCodec()
	for _, authority := range []string{"", "not-an-address", "cosmos10d07y265gmmuvt4z0w9aw880jnsr700j6zn9kn"} {
		require.Panics(t, func() {
			keeper.NewKeeper(cdc, runtime.NewKVStoreService(key), address.NewBech32Codec(accPrefix), authority, newFakeStaking())
		}, "authority %q", authority)
	}
}

func TestSetHooksTwicePanics(t *testing.T) {
	f := newFixture(t) // already set hooks once
	require.Panics(t, func() { f.k.SetHooks(&recordingHooks{}) })
}

func TestAuthority(t *testing.T) {
	f := newFixture(t)
	other := testAddr(0xA0).String()

	require.Equal(t, f.gov, f.k.FallbackAuthority())
	require.Equal(t, f.gov, f.k.Authority(f.ctx), "no consensus authority: fallback")
	require.Equal(t, f.gov, f.k.Authority(withConsensusAuthority(f.ctx, "")), "empty consensus authority: fallback")
	require.Equal(t, other, f.k.Authority(withConsensusAuthority(f.ctx, other)), "consensus authority takes precedence")
}

func TestHasRoleGetMemberCountMembers(t *testing.T) {
	f := newFixture(t)
	a, b := testAddr(1), testAddr(2)

	// Nothing granted.
	f.requireMember(t, a, types.Role_ROLE_VALIDATOR, false)
	_, err := f.k.GetMember(f.ctx, types.Role_ROLE_VALIDATOR, a)
	require.ErrorIs(t, err, types.ErrNotMember)
	f.requireCount(t, types.Role_ROLE_VALIDATOR, 0)
	f.requireCount(t, types.Role_ROLE_PROVIDER, 0)

	f.grant(t, a, types.Role_ROLE_VALIDATOR)
	f.grant(t, b, types.Role_ROLE_PROVIDER)

	// Roles are independent: a validator is not a provider and vice versa.
	f.requireMember(t, a, types.Role_ROLE_VALIDATOR, true)
	f.requireMember(t, a, types.Role_ROLE_PROVIDER, false)
	f.requireMember(t, b, types.Role_ROLE_PROVIDER, true)
	f.requireMember(t, b, types.Role_ROLE_VALIDATOR, false)

	m, err := f.k.GetMember(f.ctx, types.Role_ROLE_VALIDATOR, a)
	require.NoError(t, err)
	require.Equal(t, types.Member{Address: a.String(), Role: types.Role_ROLE_VALIDATOR, GrantedHeight: testHeight}, m)
	_, err = f.k.GetMember(f.ctx, types.Role_ROLE_PROVIDER, a)
	require.ErrorIs(t, err, types.ErrNotMember)

	f.requireCount(t, types.Role_ROLE_VALIDATOR, 1)
	f.requireCount(t, types.Role_ROLE_PROVIDER, 1)
}

func mustAcc(t *testing.T, bech string) sdk.AccAddress {
	t.Helper()
	a, err := sdk.AccAddressFromBech32(bech)
	require.NoError(t, err)
	return a
}
