package keeper

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/compute/types"
)

type msgServer struct{ *Keeper }

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the Msg service implementation.
func NewMsgServerImpl(k *Keeper) types.MsgServer { return msgServer{Keeper: k} }

func (s msgServer) SubmitJob(ctx context.Context, msg *types.MsgSubmitJob) (*types.MsgSubmitJobResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	return s.Keeper.SubmitJob(ctx, msg)
}

func (s msgServer) CommitResult(ctx context.Context, msg *types.MsgCommitResult) (*types.MsgCommitResultResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	provider, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgCommitResultResponse{}, s.Keeper.CommitResult(ctx, provider, msg.JobId, msg.Commitment)
}

func (s msgServer) RevealResult(ctx context.Context, msg *types.MsgRevealResult) (*types.MsgRevealResultResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	provider, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	return &types.MsgRevealResultResponse{}, s.Keeper.RevealResult(ctx, provider, msg.JobId, msg.Result, msg.Salt)
}

func (s msgServer) CancelJob(ctx context.Context, msg *types.MsgCancelJob) (*types.MsgCancelJobResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	refund, fee, err := s.Keeper.CancelJob(ctx, msg.Owner, msg.JobId)
	if err != nil {
		return nil, err
	}
	return &types.MsgCancelJobResponse{Refund: refund, Fee: fee}, nil
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	if err := sdk.ValidateAuthority(sdk.UnwrapSDKContext(ctx), s.authority, msg.Authority); err != nil {
		return nil, err
	}
	if err := s.checkDenoms(msg.Params); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, s.Params.Set(ctx, msg.Params)
}
