package ante_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	protov2 "google.golang.org/protobuf/proto"

	"cosmossdk.io/math"

	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	"github.com/cosmos/cosmos-sdk/x/authz"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/stratusnet/stratus/app/ante"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
)

// Bech32 prefixes used by the app (app/config.go). Importing the app package
// from here would be an import cycle (app imports app/ante).
const (
	accPrefix  = "stratus"
	valPrefix  = "stratusvaloper"
	consPrefix = "stratusvalcons"
)

func TestMain(m *testing.M) {
	// Must run before any address is stringified: the SDK caches bech32
	// strings by address bytes.
	cfg := sdk.GetConfig()
	cfg.SetBech32PrefixForAccount(accPrefix, accPrefix+sdk.PrefixPublic)
	cfg.SetBech32PrefixForValidator(valPrefix, valPrefix+sdk.PrefixPublic)
	cfg.SetBech32PrefixForConsensusNode(consPrefix, consPrefix+sdk.PrefixPublic)
	os.Exit(m.Run())
}

// ---------------------------------------------------------------------------
// fakes
// ---------------------------------------------------------------------------

type hasRoleCall struct {
	role membershiptypes.Role
	addr sdk.AccAddress
}

// fakeMembers is a MembershipChecker over a fixed set of validator members.
type fakeMembers struct {
	validators map[string]bool // AccAddress bytes -> member
	calls      []hasRoleCall
	err        error
}

var _ ante.MembershipChecker = (*fakeMembers)(nil)

func newFakeMembers(validators ...sdk.AccAddress) *fakeMembers {
	f := &fakeMembers{validators: map[string]bool{}}
	for _, v := range validators {
		f.validators[string(v)] = true
	}
	return f
}

func (f *fakeMembers) HasRole(_ context.Context, role membershiptypes.Role, addr sdk.AccAddress) (bool, error) {
	f.calls = append(f.calls, hasRoleCall{role: role, addr: addr})
	if f.err != nil {
		return false, f.err
	}
	return role == membershiptypes.Role_ROLE_VALIDATOR && f.validators[string(addr)], nil
}

// fakeTx is the minimal sdk.Tx the gate needs.
type fakeTx struct{ msgs []sdk.Msg }

var _ sdk.Tx = fakeTx{}

func (t fakeTx) GetMsgs() []sdk.Msg                    { return t.msgs }
func (t fakeTx) GetMsgsV2() ([]protov2.Message, error) { return nil, nil }

// nextRecorder is an sdk.AnteHandler recording whether it ran.
type nextRecorder struct {
	called   bool
	simulate bool
	tx       sdk.Tx
}

func (n *nextRecorder) handler(ctx sdk.Context, tx sdk.Tx, simulate bool) (sdk.Context, error) {
	n.called, n.simulate, n.tx = true, simulate, tx
	return ctx, nil
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

var (
	memberAcc    = sdk.AccAddress(bytes.Repeat([]byte{0x01}, 20))
	nonMemberAcc = sdk.AccAddress(bytes.Repeat([]byte{0x02}, 20))
	delegatorAcc = sdk.AccAddress(bytes.Repeat([]byte{0x03}, 20))
	granteeAcc   = sdk.AccAddress(bytes.Repeat([]byte{0x04}, 20))
)

func valoper(acc sdk.AccAddress) string { return sdk.ValAddress(acc).String() }

func coin() sdk.Coin { return sdk.NewCoin("ustrat", math.NewInt(1_000_000)) }

func createValidator(t *testing.T, acc sdk.AccAddress) *stakingtypes.MsgCreateValidator {
	t.Helper()
	msg, err := stakingtypes.NewMsgCreateValidator(
		valoper(acc), ed25519.GenPrivKey().PubKey(), coin(),
		stakingtypes.Description{Moniker: "node"},
		stakingtypes.NewCommissionRates(math.LegacyNewDecWithPrec(1, 1), math.LegacyNewDecWithPrec(2, 1), math.LegacyNewDecWithPrec(1, 2)),
		math.OneInt(),
	)
	require.NoError(t, err)
	return msg
}

func unjail(acc sdk.AccAddress) *slashingtypes.MsgUnjail {
	return &slashingtypes.MsgUnjail{ValidatorAddr: valoper(acc)}
}

func delegate(acc sdk.AccAddress) *stakingtypes.MsgDelegate {
	return stakingtypes.NewMsgDelegate(delegatorAcc.String(), valoper(acc), coin())
}

func redelegate(src, dst sdk.AccAddress) *stakingtypes.MsgBeginRedelegate {
	return stakingtypes.NewMsgBeginRedelegate(delegatorAcc.String(), valoper(src), valoper(dst), coin())
}

func cancelUnbonding(acc sdk.AccAddress) *stakingtypes.MsgCancelUnbondingDelegation {
	return stakingtypes.NewMsgCancelUnbondingDelegation(delegatorAcc.String(), valoper(acc), 10, coin())
}

func undelegate(acc sdk.AccAddress) *stakingtypes.MsgUndelegate {
	return stakingtypes.NewMsgUndelegate(delegatorAcc.String(), valoper(acc), coin())
}

func send() *banktypes.MsgSend {
	return banktypes.NewMsgSend(delegatorAcc, nonMemberAcc, sdk.NewCoins(coin()))
}

// exec wraps msgs in depth nested authz.MsgExec (depth 0 returns msgs as is).
func exec(depth int, msgs ...sdk.Msg) []sdk.Msg {
	for i := 0; i < depth; i++ {
		m := authz.NewMsgExec(granteeAcc, msgs)
		msgs = []sdk.Msg{&m}
	}
	return msgs
}

func newCtx() sdk.Context {
	return sdk.Context{}.WithContext(context.Background()).WithEventManager(sdk.NewEventManager())
}

// runGate runs the gate over msgs with a recording next handler.
func runGate(members ante.MembershipChecker, msgs ...sdk.Msg) (*nextRecorder, error) {
	next := &nextRecorder{}
	gate := ante.NewMembershipGateDecorator(members)
	_, err := gate.AnteHandle(newCtx(), fakeTx{msgs: msgs}, false, next.handler)
	return next, err
}

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

func TestMembershipGate(t *testing.T) {
	cases := []struct {
		name    string
		msgs    func(t *testing.T) []sdk.Msg
		wantErr error // nil: allowed
	}{
		// MsgCreateValidator
		{"create validator by member", func(t *testing.T) []sdk.Msg { return []sdk.Msg{createValidator(t, memberAcc)} }, nil},
		{"create validator by non-member", func(t *testing.T) []sdk.Msg { return []sdk.Msg{createValidator(t, nonMemberAcc)} }, membershiptypes.ErrNotPermitted},
		// MsgUnjail
		{"unjail member", func(*testing.T) []sdk.Msg { return []sdk.Msg{unjail(memberAcc)} }, nil},
		{"unjail non-member", func(*testing.T) []sdk.Msg { return []sdk.Msg{unjail(nonMemberAcc)} }, membershiptypes.ErrNotPermitted},
		// MsgDelegate
		{"delegate to member", func(*testing.T) []sdk.Msg { return []sdk.Msg{delegate(memberAcc)} }, nil},
		{"delegate to non-member", func(*testing.T) []sdk.Msg { return []sdk.Msg{delegate(nonMemberAcc)} }, membershiptypes.ErrNotPermitted},
		// MsgBeginRedelegate: only the destination matters
		{"redelegate member to member", func(*testing.T) []sdk.Msg { return []sdk.Msg{redelegate(memberAcc, memberAcc)} }, nil},
		{"redelegate non-member to member", func(*testing.T) []sdk.Msg { return []sdk.Msg{redelegate(nonMemberAcc, memberAcc)} }, nil},
		{"redelegate member to non-member", func(*testing.T) []sdk.Msg { return []sdk.Msg{redelegate(memberAcc, nonMemberAcc)} }, membershiptypes.ErrNotPermitted},
		{"redelegate non-member to non-member", func(*testing.T) []sdk.Msg { return []sdk.Msg{redelegate(nonMemberAcc, nonMemberAcc)} }, membershiptypes.ErrNotPermitted},
		// MsgCancelUnbondingDelegation
		{"cancel unbonding back to member", func(*testing.T) []sdk.Msg { return []sdk.Msg{cancelUnbonding(memberAcc)} }, nil},
		{"cancel unbonding back to non-member", func(*testing.T) []sdk.Msg { return []sdk.Msg{cancelUnbonding(nonMemberAcc)} }, membershiptypes.ErrNotPermitted},
		// leaving a (revoked) validator is always allowed
		{"undelegate from non-member", func(*testing.T) []sdk.Msg { return []sdk.Msg{undelegate(nonMemberAcc)} }, nil},
		// unrelated messages
		{"bank send", func(*testing.T) []sdk.Msg { return []sdk.Msg{send()} }, nil},
		{"empty tx", func(*testing.T) []sdk.Msg { return nil }, nil},
		// malformed validator addresses fail closed
		{"delegate to malformed valoper", func(*testing.T) []sdk.Msg {
			return []sdk.Msg{stakingtypes.NewMsgDelegate(delegatorAcc.String(), "stratusvaloper1garbage", coin())}
		}, membershiptypes.ErrNotPermitted},
		{"delegate to account address of a member", func(*testing.T) []sdk.Msg {
			return []sdk.Msg{stakingtypes.NewMsgDelegate(delegatorAcc.String(), memberAcc.String(), coin())}
		}, membershiptypes.ErrNotPermitted},
		{"unjail with empty address", func(*testing.T) []sdk.Msg { return []sdk.Msg{&slashingtypes.MsgUnjail{}} }, membershiptypes.ErrNotPermitted},
		// mixed txs
		{"allowed then forbidden", func(*testing.T) []sdk.Msg { return []sdk.Msg{send(), delegate(memberAcc), delegate(nonMemberAcc)} }, membershiptypes.ErrNotPermitted},
		{"forbidden then allowed", func(*testing.T) []sdk.Msg { return []sdk.Msg{unjail(nonMemberAcc), send()} }, membershiptypes.ErrNotPermitted},
		{"several allowed", func(t *testing.T) []sdk.Msg {
			return []sdk.Msg{send(), createValidator(t, memberAcc), delegate(memberAcc), redelegate(nonMemberAcc, memberAcc)}
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// arrange
			members := newFakeMembers(memberAcc)
			msgs := tc.msgs(t)

			// act
			next, err := runGate(members, msgs...)

			// assert
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.True(t, next.called, "next must run when the gate passes")
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.False(t, next.called, "next must not run when the gate rejects")
		})
	}
}

func TestMembershipGateNestedInAuthzExec(t *testing.T) {
	forbidden := map[string]func(t *testing.T) sdk.Msg{
		"create validator":  func(t *testing.T) sdk.Msg { return createValidator(t, nonMemberAcc) },
		"unjail":            func(*testing.T) sdk.Msg { return unjail(nonMemberAcc) },
		"delegate":          func(*testing.T) sdk.Msg { return delegate(nonMemberAcc) },
		"redelegate":        func(*testing.T) sdk.Msg { return redelegate(memberAcc, nonMemberAcc) },
		"cancel unbonding":  func(*testing.T) sdk.Msg { return cancelUnbonding(nonMemberAcc) },
		"after allowed msg": func(*testing.T) sdk.Msg { return delegate(nonMemberAcc) },
	}
	allowed := map[string]func(t *testing.T) sdk.Msg{
		"create validator": func(t *testing.T) sdk.Msg { return createValidator(t, memberAcc) },
		"unjail":           func(*testing.T) sdk.Msg { return unjail(memberAcc) },
		"delegate":         func(*testing.T) sdk.Msg { return delegate(memberAcc) },
		"redelegate":       func(*testing.T) sdk.Msg { return redelegate(nonMemberAcc, memberAcc) },
		"cancel unbonding": func(*testing.T) sdk.Msg { return cancelUnbonding(memberAcc) },
		"bank send":        func(*testing.T) sdk.Msg { return send() },
	}

	for _, depth := range []int{1, 2, 3, ante.MaxExecDepth} {
		for name, mk := range forbidden {
			t.Run("forbidden/"+name+"/depth="+strconv.Itoa(depth), func(t *testing.T) {
				inner := []sdk.Msg{mk(t)}
				if name == "after allowed msg" {
					inner = []sdk.Msg{send(), delegate(memberAcc), mk(t)}
				}

				next, err := runGate(newFakeMembers(memberAcc), exec(depth, inner...)...)

				require.ErrorIs(t, err, membershiptypes.ErrNotPermitted)
				require.False(t, next.called)
			})
		}
		for name, mk := range allowed {
			t.Run("allowed/"+name+"/depth="+strconv.Itoa(depth), func(t *testing.T) {
				next, err := runGate(newFakeMembers(memberAcc), exec(depth, mk(t))...)

				require.NoError(t, err)
				require.True(t, next.called)
			})
		}
	}
}

func TestMembershipGateForbiddenInSecondExecBranch(t *testing.T) {
	// A tx with an innocent MsgExec followed by one hiding a forbidden msg.
	msgs := append(exec(2, send()), exec(3, send(), unjail(nonMemberAcc))...)

	next, err := runGate(newFakeMembers(memberAcc), msgs...)

	require.ErrorIs(t, err, membershiptypes.ErrNotPermitted)
	require.False(t, next.called)
}

func TestMembershipGateExecDepthLimit(t *testing.T) {
	cases := []struct {
		name    string
		depth   int
		inner   func(t *testing.T) sdk.Msg
		wantErr error
	}{
		{"at the limit, allowed msg", ante.MaxExecDepth, func(*testing.T) sdk.Msg { return send() }, nil},
		{"at the limit, member msg", ante.MaxExecDepth, func(t *testing.T) sdk.Msg { return createValidator(t, memberAcc) }, nil},
		{"one past the limit, allowed msg", ante.MaxExecDepth + 1, func(*testing.T) sdk.Msg { return send() }, membershiptypes.ErrNestingTooDeep},
		{"one past the limit, member msg", ante.MaxExecDepth + 1, func(*testing.T) sdk.Msg { return delegate(memberAcc) }, membershiptypes.ErrNestingTooDeep},
		{"far past the limit", 3 * ante.MaxExecDepth, func(*testing.T) sdk.Msg { return send() }, membershiptypes.ErrNestingTooDeep},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next, err := runGate(newFakeMembers(memberAcc), exec(tc.depth, tc.inner(t))...)

			if tc.wantErr == nil {
				require.NoError(t, err)
				require.True(t, next.called)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.False(t, next.called)
		})
	}
}

func TestMembershipGateExecEmptyOrEmptyAny(t *testing.T) {
	// MsgExec with no messages passes the gate (authz's ValidateBasic rejects it).
	empty := authz.NewMsgExec(granteeAcc, nil)
	next, err := runGate(newFakeMembers(), &empty)
	require.NoError(t, err)
	require.True(t, next.called)

	// An Any that was never unpacked cannot be inspected: fail closed.
	bad := authz.MsgExec{Grantee: granteeAcc.String(), Msgs: []*codectypes.Any{{TypeUrl: sdk.MsgTypeURL(&stakingtypes.MsgDelegate{})}}}
	next, err = runGate(newFakeMembers(), &bad)
	require.ErrorIs(t, err, sdkerrors.ErrInvalidRequest)
	require.False(t, next.called)
}

func TestMembershipGateErrorMessage(t *testing.T) {
	cases := []struct {
		name   string
		msg    func(t *testing.T) sdk.Msg
		action string
	}{
		{"create validator", func(t *testing.T) sdk.Msg { return createValidator(t, nonMemberAcc) }, "create a validator"},
		{"unjail", func(*testing.T) sdk.Msg { return unjail(nonMemberAcc) }, "unjail"},
		{"delegate", func(*testing.T) sdk.Msg { return delegate(nonMemberAcc) }, "receive delegations"},
		{"nested delegate", func(*testing.T) sdk.Msg { return exec(2, delegate(nonMemberAcc))[0] }, "receive delegations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runGate(newFakeMembers(memberAcc), tc.msg(t))

			require.ErrorIs(t, err, membershiptypes.ErrNotPermitted)
			msg := err.Error()
			require.Contains(t, msg, valoper(nonMemberAcc), "names the validator address")
			require.Contains(t, msg, nonMemberAcc.String(), "names the operator account")
			require.Contains(t, msg, "does not hold the validator role")
			require.Contains(t, msg, "may not "+tc.action)
		})
	}
}

func TestMembershipGateAsksForValidatorRoleOfOperatorAccount(t *testing.T) {
	members := newFakeMembers(memberAcc)

	_, err := runGate(members, redelegate(nonMemberAcc, memberAcc))

	require.NoError(t, err)
	require.Equal(t, []hasRoleCall{{role: membershiptypes.Role_ROLE_VALIDATOR, addr: memberAcc}}, members.calls,
		"only the destination is checked, for the VALIDATOR role of the operator's account")
}

func TestMembershipGateProviderRoleIsNotEnough(t *testing.T) {
	// fakeMembers only answers true for VALIDATOR; a checker that would
	// answer true for PROVIDER must not matter because the gate asks for
	// VALIDATOR.
	members := &roleChecker{roles: map[membershiptypes.Role]map[string]bool{
		membershiptypes.Role_ROLE_PROVIDER: {string(nonMemberAcc): true},
	}}

	_, err := runGate(members, createValidator(t, nonMemberAcc))

	require.ErrorIs(t, err, membershiptypes.ErrNotPermitted)
}

func TestMembershipGateCheckerErrorPropagates(t *testing.T) {
	errStore := errors.New("store unavailable")
	members := newFakeMembers(memberAcc)
	members.err = errStore

	next, err := runGate(members, delegate(memberAcc))

	require.ErrorIs(t, err, errStore)
	require.False(t, next.called)
}

func TestMembershipGatePassesSimulateAndTx(t *testing.T) {
	gate := ante.NewMembershipGateDecorator(newFakeMembers(memberAcc))
	next := &nextRecorder{}
	tx := fakeTx{msgs: []sdk.Msg{delegate(memberAcc)}}

	_, err := gate.AnteHandle(newCtx(), tx, true, next.handler)

	require.NoError(t, err)
	require.True(t, next.called)
	require.True(t, next.simulate)
	require.Equal(t, tx, next.tx)
}

// TestMembershipGateDecodedTx runs the gate over a tx that went through the
// real encoder and decoder, so nested authz.MsgExec Anys are unpacked the way
// they are on chain.
func TestMembershipGateDecodedTx(t *testing.T) {
	enc := moduletestutil.MakeTestEncodingConfig()
	for _, register := range []func(codectypes.InterfaceRegistry){
		authz.RegisterInterfaces, stakingtypes.RegisterInterfaces, slashingtypes.RegisterInterfaces, banktypes.RegisterInterfaces,
	} {
		register(enc.InterfaceRegistry)
	}

	roundTrip := func(t *testing.T, msgs ...sdk.Msg) sdk.Tx {
		t.Helper()
		b := enc.TxConfig.NewTxBuilder()
		require.NoError(t, b.SetMsgs(msgs...))
		bz, err := enc.TxConfig.TxEncoder()(b.GetTx())
		require.NoError(t, err)
		tx, err := enc.TxConfig.TxDecoder()(bz)
		require.NoError(t, err)
		return tx
	}

	cases := []struct {
		name    string
		msgs    []sdk.Msg
		wantErr error
	}{
		{"delegate to non-member, depth 3", exec(3, send(), delegate(nonMemberAcc)), membershiptypes.ErrNotPermitted},
		{"unjail non-member, depth 1", exec(1, unjail(nonMemberAcc)), membershiptypes.ErrNotPermitted},
		{"delegate to member, depth 3", exec(3, delegate(memberAcc)), nil},
		{"too deep", exec(ante.MaxExecDepth+1, send()), membershiptypes.ErrNestingTooDeep},
		{"top-level create validator by non-member", []sdk.Msg{createValidator(t, nonMemberAcc)}, membershiptypes.ErrNotPermitted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tx := roundTrip(t, tc.msgs...)
			gate := ante.NewMembershipGateDecorator(newFakeMembers(memberAcc))
			next := &nextRecorder{}

			_, err := gate.AnteHandle(newCtx(), tx, false, next.handler)

			if tc.wantErr == nil {
				require.NoError(t, err)
				require.True(t, next.called)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.False(t, next.called)
		})
	}
}

// roleChecker answers HasRole from an explicit role table.
type roleChecker struct {
	roles map[membershiptypes.Role]map[string]bool
}

func (r *roleChecker) HasRole(_ context.Context, role membershiptypes.Role, addr sdk.AccAddress) (bool, error) {
	return r.roles[role][string(addr)], nil
}
