// Package chainctx builds the SDK client context and transaction factory a
// long-running process (the provider daemon, the S3 gateway) signs and
// queries with, from a keyring key and a node, without a CLI's flags.
package chainctx

import (
	"fmt"
	"os"
	"path/filepath"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/stratusnet/stratus/app"
)

// Options name the key and the node.
type Options struct {
	// Home is the process's home (the client context's HomeDir).
	Home string
	// KeyringBackend and KeyringDir locate the keyring; Key is the key's name.
	KeyringBackend, KeyringDir, Key string
	// Node is the CometBFT RPC address; ChainID the chain's id.
	Node, ChainID string
	// GasPrices and GasAdjustment price the transactions (gas is simulated).
	GasPrices     string
	GasAdjustment float64
}

// New opens the keyring, checks the key and returns the context and
// factory that sign with it (direct sign mode, gas simulated).
func New(o Options) (sdkclient.Context, tx.Factory, error) {
	enc := app.MakeEncodingConfig(filepath.Join(os.TempDir(), "stratus-scratch"))
	kr, err := keyring.New(sdk.KeyringServiceName(), o.KeyringBackend, o.KeyringDir, os.Stdin, enc.Codec)
	if err != nil {
		return sdkclient.Context{}, tx.Factory{}, fmt.Errorf("opening the keyring: %w", err)
	}
	rec, err := kr.Key(o.Key)
	if err != nil {
		return sdkclient.Context{}, tx.Factory{}, fmt.Errorf("key %q in %s (%s backend): %w", o.Key, o.KeyringDir, o.KeyringBackend, err)
	}
	addr, err := rec.GetAddress()
	if err != nil {
		return sdkclient.Context{}, tx.Factory{}, err
	}
	rpc, err := sdkclient.NewClientFromNode(o.Node)
	if err != nil {
		return sdkclient.Context{}, tx.Factory{}, fmt.Errorf("node %s: %w", o.Node, err)
	}
	cctx := sdkclient.Context{}.
		WithCodec(enc.Codec).WithInterfaceRegistry(enc.InterfaceRegistry).WithTxConfig(enc.TxConfig).
		WithLegacyAmino(enc.Amino).WithAccountRetriever(authtypes.AccountRetriever{}).
		WithKeyring(kr).WithFromName(o.Key).WithFromAddress(addr).
		WithChainID(o.ChainID).WithNodeURI(o.Node).WithClient(rpc).
		WithBroadcastMode("sync").WithHomeDir(o.Home).WithSkipConfirmation(true).WithOutput(os.Stdout)
	txf := tx.Factory{}.
		WithTxConfig(enc.TxConfig).WithAccountRetriever(authtypes.AccountRetriever{}).
		WithKeybase(kr).WithFromName(o.Key).WithChainID(o.ChainID).WithGasPrices(o.GasPrices).
		WithGasAdjustment(o.GasAdjustment).WithSimulateAndExecute(true).
		WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
	return cctx, txf, nil
}
