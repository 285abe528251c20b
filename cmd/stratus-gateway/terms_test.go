package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/client"
	"github.com/stratusnet/stratus/gateway"
)

// The gateway uploads parity shards itself unless told not to (ADR 015),
// and a bucket's terms change the code, never that choice.
func TestGatewayUploadsParityByDefault(t *testing.T) {
	require.Equal(t, "true", rootCmd().Flags().Lookup("direct").DefValue)

	s := sdkStorage{opts: client.PutOptions{Direct: true, DataShards: 6, ParityShards: 3, Duration: 100}}
	o, err := s.options(gateway.PutTerms{DataShards: 4, ParityShards: 2, Label: []byte("l")})
	require.NoError(t, err)
	require.True(t, o.Direct)
	require.Equal(t, []uint32{0, 4, 2}, []uint32{o.Replicas, o.DataShards, o.ParityShards})
	require.Equal(t, []byte("l"), o.Label)

	o, err = s.options(gateway.PutTerms{Replicas: 3})
	require.NoError(t, err)
	require.Equal(t, []uint32{3, 0, 0}, []uint32{o.Replicas, o.DataShards, o.ParityShards})

	_, err = s.options(gateway.PutTerms{MaxPrice: "lots"})
	require.Error(t, err)

	// What a put stages grows with the code's overhead.
	require.Greater(t, s.Staging(1<<20, gateway.PutTerms{DataShards: 4, ParityShards: 4}), s.Staging(1<<20, gateway.PutTerms{Replicas: 3}))
}
