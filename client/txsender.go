package client

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
)

// TxError is a transaction the chain refused (at CheckTx or in its block).
type TxError struct {
	Hash      string
	Codespace string
	Code      uint32
	Log       string
}

func (e *TxError) Error() string {
	if e.Hash == "" {
		return "the chain refused the transaction in simulation: " + e.Log
	}
	return fmt.Sprintf("transaction %s failed: %s code %d: %s", e.Hash, e.Codespace, e.Code, e.Log)
}

// ErrTxTimeout is returned when a broadcast tx is not seen in a block in time.
var ErrTxTimeout = errors.New("transaction not committed in time")

// TxSender signs with one key and sends transactions from many
// goroutines: it signs and broadcasts one at a time, keeping the account
// sequence itself (so transactions waiting in the mempool do not collide),
// and each caller then waits for its own transaction's block. Many
// transactions thus land in one block.
type TxSender struct {
	mu        sync.Mutex
	clientCtx sdkclient.Context
	factory   tx.Factory
	// Timeout bounds the wait for a block including the tx.
	Timeout time.Duration

	// accNum and seq sign the next transaction, once synced from the
	// chain; a sequence mismatch resyncs them.
	synced      bool
	accNum, seq uint64
}

// NewTxSender uses clientCtx (keyring, from address, node client, chain id,
// tx config) and factory (gas, fees); gas is estimated by simulation with
// the factory's adjustment unless the factory fixes it.
func NewTxSender(clientCtx sdkclient.Context, factory tx.Factory) *TxSender {
	return &TxSender{clientCtx: clientCtx, factory: factory, Timeout: 45 * time.Second}
}

// From is the signer's address.
func (s *TxSender) From() sdk.AccAddress { return s.clientCtx.FromAddress }

// Send signs msgs into one tx, broadcasts it and waits for its result.
func (s *TxSender) Send(ctx context.Context, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	hash, res, err := s.broadcast(ctx, msgs...)
	if err != nil {
		return res, err
	}
	return s.wait(ctx, hash)
}

// broadcast signs msgs with the next sequence and hands them to the
// node's mempool; it returns once the node accepted them (CheckTx).
func (s *TxSender) broadcast(ctx context.Context, msgs ...sdk.Msg) (string, *sdk.TxResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	cctx := s.clientCtx.WithCmdContext(ctx)
	for attempt := 0; ; attempt++ {
		if !s.synced {
			txf, err := s.factory.WithAccountNumber(0).WithSequence(0).Prepare(cctx)
			if err != nil {
				return "", nil, fmt.Errorf("preparing tx: %w", err)
			}
			s.accNum, s.seq, s.synced = txf.AccountNumber(), txf.Sequence(), true
		}
		txf := s.factory.WithAccountNumber(s.accNum).WithSequence(s.seq)
		if txf.SimulateAndExecute() {
			_, gas, err := tx.CalculateGas(cctx, txf, msgs...)
			if err != nil {
				if s.resync(err.Error()) && attempt < 3 {
					continue
				}
				return "", nil, simulationError(err)
			}
			txf = txf.WithGas(gas)
		}
		unsigned, err := txf.BuildUnsignedTx(msgs...)
		if err != nil {
			return "", nil, err
		}
		if err := tx.Sign(ctx, txf, cctx.FromName, unsigned, true); err != nil {
			return "", nil, fmt.Errorf("signing: %w", err)
		}
		bz, err := cctx.TxConfig.TxEncoder()(unsigned.GetTx())
		if err != nil {
			return "", nil, err
		}
		res, err := cctx.BroadcastTxSync(bz)
		if err != nil {
			s.synced = false // the node may or may not have it: ask the chain
			return "", nil, fmt.Errorf("broadcasting: %w", err)
		}
		if res.Code == sdkerrors.ErrWrongSequence.ABCICode() && res.Codespace == sdkerrors.ErrWrongSequence.Codespace() &&
			s.resync(res.RawLog) && attempt < 3 {
			continue
		}
		if res.Code != 0 {
			return "", res, &TxError{Hash: res.TxHash, Codespace: res.Codespace, Code: res.Code, Log: res.RawLog}
		}
		s.seq++
		return res.TxHash, res, nil
	}
}

// mismatch is the ante handler's sequence error.
var mismatch = regexp.MustCompile(`account sequence mismatch, expected (\d+), got \d+`)

// resync takes the sequence the chain expects from a mismatch error and
// reports whether there was one.
func (s *TxSender) resync(log string) bool {
	m := mismatch.FindStringSubmatch(log)
	if m == nil {
		return false
	}
	seq, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		return false
	}
	s.seq = seq
	return true
}

// txPoll is how often a sender asks whether its tx is in a block: a
// lookup in the node's tx index, a tenth of a localnet block.
const txPoll = 100 * time.Millisecond

func (s *TxSender) wait(ctx context.Context, hash string) (*sdk.TxResponse, error) {
	deadline := time.Now().Add(s.Timeout)
	tick := time.NewTicker(txPoll)
	defer tick.Stop()
	for {
		res, err := authtx.QueryTx(s.clientCtx, hash)
		if err == nil {
			if res.Code != 0 {
				return res, &TxError{Hash: hash, Codespace: res.Codespace, Code: res.Code, Log: res.RawLog}
			}
			return res, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: %s after %s", ErrTxTimeout, hash, s.Timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// simulationError turns a failed simulation into a TxError when the chain
// refused the message, so callers see the module's error.
func simulationError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "desc = "); i >= 0 {
		msg = msg[i+len("desc = "):]
	}
	return &TxError{Log: msg}
}
