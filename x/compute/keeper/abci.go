package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/compute/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// EndBlocker closes the phases that are due at this height: work in
// proportion to the jobs whose deadline it is, never to the number of jobs.
func (k *Keeper) EndBlocker(ctx context.Context) error {
	h := sdk.UnwrapSDKContext(ctx).BlockHeight()
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	var due []uint64
	rng := new(collections.Range[collections.Pair[int64, uint64]]).EndExclusive(collections.Join(h+1, uint64(0)))
	if err := k.Deadlines.Walk(ctx, rng, func(key collections.Pair[int64, uint64]) (bool, error) {
		due = append(due, key.K2())
		return false, nil
	}); err != nil {
		return err
	}
	for _, id := range due {
		job, err := k.GetJob(ctx, id)
		if err != nil {
			return err
		}
		switch job.Status {
		case types.JobStatus_JOB_STATUS_COMMITTING:
			err = k.closeCommit(ctx, &job, params)
		case types.JobStatus_JOB_STATUS_REVEALING:
			err = k.closeReveal(ctx, &job, params)
		default:
			return fmt.Errorf("job %d is %s but has a deadline", id, job.Status)
		}
		if err != nil {
			return err
		}
		if err := k.Jobs.Set(ctx, id, job); err != nil {
			return err
		}
	}
	return nil
}

// miss slashes every executor in status from and marks it MISSED.
func (k *Keeper) miss(ctx context.Context, job *types.Job, from types.ExecutorStatus, fraction math.LegacyDec, reason string) (int, error) {
	n := 0
	for i := range job.Executors {
		e := &job.Executors[i]
		if e.Status != from {
			continue
		}
		if err := k.release(ctx, job.Id, e); err != nil {
			return n, err
		}
		e.Status = types.ExecutorStatus_EXECUTOR_STATUS_MISSED
		if err := k.fault(ctx, job.Id, e, fraction, reason); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// closeCommit ends a commit phase at its deadline: executors that did not
// commit are slashed and replaced while retries last.
func (k *Keeper) closeCommit(ctx context.Context, job *types.Job, params types.Params) error {
	missed, err := k.miss(ctx, job, types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED, params.SlashMissed, ReasonMissedCommit)
	if err != nil {
		return err
	}
	if added, err := k.replace(ctx, job, missed, params); err != nil || added > 0 {
		return err
	}
	if count(*job, types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED) > 0 {
		return k.enterReveal(ctx, job)
	}
	return k.tally(ctx, job, params)
}

// closeReveal ends a reveal phase: executors that committed but did not
// reveal are slashed, then the results are tallied.
func (k *Keeper) closeReveal(ctx context.Context, job *types.Job, params types.Params) error {
	if _, err := k.miss(ctx, job, types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED, params.SlashMissed, ReasonMissedReveal); err != nil {
		return err
	}
	return k.tally(ctx, job, params)
}

// replace assigns up to n replacement executors while retries last, and
// when it assigned any, starts a new commit phase.
func (k *Keeper) replace(ctx context.Context, job *types.Job, n int, params types.Params) (int, error) {
	n = min(n, int(params.MaxRetries)-int(job.Retries))
	if n <= 0 {
		return 0, nil
	}
	if err := k.setDeadline(ctx, job, sdk.UnwrapSDKContext(ctx).BlockHeight()+int64(params.CommitTimeout)); err != nil {
		return 0, err
	}
	added, err := k.addExecutors(ctx, job, n)
	if err != nil {
		return 0, err
	}
	job.Retries += uint32(added)
	if added > 0 {
		job.Status = types.JobStatus_JOB_STATUS_COMMITTING
	}
	return added, nil
}

// tally judges the revealed results. A result revealed by more than half
// of the target wins. Without one, missing executors are replaced while
// retries last; a split grows the target by one up to max_executors; and
// otherwise the job fails and the owner is refunded.
func (k *Keeper) tally(ctx context.Context, job *types.Job, params types.Params) error {
	counts := map[string]int{}
	best, bestKey, alive := 0, "", 0
	for _, e := range job.Executors {
		if e.Status != types.ExecutorStatus_EXECUTOR_STATUS_REVEALED {
			continue
		}
		alive++
		key := e.Result.Key()
		counts[key]++
		if counts[key] > best {
			best, bestKey = counts[key], key
		}
	}
	if 2*best > int(job.Target) {
		return k.succeed(ctx, job, bestKey, params)
	}
	if missing := int(job.Target) - alive; missing > 0 {
		if added, err := k.replace(ctx, job, missing, params); err != nil || added > 0 {
			return err
		}
	}
	if len(counts) >= 2 && job.Target < params.MaxExecutors {
		job.Target++
		if err := k.setDeadline(ctx, job, sdk.UnwrapSDKContext(ctx).BlockHeight()+int64(params.CommitTimeout)); err != nil {
			return err
		}
		added, err := k.addExecutors(ctx, job, 1)
		if err != nil {
			return err
		}
		if added > 0 {
			job.Status = types.JobStatus_JOB_STATUS_COMMITTING
			return nil
		}
		job.Target--
	}
	reason := fmt.Sprintf("no majority: %d of %d executors agree", best, job.Target)
	refund, err := k.close(ctx, job, types.JobStatus_JOB_STATUS_FAILED, reason)
	if err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventJobFinalized{
		JobId: job.Id, Status: job.Status, Paid: sdk.NewCoin(k.bondDenom, math.ZeroInt()), Refund: refund, Reason: reason,
	})
}

// succeed pays the executors that revealed the winning result, slashes the
// ones that revealed another, refunds the rest and stores the output if asked.
func (k *Keeper) succeed(ctx context.Context, job *types.Job, winner string, params types.Params) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	paid := sdk.NewCoin(k.bondDenom, math.ZeroInt())
	var winners []string
	var holders []sdk.AccAddress
	for i := range job.Executors {
		e := &job.Executors[i]
		if e.Status != types.ExecutorStatus_EXECUTOR_STATUS_REVEALED {
			continue
		}
		if e.Result.Key() != winner {
			e.Status = types.ExecutorStatus_EXECUTOR_STATUS_DISSENTED
			if err := k.fault(ctx, job.Id, e, params.SlashDissent, ReasonDissent); err != nil {
				return err
			}
			continue
		}
		e.Status = types.ExecutorStatus_EXECUTOR_STATUS_AGREED
		addr, err := k.addressCodec.StringToBytes(e.Provider)
		if err != nil {
			return err
		}
		winners = append(winners, e.Provider)
		holders = append(holders, addr)
		pay := sdk.NewCoin(k.bondDenom, math.MinInt(e.Price.Amount, job.Escrow.Amount))
		if pay.IsPositive() {
			if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, addr, sdk.NewCoins(pay)); err != nil {
				return err
			}
			job.Escrow = job.Escrow.Sub(pay)
			paid = paid.Add(pay)
		}
		if job.Result == nil {
			r := *e.Result
			job.Result = &r
		}
	}
	refund, err := k.close(ctx, job, types.JobStatus_JOB_STATUS_SUCCEEDED, "")
	if err != nil {
		return err
	}
	if so := job.StoreOutput; so != nil {
		k.storeOutput(ctx, job, holders)
	}
	return sdkCtx.EventManager().EmitTypedEvent(&types.EventJobFinalized{
		JobId: job.Id, Status: job.Status, Result: job.Result, Winners: winners, Paid: paid, Refund: refund,
		OutputDealId: job.OutputDealId, Reason: job.Reason,
	})
}

// storeOutput creates the output deal, paid by the owner, with the winners
// as its first replicas. It is all or nothing: if the owner cannot pay or
// no winner can hold it, nothing is written and the job records why.
func (k *Keeper) storeOutput(ctx context.Context, job *types.Job, holders []sdk.AccAddress) {
	so := job.StoreOutput
	cacheCtx, write := sdk.UnwrapSDKContext(ctx).CacheContext()
	resp, err := k.storage.CreateDealWithHolders(cacheCtx, &storagetypes.MsgCreateDeal{
		Owner: job.Owner, Root: job.Result.OutputRoot, Size_: job.Result.Size_, Replicas: so.Replicas,
		DurationBlocks: so.DurationBlocks, MaxPrice: so.MaxPrice,
	}, holders)
	if err != nil {
		job.Reason = "output not stored: " + err.Error()
		k.Logger(ctx).Info("job output not stored", "job", job.Id, "err", err)
		return
	}
	write()
	job.OutputDealId = resp.DealId
}
