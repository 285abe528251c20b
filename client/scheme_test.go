package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseScheme(t *testing.T) {
	k, m, err := ParseScheme("6+3")
	require.NoError(t, err)
	require.Equal(t, []uint32{6, 3}, []uint32{k, m})
	k, m, err = ParseScheme("10+0")
	require.NoError(t, err)
	require.Equal(t, []uint32{10, 0}, []uint32{k, m})
	for _, bad := range []string{"", "6", "6+", "+3", "0+3", "1+2", "a+b", "200+100", "-1+2"} {
		_, _, err := ParseScheme(bad)
		require.Error(t, err, bad)
	}
	_, _, err = ParseScheme("1+2")
	require.ErrorContains(t, err, "3 replicas")
}
