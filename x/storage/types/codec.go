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
	legacy.RegisterAminoMsg(cdc, &MsgCreateDeal{}, "stratus/x/storage/MsgCreateDeal")
	legacy.RegisterAminoMsg(cdc, &MsgCommitReplica{}, "stratus/x/storage/MsgCommitReplica")
	legacy.RegisterAminoMsg(cdc, &MsgSubmitProofs{}, "stratus/x/storage/MsgSubmitProofs")
	legacy.RegisterAminoMsg(cdc, &MsgExtendDeal{}, "stratus/x/storage/MsgExtendDeal")
	legacy.RegisterAminoMsg(cdc, &MsgCancelDeal{}, "stratus/x/storage/MsgCancelDeal")
	legacy.RegisterAminoMsg(cdc, &MsgClaimEarnings{}, "stratus/x/storage/MsgClaimEarnings")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "stratus/x/storage/MsgUpdateParams")
	cdc.RegisterConcrete(Params{}, "stratus/x/storage/Params", nil)
}

// RegisterInterfaces registers the messages as sdk.Msg implementations.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgCreateDeal{}, &MsgCommitReplica{}, &MsgSubmitProofs{}, &MsgExtendDeal{},
		&MsgCancelDeal{}, &MsgClaimEarnings{}, &MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
