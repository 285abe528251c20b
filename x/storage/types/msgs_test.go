package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/stratusnet/stratus/x/storage/types"
)

var (
	alice = sdk.AccAddress([]byte("alice_______________")).String()
	hash  = make([]byte, 32)
)

func price(denom string, amount int64) sdk.DecCoin {
	return sdk.DecCoin{Denom: denom, Amount: math.LegacyNewDec(amount)}
}

// validateBasicCase is one message and the error ValidateBasic must give
// (nil for a valid message).
type validateBasicCase struct {
	name string
	msg  sdk.HasValidateBasic
	want *errorsmod.Error
}

func runValidateBasic(t *testing.T, cases []validateBasicCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.ValidateBasic()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestMsgCreateDealValidateBasic(t *testing.T) {
	valid := func(edit func(m *types.MsgCreateDeal)) *types.MsgCreateDeal {
		m := &types.MsgCreateDeal{Owner: alice, Root: hash, Size_: 1, Replicas: 1, DurationBlocks: 1, MaxPrice: price("ustrat", 1)}
		edit(m)
		return m
	}
	runValidateBasic(t, []validateBasicCase{
		{"valid", valid(func(*types.MsgCreateDeal) {}), nil},
		{"fractional price", valid(func(m *types.MsgCreateDeal) {
			m.MaxPrice = sdk.DecCoin{Denom: "ustrat", Amount: math.LegacyNewDecWithPrec(1, 3)}
		}), nil},
		{"bad owner", valid(func(m *types.MsgCreateDeal) { m.Owner = "stratus1nope" }), sdkerrors.ErrInvalidAddress},
		{"empty owner", valid(func(m *types.MsgCreateDeal) { m.Owner = "" }), sdkerrors.ErrInvalidAddress},
		{"no root", valid(func(m *types.MsgCreateDeal) { m.Root = nil }), types.ErrInvalidRoot},
		{"short root", valid(func(m *types.MsgCreateDeal) { m.Root = make([]byte, 31) }), types.ErrInvalidRoot},
		{"long root", valid(func(m *types.MsgCreateDeal) { m.Root = make([]byte, 33) }), types.ErrInvalidRoot},
		{"zero size", valid(func(m *types.MsgCreateDeal) { m.Size_ = 0 }), types.ErrInvalidSize},
		{"zero replicas", valid(func(m *types.MsgCreateDeal) { m.Replicas = 0 }), types.ErrInvalidReplicas},
		{"zero duration", valid(func(m *types.MsgCreateDeal) { m.DurationBlocks = 0 }), types.ErrInvalidDuration},
		{"zero price", valid(func(m *types.MsgCreateDeal) { m.MaxPrice = price("ustrat", 0) }), types.ErrInvalidPrice},
		{"negative price", valid(func(m *types.MsgCreateDeal) { m.MaxPrice = price("ustrat", -1) }), types.ErrInvalidPrice},
		{"no denom", valid(func(m *types.MsgCreateDeal) { m.MaxPrice = price("", 1) }), types.ErrInvalidPrice},
		{"nil amount", valid(func(m *types.MsgCreateDeal) { m.MaxPrice = sdk.DecCoin{Denom: "ustrat"} }), types.ErrInvalidPrice},
	})
}

func TestMsgCommitReplicaValidateBasic(t *testing.T) {
	runValidateBasic(t, []validateBasicCase{
		{"valid", &types.MsgCommitReplica{Provider: alice, DealId: 1}, nil},
		{"bad provider", &types.MsgCommitReplica{Provider: "x", DealId: 1}, sdkerrors.ErrInvalidAddress},
	})
}

func TestMsgSubmitProofsValidateBasic(t *testing.T) {
	proof := func(deal uint64, path int) types.StorageProof {
		p := types.StorageProof{DealId: deal, Leaf: []byte("leaf")}
		for range path {
			p.AuditPath = append(p.AuditPath, make([]byte, 32))
		}
		return p
	}
	msg := func(proofs ...types.StorageProof) *types.MsgSubmitProofs {
		return &types.MsgSubmitProofs{Provider: alice, Proofs: proofs}
	}
	many := make([]types.StorageProof, types.MaxProofsPerMsg+1)
	for i := range many {
		many[i] = proof(uint64(i), 1)
	}
	emptyLeaf := proof(1, 1)
	emptyLeaf.Leaf = nil
	shortHash := proof(1, 2)
	shortHash.AuditPath[1] = make([]byte, 31)
	longHash := proof(1, 2)
	longHash.AuditPath[0] = make([]byte, 33)
	runValidateBasic(t, []validateBasicCase{
		{"valid", msg(proof(1, 3), proof(2, 0)), nil},
		{"at the proof limit", msg(many[:types.MaxProofsPerMsg]...), nil},
		{"longest path", msg(proof(1, types.MaxAuditPath)), nil},
		{"bad provider", &types.MsgSubmitProofs{Provider: "", Proofs: []types.StorageProof{proof(1, 1)}}, sdkerrors.ErrInvalidAddress},
		{"no proofs", msg(), types.ErrMalformedProof},
		{"too many proofs", msg(many...), types.ErrTooManyProofs},
		{"duplicate deal", msg(proof(1, 1), proof(2, 1), proof(1, 2)), types.ErrDuplicateProof},
		{"empty leaf", msg(emptyLeaf), types.ErrMalformedProof},
		{"path too long", msg(proof(1, types.MaxAuditPath+1)), types.ErrMalformedProof},
		{"short path hash", msg(shortHash), types.ErrMalformedProof},
		{"long path hash", msg(longHash), types.ErrMalformedProof},
	})
}

func TestMsgExtendCancelClaimValidateBasic(t *testing.T) {
	ids := make([]uint64, types.MaxDealIDsPerClaim+1)
	runValidateBasic(t, []validateBasicCase{
		{"extend valid", &types.MsgExtendDeal{Owner: alice, DealId: 1, AdditionalBlocks: 1}, nil},
		{"extend bad owner", &types.MsgExtendDeal{Owner: "bad", DealId: 1, AdditionalBlocks: 1}, sdkerrors.ErrInvalidAddress},
		{"extend by nothing", &types.MsgExtendDeal{Owner: alice, DealId: 1}, types.ErrInvalidDuration},
		{"extend beyond 2^40 blocks", &types.MsgExtendDeal{Owner: alice, DealId: 1, AdditionalBlocks: 1<<40 + 1}, types.ErrInvalidDuration},
		{"extend by 2^64-1 blocks", &types.MsgExtendDeal{Owner: alice, DealId: 1, AdditionalBlocks: ^uint64(0)}, types.ErrInvalidDuration},
		{"cancel valid", &types.MsgCancelDeal{Owner: alice, DealId: 1}, nil},
		{"cancel bad owner", &types.MsgCancelDeal{Owner: "bad", DealId: 1}, sdkerrors.ErrInvalidAddress},
		{"claim all", &types.MsgClaimEarnings{Provider: alice}, nil},
		{"claim at the id limit", &types.MsgClaimEarnings{Provider: alice, DealIds: ids[:types.MaxDealIDsPerClaim]}, nil},
		{"claim bad provider", &types.MsgClaimEarnings{Provider: "bad"}, sdkerrors.ErrInvalidAddress},
		{"claim too many ids", &types.MsgClaimEarnings{Provider: alice, DealIds: ids}, types.ErrInvalidParams},
	})
}

func TestMsgUpdateParamsValidateBasic(t *testing.T) {
	bad := types.DefaultParams()
	bad.MaxMissed = 0
	runValidateBasic(t, []validateBasicCase{
		{"valid", &types.MsgUpdateParams{Authority: alice, Params: types.DefaultParams()}, nil},
		{"bad authority", &types.MsgUpdateParams{Authority: "bad", Params: types.DefaultParams()}, sdkerrors.ErrInvalidAddress},
		{"bad params", &types.MsgUpdateParams{Authority: alice, Params: bad}, types.ErrInvalidParams},
	})
}

func TestStorageProofHashes(t *testing.T) {
	p := types.StorageProof{AuditPath: [][]byte{make([]byte, 32), append(make([]byte, 31), 7)}}
	hashes, err := p.Hashes()
	require.NoError(t, err)
	require.Len(t, hashes, 2)
	require.Equal(t, byte(7), hashes[1][31])

	p.AuditPath[0] = make([]byte, 5)
	_, err = p.Hashes()
	require.ErrorIs(t, err, types.ErrMalformedProof)
}
