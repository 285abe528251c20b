package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/math"

	"github.com/stratusnet/stratus/x/compute/types"
)

// EscrowInvariant checks that the module account holds exactly the sum of
// the open jobs' escrows, that finished jobs hold none, and that the
// escrow never exceeds what the owner paid. Tests call it after every scenario.
func (k *Keeper) EscrowInvariant(ctx context.Context) error {
	sum := math.ZeroInt()
	if err := k.Jobs.Walk(ctx, nil, func(_ uint64, j types.Job) (bool, error) {
		if !j.Open() && !j.Escrow.IsZero() {
			return true, fmt.Errorf("job %d is %s but holds escrow %s", j.Id, j.Status, j.Escrow)
		}
		if j.Escrow.Amount.GT(j.Price.Amount.Add(j.InputFeeAmount()).MulRaw(int64(j.Requested))) {
			return true, fmt.Errorf("job %d holds %s, more than %d × (%s + input fee %s)", j.Id, j.Escrow, j.Requested, j.Price, j.InputFee)
		}
		sum = sum.Add(j.Escrow.Amount)
		return false, nil
	}); err != nil {
		return err
	}
	bal := k.bank.GetBalance(ctx, k.ModuleAddress(), k.bondDenom)
	if !bal.Amount.Equal(sum) {
		return fmt.Errorf("%w: module holds %s, jobs escrow %s%s", types.ErrEscrowInconsistent, bal, sum, k.bondDenom)
	}
	return nil
}

// SlotsInUse counts, per provider, the executors that hold a compute slot
// (assigned, committed or revealed in an open job: not yet judged); tests
// compare it with x/provider.
func (k *Keeper) SlotsInUse(ctx context.Context) (map[string]uint64, error) {
	used := map[string]uint64{}
	err := k.Jobs.Walk(ctx, nil, func(_ uint64, j types.Job) (bool, error) {
		if !j.Open() {
			return false, nil
		}
		for _, e := range j.Executors {
			switch e.Status {
			case types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED, types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED,
				types.ExecutorStatus_EXECUTOR_STATUS_REVEALED:
				used[e.Provider]++
			}
		}
		return false, nil
	})
	return used, err
}
