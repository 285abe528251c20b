package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	codectestutil "github.com/cosmos/cosmos-sdk/codec/testutil"

	"github.com/stratusnet/stratus/x/provider/types"
)

func TestValidateEndpoint(t *testing.T) {
	for _, ok := range []string{
		"https://sp1.acme.example", "https://sp1.acme.example:8443/stratus", "https://[2001:db8::1]/",
		"http://127.0.0.1:26680", "http://127.8.9.10", "http://localhost:9000", "http://LOCALHOST", "http://[::1]:7000",
	} {
		require.NoError(t, types.ValidateEndpoint(ok, 256), ok)
	}
	for _, bad := range []string{
		"", "sp1.acme.example", "http://sp1.acme.example", "http://192.168.1.2", "http://localhost.evil.example",
		"ftp://sp1.acme.example", "https://", "https://u:p@sp1.acme.example", "https://sp1.acme.example/#x",
		"https://sp1.acme.example/?a=b", "https://sp1.acme.example/" + string(make([]byte, 300)),
	} {
		require.ErrorIs(t, types.ValidateEndpoint(bad, 256), types.ErrInvalidEndpoint, bad)
	}
}

// A negative capacity cannot reach the chain: capacities are uint64 and the
// JSON decoder refuses a negative number.
func TestNegativeCapacityDoesNotDecode(t *testing.T) {
	cdc := codectestutil.CodecOptions{}.NewCodec()
	var msg types.MsgRegisterProvider

	err := cdc.UnmarshalJSON([]byte(`{"storage_capacity":"-1"}`), &msg)

	require.Error(t, err)
	require.Zero(t, msg.StorageCapacity)
}

func TestDefaultGenesisIsValid(t *testing.T) {
	require.NoError(t, types.DefaultGenesisState().Validate())
}
