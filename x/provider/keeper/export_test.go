package keeper

import (
	"context"

	"cosmossdk.io/math"
)

// TreeFind exposes treeFind (no masked slots) to the tests.
func (k *Keeper) TreeFind(ctx context.Context, r math.Int) (uint64, error) {
	_, n, err := k.treeTotal(ctx)
	if err != nil {
		return 0, err
	}
	return k.treeFind(ctx, n, r, nil)
}
