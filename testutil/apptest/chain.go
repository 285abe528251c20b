// Package apptest runs a real Stratus app in memory: genesis through
// InitChain, transactions through FinalizeBlock (ante handler, message
// servers and block ends included) and Commit. App-level tests build on it.
package apptest

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/stratusnet/stratus/app"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
)

// ChainID is the chain id of every in-memory chain.
const ChainID = "stratus-test"

// Account is a funded genesis account with its signing key.
type Account struct {
	Priv    cryptotypes.PrivKey
	Address sdk.AccAddress
}

// NewAccount makes a fresh secp256k1 account (not yet on chain).
func NewAccount() Account {
	priv := secp256k1.GenPrivKey()
	return Account{Priv: priv, Address: sdk.AccAddress(priv.PubKey().Address())}
}

// AccountFromSecret makes the secp256k1 account derived from secret: the
// same on every run, so scenarios draw the same providers every time.
func AccountFromSecret(secret string) Account {
	priv := secp256k1.GenPrivKeyFromSecret([]byte("stratus apptest: " + secret))
	return Account{Priv: priv, Address: sdk.AccAddress(priv.PubKey().Address())}
}

// Chain is an in-memory Stratus chain with one bonded validator.
type Chain struct {
	t   testing.TB
	App *app.App
	DB  dbm.DB

	// Authority is the consensus AuthorityParams authority (signs membership msgs).
	Authority Account
	// Validator is the operator account of the genesis validator (a VALIDATOR member).
	Validator Account
	// Accounts are extra funded genesis accounts, in the order asked for.
	Accounts []Account

	Height int64
	Time   time.Time
	// NextHash, when set, is the next block's hash (what a proposer's
	// choices decide), then cleared; otherwise blocks have no hash.
	NextHash []byte

	valSet *cmttypes.ValidatorSet
}

// Options adjust the genesis.
type Options struct {
	// ExtraAccounts funded accounts to create.
	ExtraAccounts int
	// Members are extra membership grants by account index (into Accounts).
	Members map[int]membershiptypes.Role
	// Funds per account, in ustrat (default 10^12).
	Funds int64
}

// New starts a chain at height 1 (genesis applied, one block committed).
func New(t testing.TB, opts Options) *Chain {
	t.Helper()
	if opts.Funds == 0 {
		opts.Funds = 1_000_000_000_000
	}
	db := dbm.NewMemDB()
	a := app.New(log.NewNopLogger(), db, true, simtestutil.NewAppOptionsWithFlagHome(t.TempDir()),
		baseapp.SetChainID(ChainID))

	c := &Chain{t: t, App: a, DB: db, Authority: AccountFromSecret("authority"), Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i := range opts.ExtraAccounts {
		c.Accounts = append(c.Accounts, AccountFromSecret(fmt.Sprintf("account %d", i)))
	}

	valSet, err := simtestutil.CreateRandomValidatorSet()
	require.NoError(t, err)
	// The validator's operator account is the account whose bytes are the
	// validator address (GenesisStateWithValSet's convention).
	c.Validator = Account{Address: sdk.AccAddress(valSet.Validators[0].Address)}

	all := append([]Account{c.Authority}, c.Accounts...)
	genAccs := make([]authtypes.GenesisAccount, 0, len(all))
	balances := make([]banktypes.Balance, 0, len(all))
	for _, acc := range all {
		genAccs = append(genAccs, authtypes.NewBaseAccount(acc.Address, acc.Priv.PubKey(), 0, 0))
		balances = append(balances, banktypes.Balance{
			Address: acc.Address.String(),
			Coins:   sdk.NewCoins(sdk.NewCoin(app.BondDenom, sdkmath.NewInt(opts.Funds))),
		})
	}
	gs, err := simtestutil.GenesisStateWithValSet(a.AppCodec(), a.DefaultGenesis(), valSet, genAccs, balances...)
	require.NoError(t, err)

	members := []membershiptypes.Member{{Address: c.Validator.Address.String(), Role: membershiptypes.Role_ROLE_VALIDATOR}}
	for i, role := range opts.Members {
		members = append(members, membershiptypes.Member{Address: c.Accounts[i].Address.String(), Role: role})
	}
	gs[membershiptypes.ModuleName] = a.AppCodec().MustMarshalJSON(&membershiptypes.GenesisState{
		Params: membershiptypes.DefaultParams(), Members: members,
	})
	appState, err := json.Marshal(gs)
	require.NoError(t, err)

	cp := *simtestutil.DefaultConsensusParams
	cp.Authority = &cmtproto.AuthorityParams{Authority: c.Authority.Address.String()}
	_, err = a.InitChain(&abci.RequestInitChain{
		ChainId:         ChainID,
		Validators:      []abci.ValidatorUpdate{},
		ConsensusParams: &cp,
		AppStateBytes:   appState,
		InitialHeight:   1,
		Time:            c.Time,
	})
	require.NoError(t, err)
	c.valSet = valSet
	c.NextBlock()
	return c
}

// NextBlock finalizes and commits a block with txs, returning their results.
func (c *Chain) NextBlock(txs ...[]byte) []*abci.ExecTxResult {
	c.t.Helper()
	c.Height++
	c.Time = c.Time.Add(time.Second)
	res, err := c.App.FinalizeBlock(&abci.RequestFinalizeBlock{
		Height:             c.Height,
		Time:               c.Time,
		Txs:                txs,
		NextValidatorsHash: c.valSet.Hash(),
		ProposerAddress:    c.valSet.Proposer.Address,
		Hash:               c.NextHash,
	})
	c.NextHash = nil
	require.NoError(c.t, err)
	_, err = c.App.Commit()
	require.NoError(c.t, err)
	return res.TxResults
}

// Ctx is a read context on the last committed state.
func (c *Chain) Ctx() sdk.Context {
	return c.App.NewContextLegacy(true, cmtproto.Header{Height: c.Height, Time: c.Time, ChainID: ChainID})
}

// DeliverTx signs msgs with signer, puts them in the next block and returns
// the transaction's result.
func (c *Chain) DeliverTx(signer Account, msgs ...sdk.Msg) *abci.ExecTxResult {
	c.t.Helper()
	acc := c.App.AccountKeeper.GetAccount(c.Ctx(), signer.Address)
	require.NotNil(c.t, acc, "signer %s has no account", signer.Address)
	tx, err := simtestutil.GenSignedMockTx(rand.New(rand.NewSource(c.Height)), c.App.TxConfig(), msgs,
		sdk.NewCoins(), 2_000_000, ChainID, []uint64{acc.GetAccountNumber()}, []uint64{acc.GetSequence()}, signer.Priv)
	require.NoError(c.t, err)
	bz, err := c.App.TxConfig().TxEncoder()(tx)
	require.NoError(c.t, err)
	return c.NextBlock(bz)[0]
}

// Exec runs fn on the working state at the next block's height, as another
// module's keeper call inside that block would, then commits the block. What
// fn wrote is kept only if it returns nil. It returns fn's error.
func (c *Chain) Exec(fn func(ctx sdk.Context) error) error {
	c.t.Helper()
	ctx := c.App.NewUncachedContext(false, cmtproto.Header{Height: c.Height + 1, Time: c.Time, ChainID: ChainID})
	cached, write := ctx.CacheContext()
	err := fn(cached)
	if err == nil {
		write()
	}
	c.NextBlock()
	return err
}

// Reimport exports the chain's state as a genesis (as `stratusd export`
// does) and starts a fresh app from it, one block in. It returns the export
// and the new app.
func (c *Chain) Reimport() (servertypes.ExportedApp, *app.App) {
	c.t.Helper()
	exported, err := c.App.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(c.t, err)
	imported := app.New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.NewAppOptionsWithFlagHome(c.t.TempDir()),
		baseapp.SetChainID(ChainID))
	cp := exported.ConsensusParams
	_, err = imported.InitChain(&abci.RequestInitChain{
		ChainId: ChainID, AppStateBytes: exported.AppState, ConsensusParams: &cp,
		InitialHeight: exported.Height, Time: c.Time,
	})
	require.NoError(c.t, err)
	_, err = imported.FinalizeBlock(&abci.RequestFinalizeBlock{Height: exported.Height, Time: c.Time})
	require.NoError(c.t, err)
	_, err = imported.Commit()
	require.NoError(c.t, err)
	return exported, imported
}
