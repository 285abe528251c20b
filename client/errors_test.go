package client

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExplainUnwrapsChainErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{
			"rpc error: code = NotFound desc = rpc error: code = NotFound desc = deal 999: deal not found: key not found",
			"deal 999: deal not found",
		},
		{
			"the chain refused the transaction in simulation: rpc error: code = Unknown desc = failed to execute message; message index: 0: 3 replicas at max price 1ustrat: not enough eligible providers [cosmos/cosmos-sdk@v0.54.4/baseapp/baseapp.go:1054] with gas used: '32494': unknown request",
			"the chain refused the transaction in simulation: 3 replicas at max price 1ustrat: not enough eligible providers",
		},
		{
			"creating the deal: deal 3: [/home/x/stratus/x/storage/keeper/deals.go:82] with gas used: '32494': unknown request",
			"creating the deal: deal 3",
		},
		{"a plain error", "a plain error"},
	} {
		got := Explain(errors.New(tc.in))
		require.Equal(t, tc.want, got)
		require.NotContains(t, got, ".go:")
		require.NotContains(t, got, "rpc error")
	}
}

func TestExplainTellsAnUnfundedAccountWhatToDo(t *testing.T) {
	got := Explain(errors.New("rpc error: code = NotFound desc = account stratus1abc not found: key not found"))
	require.Contains(t, got, "account stratus1abc does not exist on chain yet")
	require.Contains(t, got, "tx bank send <funded-key> stratus1abc")
}

func TestExplainTellsAnUnreachableNode(t *testing.T) {
	got := Explain(errors.New(`post failed: Post "http://127.0.0.1:26657": dial tcp 127.0.0.1:26657: connect: connection refused`))
	require.Contains(t, got, "cannot reach the node")
	require.Contains(t, got, "--node")
}

func TestExplainErrorKeepsTheCause(t *testing.T) {
	cause := &TxError{Log: "x [a/b.go:1]"}
	err := ExplainError(cause)
	require.Equal(t, "the chain refused the transaction in simulation: x", err.Error())
	var tx *TxError
	require.ErrorAs(t, err, &tx)
	require.Nil(t, ExplainError(nil))
}
