package app

import (
	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
)

// EncodingConfig is what clients need to encode, sign and decode txs.
type EncodingConfig struct {
	InterfaceRegistry codectypes.InterfaceRegistry
	Codec             codec.Codec
	TxConfig          client.TxConfig
	Amino             *codec.LegacyAmino
}

// MakeEncodingConfig builds the app's codecs from a throwaway in-memory
// instance, so clients (the CLI, the provider daemon) encode exactly what
// the chain decodes.
func MakeEncodingConfig(scratchHome string) EncodingConfig {
	a := New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.NewAppOptionsWithFlagHome(scratchHome))
	return EncodingConfig{
		InterfaceRegistry: a.InterfaceRegistry(),
		Codec:             a.AppCodec(),
		TxConfig:          a.TxConfig(),
		Amino:             a.LegacyAmino(),
	}
}
