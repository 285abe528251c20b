package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/legacy"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (ledgers).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgRegisterProvider{}, "stratus/x/provider/MsgRegisterProvider")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateProvider{}, "stratus/x/provider/MsgUpdateProvider")
	legacy.RegisterAminoMsg(cdc, &MsgAddStake{}, "stratus/x/provider/MsgAddStake")
	legacy.RegisterAminoMsg(cdc, &MsgUnbondProvider{}, "stratus/x/provider/MsgUnbondProvider")
	legacy.RegisterAminoMsg(cdc, &MsgUnjail{}, "stratus/x/provider/MsgUnjail")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "stratus/x/provider/MsgUpdateParams")
	cdc.RegisterConcrete(Params{}, "stratus/x/provider/Params", nil)
}

// RegisterInterfaces registers the messages as sdk.Msg implementations.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgRegisterProvider{},
		&MsgUpdateProvider{},
		&MsgAddStake{},
		&MsgUnbondProvider{},
		&MsgUnjail{},
		&MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
