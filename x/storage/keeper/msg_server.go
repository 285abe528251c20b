package keeper

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/storage/types"
)

type msgServer struct{ *Keeper }

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the Msg service implementation.
func NewMsgServerImpl(k *Keeper) types.MsgServer { return msgServer{Keeper: k} }

func (s msgServer) CreateDeal(ctx context.Context, msg *types.MsgCreateDeal) (*types.MsgCreateDealResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	return s.Keeper.CreateDeal(ctx, msg)
}

func (s msgServer) CommitReplica(ctx context.Context, msg *types.MsgCommitReplica) (*types.MsgCommitReplicaResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	provider, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgCommitReplicaResponse{}, s.Keeper.CommitReplica(ctx, provider, msg.DealId)
}

func (s msgServer) SubmitProofs(ctx context.Context, msg *types.MsgSubmitProofs) (*types.MsgSubmitProofsResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	return s.Keeper.SubmitProofs(ctx, msg)
}

func (s msgServer) ExtendDeal(ctx context.Context, msg *types.MsgExtendDeal) (*types.MsgExtendDealResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	return s.Keeper.ExtendDeal(ctx, msg)
}

func (s msgServer) CancelDeal(ctx context.Context, msg *types.MsgCancelDeal) (*types.MsgCancelDealResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	return s.Keeper.CancelDeal(ctx, msg)
}

func (s msgServer) ClaimEarnings(ctx context.Context, msg *types.MsgClaimEarnings) (*types.MsgClaimEarningsResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	provider, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	paid, err := s.Keeper.ClaimEarnings(ctx, provider, msg.DealIds)
	if err != nil {
		return nil, err
	}
	return &types.MsgClaimEarningsResponse{Paid: paid}, nil
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	if err := sdk.ValidateAuthority(sdk.UnwrapSDKContext(ctx), s.authority, msg.Authority); err != nil {
		return nil, err
	}
	if err := s.checkFeeDenom(msg.Params); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, s.Params.Set(ctx, msg.Params)
}
