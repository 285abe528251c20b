package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/legacy"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgSubmitJob{}, "stratus/x/compute/MsgSubmitJob")
	legacy.RegisterAminoMsg(cdc, &MsgCommitResult{}, "stratus/x/compute/MsgCommitResult")
	legacy.RegisterAminoMsg(cdc, &MsgRevealResult{}, "stratus/x/compute/MsgRevealResult")
	legacy.RegisterAminoMsg(cdc, &MsgCancelJob{}, "stratus/x/compute/MsgCancelJob")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "stratus/x/compute/MsgUpdateParams")
	cdc.RegisterConcrete(Params{}, "stratus/x/compute/Params", nil)
}

// RegisterInterfaces registers the messages as sdk.Msg implementations.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgSubmitJob{}, &MsgCommitResult{}, &MsgRevealResult{}, &MsgCancelJob{}, &MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
