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
	var due []collections.Pair[int64, uint64]
	rng := new(collections.Range[collections.Pair[int64, uint64]]).EndExclusive(collections.Join(h+1, uint64(0)))
	if err := k.Deadlines.Walk(ctx, rng, func(key collections.Pair[int64, uint64]) (bool, error) {
		due = append(due, key)
		return false, nil
	}); err != nil {
		return err
	}
	for _, key := range due {
		id := key.K2()
		// One job's failure must never halt the chain: each is closed in its
		// own cache, and a job that cannot be closed is failed and refunded.
		sdkCtx := sdk.UnwrapSDKContext(ctx)
		cacheCtx, write := sdkCtx.CacheContext()
		if err := k.closePhase(cacheCtx, id, params); err != nil {
			k.Logger(ctx).Error("closing a job's phase failed; failing the job", "job", id, "err", err)
			cacheCtx, write = sdkCtx.CacheContext()
			if err := k.forceFail(cacheCtx, id, fmt.Sprintf("internal error: %v", err)); err != nil {
				k.Logger(ctx).Error("failing the job failed; dropping its deadline", "job", id, "err", err)
				if err := k.Deadlines.Remove(ctx, key); err != nil {
					return err
				}
				continue
			}
		}
		write()
	}
	return nil
}

// closePhase closes the phase of job id that ends at this height.
func (k *Keeper) closePhase(ctx context.Context, id uint64, params types.Params) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	job, err := k.GetJob(ctx, id)
	if err != nil {
		return err
	}
	switch job.Status {
	case types.JobStatus_JOB_STATUS_ASSIGNING:
		err = k.assignFirst(ctx, &job, params)
	case types.JobStatus_JOB_STATUS_COMMITTING:
		err = k.closeCommit(ctx, &job, params)
	case types.JobStatus_JOB_STATUS_REVEALING:
		err = k.closeReveal(ctx, &job, params)
	default:
		err = fmt.Errorf("job %d is %s but has a deadline", id, job.Status)
	}
	if err != nil {
		return err
	}
	return k.Jobs.Set(ctx, id, job)
}

// forceFail ends job id FAILED with a full refund, judging nobody.
func (k *Keeper) forceFail(ctx context.Context, id uint64, reason string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	job, err := k.GetJob(ctx, id)
	if err != nil {
		return err
	}
	if !job.Open() {
		// Already ended: only a stale deadline entry is left.
		return k.Deadlines.Remove(ctx, collections.Join(job.Deadline, id))
	}
	refund, err := k.close(ctx, &job, types.JobStatus_JOB_STATUS_FAILED, reason)
	if err != nil {
		return err
	}
	if err := k.Jobs.Set(ctx, id, job); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventJobFinalized{
		JobId: id, Status: job.Status, Paid: sdk.NewCoin(k.bondDenom, math.ZeroInt()), Refund: refund, Reason: reason,
	})
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
// commit are slashed and replaced while retries last. When no executor of
// the job has committed at all, nobody is slashed: the job may be one that
// cannot run (its program or inputs unreachable, as an owner who controls
// their holders can arrange), and honest executors must not pay for it.
func (k *Keeper) closeCommit(ctx context.Context, job *types.Job, params types.Params) error {
	fraction := params.SlashMissed
	if count(*job, types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED)+count(*job, types.ExecutorStatus_EXECUTOR_STATUS_REVEALED) == 0 {
		fraction = math.LegacyZeroDec()
	}
	missed, err := k.miss(ctx, job, types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED, fraction, ReasonMissedCommit)
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
	// The new executors' deadline is set first (their events carry it) and
	// put back if nobody could be found.
	before := job.Deadline
	if err := k.setDeadline(ctx, job, sdk.UnwrapSDKContext(ctx).BlockHeight()+int64(params.CommitTimeout)); err != nil {
		return 0, err
	}
	added, err := k.addExecutors(ctx, job, n)
	if err != nil {
		return 0, err
	}
	if added == 0 {
		return 0, k.setDeadline(ctx, job, before)
	}
	job.Retries += uint32(added)
	job.Status = types.JobStatus_JOB_STATUS_COMMITTING
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
		before := job.Deadline
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
		if err := k.setDeadline(ctx, job, before); err != nil {
			return err
		}
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

// succeed pays the executors that revealed the winning result and refunds
// the rest. The others that revealed are slashed as dissenters only when the
// executors that could not have seen any result before committing (not
// late) form a strict majority of the requested count on their own:
// otherwise the verdict rests on executors that might have copied, and
// nobody is provably wrong, so they are released unpaid instead.
func (k *Keeper) succeed(ctx context.Context, job *types.Job, winner string, params types.Params) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	var winners []string
	var holders []sdk.AccAddress
	var prices []math.Int
	total, blind := math.ZeroInt(), 0
	for _, e := range job.Executors {
		if e.Status == types.ExecutorStatus_EXECUTOR_STATUS_REVEALED && e.Result.Key() == winner {
			total = total.Add(e.Price.Amount).Add(job.InputFeeAmount())
			if !e.Late {
				blind++
			}
		}
	}
	provable := 2*blind > int(job.Requested)
	// Winners are paid their own price plus the input fee; when splits
	// brought more winners than the escrow covers, they share it in
	// proportion.
	escrow := job.Escrow.Amount
	paid := sdk.NewCoin(k.bondDenom, math.ZeroInt())
	for i := range job.Executors {
		e := &job.Executors[i]
		if e.Status != types.ExecutorStatus_EXECUTOR_STATUS_REVEALED {
			continue
		}
		if err := k.releaseSlot(ctx, e); err != nil {
			return err
		}
		if e.Result.Key() != winner {
			// A run stopped by a limit (wall-clock time, memory, output) is
			// not provably wrong: a slower or differently loaded honest
			// executor can hit the limit where others did not.
			if !provable || types.ResourceLimited(e.Result.Verdict) {
				e.Status = types.ExecutorStatus_EXECUTOR_STATUS_RELEASED
				continue
			}
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
		share := e.Price.Amount.Add(job.InputFeeAmount())
		if total.GT(escrow) {
			share = share.Mul(escrow).Quo(total)
		}
		prices = append(prices, share)
		if job.Result == nil {
			r := *e.Result
			job.Result = &r
		}
	}
	for i, addr := range holders {
		pay := sdk.NewCoin(k.bondDenom, math.MinInt(prices[i], job.Escrow.Amount))
		if !pay.IsPositive() {
			continue
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, addr, sdk.NewCoins(pay)); err != nil {
			return err
		}
		job.Escrow = job.Escrow.Sub(pay)
		paid = paid.Add(pay)
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
	resp, err := func() (resp *storagetypes.MsgCreateDealResponse, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		// The holders' archive was hashed with the job's chunk size: the
		// deal is proven with it, whatever chunk_size is now.
		return k.storage.CreateDealWithHolders(cacheCtx, &storagetypes.MsgCreateDeal{
			Owner: job.Owner, Root: job.Result.OutputRoot, Size_: job.Result.Size_, Replicas: so.Replicas,
			DurationBlocks: so.DurationBlocks, MaxPrice: so.MaxPrice, Public: job.Public,
		}, holders, job.ChunkSize)
	}()
	if err != nil {
		job.Reason = "output not stored: " + err.Error()
		k.Logger(ctx).Info("job output not stored", "job", job.Id, "err", err)
		return
	}
	write()
	job.OutputDealId = resp.DealId
}
