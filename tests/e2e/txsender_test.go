package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/stratusnet/stratus/chainctx"
	"github.com/stratusnet/stratus/client"
	"github.com/stratusnet/stratus/testutil/localnet"
)

// One TxSender used from many goroutines keeps the sequence itself:
// concurrent transactions all land, several in one block (each used to
// wait for its block before the next was signed), and a transaction sent
// behind its back (here by the CLI) only makes it resync.
func checkTxSenderPipelines(t *testing.T, ln *localnet.Net) {
	t.Helper()
	ctx := context.Background()
	cctx, txf, err := chainctx.New(chainctx.Options{
		Home: ln.ClientHome(), KeyringBackend: "test", KeyringDir: ln.ClientHome(), Key: "alice",
		Node: fmt.Sprintf("tcp://127.0.0.1:%d", ln.RPCPort(0)), ChainID: "stratus-local", GasPrices: "0ustrat", GasAdjustment: 1.5,
	})
	require.NoError(t, err)
	sender := client.NewTxSender(cctx, txf)
	to := ln.Address("val0")
	send := func() (*sdk.TxResponse, error) {
		return sender.Send(ctx, banktypes.NewMsgSend(cctx.FromAddress, sdk.MustAccAddressFromBech32(to), sdk.NewCoins(sdk.NewInt64Coin("ustrat", 1))))
	}
	const n = 12
	heights := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := send()
			errs[i] = err
			if err == nil {
				heights[i] = res.Height
			}
		})
	}
	wg.Wait()
	blocks := map[int64]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		blocks[heights[i]] = true
	}
	require.Less(t, len(blocks), n, "%d concurrent transactions took a block each: %v", n, heights)

	res := ln.Tx("bank", "send", "alice", to, "1ustrat", "--from", "alice")
	require.EqualValues(t, 0, res["code"], res)
	_, err = send()
	require.NoError(t, err, "a sequence moved by another sender is resynced")
}
