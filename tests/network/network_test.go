// Package network_test runs Stratus on a real multi-validator in-process
// network (CometBFT consensus between validators over loopback) and checks
// the membership gate end to end through the CLI commands operators use.
package network_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	dbm "github.com/cosmos/cosmos-db"
	"github.com/cosmos/go-bip39"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	pruningtypes "github.com/cosmos/cosmos-sdk/store/v2/pruning/types"
	clitestutil "github.com/cosmos/cosmos-sdk/testutil/cli"
	"github.com/cosmos/cosmos-sdk/testutil/network"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	stakingcli "github.com/cosmos/cosmos-sdk/x/staking/client/cli"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/stratusnet/stratus/app"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
)

func newMnemonic(t *testing.T) string {
	t.Helper()
	entropy, err := bip39.NewEntropy(256)
	require.NoError(t, err)
	m, err := bip39.NewMnemonic(entropy)
	require.NoError(t, err)
	return m
}

// deriveAddress returns the account a mnemonic yields on the default path,
// the path the network uses for its validator keys.
func deriveAddress(t *testing.T, kr keyring.Keyring, name, mnemonic string) sdk.AccAddress {
	t.Helper()
	rec, err := kr.NewAccount(name, mnemonic, keyring.DefaultBIP39Passphrase, sdk.GetConfig().GetFullBIP44Path(), hd.Secp256k1)
	require.NoError(t, err)
	addr, err := rec.GetAddress()
	require.NoError(t, err)
	return addr
}

type fixture struct {
	net      *network.Network
	member   sdk.AccAddress
	outsider sdk.AccAddress
}

// startNetwork starts numVals validators whose operators are genesis
// VALIDATOR members, plus two funded accounts: "member" (granted VALIDATOR
// in genesis, no validator yet) and "outsider" (no role).
func startNetwork(t *testing.T, numVals int) fixture {
	t.Helper()
	tempApp := app.New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.NewAppOptionsWithFlagHome(t.TempDir()))
	enc := moduletestutil.TestEncodingConfig{
		InterfaceRegistry: tempApp.InterfaceRegistry(),
		Codec:             tempApp.AppCodec(),
		TxConfig:          tempApp.TxConfig(),
		Amino:             tempApp.LegacyAmino(),
	}
	cdc := enc.Codec
	genesis := tempApp.DefaultGenesis()

	scratch := keyring.NewInMemory(cdc)
	mnemonics := make([]string, numVals)
	members := make([]membershiptypes.Member, 0, numVals+1)
	for i := range mnemonics {
		mnemonics[i] = newMnemonic(t)
		addr := deriveAddress(t, scratch, fmt.Sprintf("val%d", i), mnemonics[i])
		members = append(members, membershiptypes.Member{Address: addr.String(), Role: membershiptypes.Role_ROLE_VALIDATOR})
	}
	memberMnemonic, outsiderMnemonic := newMnemonic(t), newMnemonic(t)
	member := deriveAddress(t, scratch, "member", memberMnemonic)
	outsider := deriveAddress(t, scratch, "outsider", outsiderMnemonic)
	members = append(members, membershiptypes.Member{Address: member.String(), Role: membershiptypes.Role_ROLE_VALIDATOR})
	genesis[membershiptypes.ModuleName] = cdc.MustMarshalJSON(&membershiptypes.GenesisState{
		Params: membershiptypes.DefaultParams(), Members: members,
	})

	// Fund member and outsider in genesis; the network appends the validators.
	var authGen authtypes.GenesisState
	cdc.MustUnmarshalJSON(genesis[authtypes.ModuleName], &authGen)
	accs, err := authtypes.PackAccounts(authtypes.GenesisAccounts{
		authtypes.NewBaseAccount(member, nil, 0, 0), authtypes.NewBaseAccount(outsider, nil, 0, 0),
	})
	require.NoError(t, err)
	authGen.Accounts = append(authGen.Accounts, accs...)
	genesis[authtypes.ModuleName] = cdc.MustMarshalJSON(&authGen)
	var bankGen banktypes.GenesisState
	cdc.MustUnmarshalJSON(genesis[banktypes.ModuleName], &bankGen)
	funds := sdk.NewCoins(sdk.NewCoin(app.BondDenom, sdkmath.NewInt(1_000_000_000)))
	bankGen.Balances = append(bankGen.Balances,
		banktypes.Balance{Address: member.String(), Coins: funds},
		banktypes.Balance{Address: outsider.String(), Coins: funds})
	genesis[banktypes.ModuleName] = cdc.MustMarshalJSON(&bankGen)

	cfg := network.DefaultConfig(func() network.TestFixture {
		return network.TestFixture{EncodingConfig: enc, GenesisState: genesis}
	})
	cfg.NumValidators = numVals
	cfg.Mnemonics = mnemonics
	cfg.BondDenom = app.BondDenom
	cfg.MinGasPrices = "0" + app.BondDenom
	cfg.AppConstructor = func(val network.ValidatorI) servertypes.Application {
		return app.New(val.GetCtx().Logger, dbm.NewMemDB(), true, simtestutil.NewAppOptionsWithFlagHome(t.TempDir()),
			baseapp.SetPruning(pruningtypes.NewPruningOptionsFromString(val.GetAppConfig().Pruning)),
			baseapp.SetMinGasPrices(val.GetAppConfig().MinGasPrices),
			baseapp.SetChainID(cfg.ChainID),
		)
	}

	net, err := network.New(t, t.TempDir(), cfg)
	require.NoError(t, err)
	t.Cleanup(net.Cleanup)
	_, err = net.WaitForHeight(2)
	require.NoError(t, err)

	// Signing keys for the two accounts live in validator 0's client keyring.
	kr := net.Validators[0].ClientCtx.Keyring
	deriveAddress(t, kr, "member", memberMnemonic)
	deriveAddress(t, kr, "outsider", outsiderMnemonic)
	return fixture{net: net, member: member, outsider: outsider}
}

func writeValidatorJSON(t *testing.T, moniker string) string {
	t.Helper()
	body := fmt.Sprintf(`{
  "pubkey": {"@type":"/cosmos.crypto.ed25519.PubKey","key":%q},
  "amount": "5000000%s",
  "moniker": %q,
  "commission-rate": "0.1",
  "commission-max-rate": "0.2",
  "commission-max-change-rate": "0.01",
  "min-self-delegation": "1"
}`, base64.StdEncoding.EncodeToString(ed25519.GenPrivKey().PubKey().Bytes()), app.BondDenom, moniker)
	path := filepath.Join(t.TempDir(), moniker+".json")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestCreateValidatorGateOnMultiValidatorNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 2-validator in-process network")
	}
	f := startNetwork(t, 2)
	val := f.net.Validators[0]
	clientCtx := val.ClientCtx
	valCodec := clientCtx.TxConfig.SigningContext().ValidatorAddressCodec()

	createValidator := func(from, moniker string) sdk.TxResponse {
		args := []string{
			writeValidatorJSON(t, moniker),
			fmt.Sprintf("--%s=%s", flags.FlagFrom, from),
			fmt.Sprintf("--%s=true", flags.FlagSkipConfirmation),
			fmt.Sprintf("--%s=%s", flags.FlagBroadcastMode, flags.BroadcastSync),
			fmt.Sprintf("--%s=json", flags.FlagOutput),
		}
		out, err := clitestutil.ExecTestCLICmd(clientCtx, stakingcli.NewCreateValidatorCmd(valCodec), args)
		require.NoError(t, err)
		var res sdk.TxResponse
		require.NoError(t, clientCtx.Codec.UnmarshalJSON(out.Bytes(), &res), out.String())
		return res
	}

	// The outsider is refused at CheckTx with the membership error.
	res := createValidator("outsider", "outsider-node")
	require.Equal(t, membershiptypes.ModuleName, res.Codespace, res.RawLog)
	require.Equal(t, membershiptypes.ErrNotPermitted.ABCICode(), res.Code, res.RawLog)
	require.Contains(t, res.RawLog, "does not hold the validator role")
	require.Contains(t, res.RawLog, sdk.ValAddress(f.outsider).String())

	// The approved member's create-validator is committed by both validators.
	res = createValidator("member", "member-node")
	require.Zero(t, res.Code, res.RawLog)
	committed, err := clitestutil.GetTxResponse(f.net, clientCtx, res.TxHash)
	require.NoError(t, err)
	require.Zero(t, committed.Code, committed.RawLog)

	// Only validator 0 serves RPC; with two equal validators every block
	// needs both precommits, so what it reports was agreed by both.
	q := stakingtypes.NewQueryClient(clientCtx)
	got, err := q.Validator(t.Context(), &stakingtypes.QueryValidatorRequest{ValidatorAddr: sdk.ValAddress(f.member).String()})
	require.NoError(t, err)
	require.Equal(t, "member-node", got.Validator.Description.Moniker)
	_, err = q.Validator(t.Context(), &stakingtypes.QueryValidatorRequest{ValidatorAddr: sdk.ValAddress(f.outsider).String()})
	require.ErrorContains(t, err, "not found")

	// The network keeps producing blocks with the new validator in the set.
	h, err := f.net.LatestHeight()
	require.NoError(t, err)
	_, err = f.net.WaitForHeight(h + 2)
	require.NoError(t, err)
}
