package payout_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/stratusnet/stratus/x/internal/payout"
)

func TestEvenAddsUpAndGivesTheRemainderToTheFirst(t *testing.T) {
	for _, tc := range []struct {
		total int64
		n     int
		want  []int64
	}{
		{9_001, 2, []int64{4_501, 4_500}},
		{10, 3, []int64{4, 3, 3}},
		{2, 5, []int64{2, 0, 0, 0, 0}},
		{0, 2, []int64{0, 0}},
	} {
		got := payout.Even(math.NewInt(tc.total), tc.n)
		require.Len(t, got, tc.n)
		sum := math.ZeroInt()
		for i, g := range got {
			require.Equal(t, tc.want[i], g.Int64())
			sum = sum.Add(g)
		}
		require.Equal(t, tc.total, sum.Int64())
	}
	require.Nil(t, payout.Even(math.NewInt(5), 0))
}
