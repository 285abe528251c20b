package keeper

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/membership/types"
)

type msgServer struct {
	*Keeper
}

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the Msg service implementation.
func NewMsgServerImpl(k *Keeper) types.MsgServer {
	return msgServer{Keeper: k}
}

func (s msgServer) checkAuthority(ctx context.Context, signer string) error {
	return sdk.ValidateAuthority(sdk.UnwrapSDKContext(ctx), s.authority, signer)
}

// GrantRole implements types.MsgServer.
func (s msgServer) GrantRole(ctx context.Context, msg *types.MsgGrantRole) (*types.MsgGrantRoleResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	if err := s.checkAuthority(ctx, msg.Authority); err != nil {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	m := types.Member{Address: msg.Address, Role: msg.Role, GrantedHeight: sdkCtx.BlockHeight(), Description: msg.Description}
	if err := s.grant(ctx, m); err != nil {
		return nil, err
	}
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventRoleGranted{
		Address: msg.Address, Role: msg.Role, Authority: msg.Authority, Description: msg.Description,
	}); err != nil {
		return nil, err
	}
	s.Logger(ctx).Info("role granted", "address", msg.Address, "role", msg.Role.ShortName())
	return &types.MsgGrantRoleResponse{}, nil
}

// RevokeRole implements types.MsgServer.
func (s msgServer) RevokeRole(ctx context.Context, msg *types.MsgRevokeRole) (*types.MsgRevokeRoleResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	if err := s.checkAuthority(ctx, msg.Authority); err != nil {
		return nil, err
	}
	addr, err := s.addressCodec.StringToBytes(msg.Address)
	if err != nil {
		return nil, err
	}
	jailed, err := s.revoke(ctx, msg.Role, addr)
	if err != nil {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventRoleRevoked{
		Address: msg.Address, Role: msg.Role, Authority: msg.Authority, Reason: msg.Reason, ValidatorJailed: jailed,
	}); err != nil {
		return nil, err
	}
	s.Logger(ctx).Info("role revoked", "address", msg.Address, "role", msg.Role.ShortName(), "validator_jailed", jailed)
	return &types.MsgRevokeRoleResponse{}, nil
}

// UpdateParams implements types.MsgServer.
func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	if err := s.checkAuthority(ctx, msg.Authority); err != nil {
		return nil, err
	}
	if err := s.Params.Set(ctx, msg.Params); err != nil {
		return nil, err
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventParamsUpdated{
		Params: msg.Params, Authority: msg.Authority,
	}); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, nil
}
