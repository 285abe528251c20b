// Package payout splits an amount among several payees exactly: the shares
// add up to the amount, so module accounts stay conserved.
package payout

import "cosmossdk.io/math"

// Even splits total into n shares as equal as integers allow, the remainder
// to the first. It returns nil for n < 1.
func Even(total math.Int, n int) []math.Int {
	if n < 1 {
		return nil
	}
	share := total.QuoRaw(int64(n))
	out := make([]math.Int, n)
	for i := range out {
		out[i] = share
	}
	out[0] = out[0].Add(total.Sub(share.MulRaw(int64(n))))
	return out
}
