package keeper

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/x/compute/types"
	"github.com/stratusnet/stratus/x/internal/payout"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// maxPriceBits bounds a job's price so executors × price can never overflow.
const maxPriceBits = 128

// Reasons recorded when an executor is slashed.
const (
	ReasonMissedCommit = "missed_commit"
	ReasonMissedReveal = "missed_reveal"
	ReasonDissent      = "dissent"
)

// pickSeed derives an executor-pick seed from the block, the job and the round.
func pickSeed(ctx sdk.Context, jobID uint64, attempt int) []byte {
	h := sha256.New()
	h.Write([]byte("stratus/compute/pick"))
	h.Write(ctx.HeaderHash())
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], jobID)
	binary.BigEndian.PutUint64(buf[8:], uint64(attempt))
	h.Write(buf[:])
	return h.Sum(nil)
}

func liveDeal(d storagetypes.Deal) bool {
	return d.Status == storagetypes.DealStatus_DEAL_STATUS_ACTIVE
}

// SubmitJob checks the job, escrows executors × price, and assigns the
// executors. Every check happens before any write; the message server's
// error rolls back partial writes.
func (k *Keeper) SubmitJob(ctx context.Context, msg *types.MsgSubmitJob) (*types.MsgSubmitJobResponse, error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	owner, err := k.addressCodec.StringToBytes(msg.Owner)
	if err != nil {
		return nil, err
	}
	chunkSize, err := k.storage.ChunkSize(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case uint64(len(msg.Program)) > params.MaxInlineProgram:
		return nil, errorsmod.Wrapf(types.ErrInvalidProgram, "inline program of %d bytes, at most %d: store it as a deal",
			len(msg.Program), params.MaxInlineProgram)
	case uint32(len(msg.Inputs)) > params.MaxInputs:
		return nil, errorsmod.Wrapf(types.ErrInvalidInputs, "%d inputs, at most %d", len(msg.Inputs), params.MaxInputs)
	case types.ArgsBytes(msg.Args, msg.Env) > params.MaxArgsBytes:
		return nil, errorsmod.Wrapf(types.ErrInvalidArgs, "args and env of %d bytes, at most %d",
			types.ArgsBytes(msg.Args, msg.Env), params.MaxArgsBytes)
	case msg.Executors > params.MaxExecutors:
		return nil, errorsmod.Wrapf(types.ErrInvalidExecutors, "%d executors, at most %d", msg.Executors, params.MaxExecutors)
	case msg.Price.Denom != k.bondDenom:
		return nil, errorsmod.Wrapf(types.ErrInvalidPrice, "price denom %q, want %q", msg.Price.Denom, k.bondDenom)
	case msg.StoreOutput != nil && msg.StoreOutput.MaxPrice.Denom != k.bondDenom:
		return nil, errorsmod.Wrapf(types.ErrInvalidStoreOutput, "max_price denom %q, want %q", msg.StoreOutput.MaxPrice.Denom, k.bondDenom)
	}
	if err := msg.Limits.Check(params.MaxLimits); err != nil {
		return nil, err
	}
	if msg.Price.Amount.BigInt().BitLen() > maxPriceBits {
		return nil, errorsmod.Wrapf(types.ErrInvalidPrice, "price %s is absurdly large", msg.Price)
	}
	if so := msg.StoreOutput; so != nil {
		// The output deal is created when the job succeeds; its terms are
		// checked now, for the largest archive the limits allow (the
		// output plus the archive's bounded metadata), so a job is not
		// paid for only to find its output cannot be kept.
		if _, err := k.storage.CheckDealTerms(ctx, types.MaxArchiveSize(msg.Limits.MaxOutputBytes), so.Replicas, so.DurationBlocks, so.MaxPrice); err != nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidStoreOutput, "%v", err)
		}
	}

	// The program, inline or stored.
	var programRoot []byte
	var programSize uint64
	if len(msg.Program) > 0 {
		root, err := merkle.Root(msg.Program, int(chunkSize))
		if err != nil {
			return nil, err
		}
		programRoot, programSize = root[:], uint64(len(msg.Program))
	} else {
		d, err := k.readableDeal(ctx, msg.ProgramDealId, msg.Owner, types.ErrInvalidProgram, "program",
			"store the program with --public or as your own deal")
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(d.Root, msg.ProgramRoot) {
			return nil, errorsmod.Wrapf(types.ErrInvalidProgram, "program deal %d stores root %X, not %X", d.Id, d.Root, msg.ProgramRoot)
		}
		programRoot, programSize = d.Root, d.Size_
		if programSize > params.MaxProgramBytes {
			return nil, errorsmod.Wrapf(types.ErrInvalidProgram, "program deal %d holds %d bytes, at most %d (max_program_bytes)",
				d.Id, programSize, params.MaxProgramBytes)
		}
	}
	inputs := make([]types.Input, 0, len(msg.Inputs))
	inputBytes := uint64(0)
	for _, id := range msg.Inputs {
		d, err := k.readableDeal(ctx, id, msg.Owner, types.ErrInvalidInputs, "input",
			"a job may read only public deals and its owner's own")
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, types.Input{DealId: id, Root: d.Root, Size_: d.Size_})
		inputBytes += d.Size_
		if inputBytes > params.MaxInputBytes {
			return nil, errorsmod.Wrapf(types.ErrInvalidInputs, "inputs of %d bytes or more, at most %d (max_input_bytes): executors could not fetch them before the commit timeout",
				inputBytes, params.MaxInputBytes)
		}
	}
	prefer, err := k.inputHolders(ctx, inputs)
	if err != nil {
		return nil, err
	}

	fetched := inputBytes
	if msg.ProgramDealId != 0 {
		fetched += programSize
	}
	// checkDenoms keeps input_price_per_mib in the bond denom.
	inputFee := sdk.NewCoin(k.bondDenom, params.InputFee(fetched))
	escrow := sdk.NewCoin(k.bondDenom, msg.Price.Amount.Add(inputFee.Amount).MulRaw(int64(msg.Executors)))
	if have := k.bank.GetBalance(ctx, owner, k.bondDenom); have.IsLT(escrow) {
		return nil, errorsmod.Wrapf(types.ErrInsufficientFunds, "escrow %s, balance %s", escrow, have)
	}
	id, err := k.NextJobID.Next(ctx)
	if err != nil {
		return nil, err
	}
	// Only a check that enough providers are free now, for a clear error:
	// the executors are drawn at the end of the next block, from its hash.
	if _, err := k.pickExecutors(ctx, int(msg.Executors), msg.Price, prefer, pickSeed(sdkCtx, id, 0)); err != nil {
		return nil, err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, owner, types.ModuleName, sdk.NewCoins(escrow)); err != nil {
		return nil, errorsmod.Wrap(types.ErrInsufficientFunds, err.Error())
	}

	h := sdkCtx.BlockHeight()
	job := types.Job{
		Id: id, Owner: msg.Owner, ProgramRoot: programRoot, ProgramSize: programSize, ProgramDealId: msg.ProgramDealId,
		Inputs: inputs, Args: msg.Args, Env: msg.Env, Limits: msg.Limits,
		Requested: msg.Executors, Target: msg.Executors, Price: msg.Price, Escrow: escrow,
		StoreOutput: msg.StoreOutput, Status: types.JobStatus_JOB_STATUS_ASSIGNING,
		Deadline: h + 1, SubmittedHeight: h, ChunkSize: chunkSize,
		Public: msg.Public, InputFee: inputFee,
	}
	if len(msg.Program) > 0 {
		if err := k.Programs.Set(ctx, id, msg.Program); err != nil {
			return nil, err
		}
	}
	if err := k.JobsByOwner.Set(ctx, collections.Join(sdk.AccAddress(owner), id)); err != nil {
		return nil, err
	}
	if err := k.Deadlines.Set(ctx, collections.Join(job.Deadline, id)); err != nil {
		return nil, err
	}
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventJobSubmitted{
		JobId: id, Owner: msg.Owner, ProgramRoot: programRoot, Executors: msg.Executors, Escrow: escrow,
	}); err != nil {
		return nil, err
	}
	if err := k.Jobs.Set(ctx, id, job); err != nil {
		return nil, err
	}
	return &types.MsgSubmitJobResponse{JobId: id, Escrow: escrow}, nil
}

// readableDeal returns deal id when it is live and owner may have it read
// by executors: public, or owner's own. Naming another owner's private deal
// would entitle the executors to fetch its bytes and hand the job's owner
// what they computed from it. Errors are kind, about the deal's role.
func (k *Keeper) readableDeal(ctx context.Context, id uint64, owner string, kind *errorsmod.Error, role, hint string) (storagetypes.Deal, error) {
	d, err := k.storage.GetDeal(ctx, id)
	if err != nil {
		return d, errorsmod.Wrapf(kind, "%s deal: %v", role, err)
	}
	if !liveDeal(d) {
		return d, errorsmod.Wrapf(kind, "%s deal %d is %s, want ACTIVE", role, id, d.Status)
	}
	if !readableBy(d, owner) {
		return d, errorsmod.Wrapf(kind, "%s deal %d is private to %s; %s", role, id, d.Owner, hint)
	}
	return d, nil
}

// pickExecutors draws n providers with a free compute slot asking at most
// price, or reports ErrNoProviders.
func (k *Keeper) pickExecutors(ctx context.Context, n int, price sdk.Coin, prefer []sdk.AccAddress, seed []byte) ([]sdk.AccAddress, error) {
	maxPrice := price.Amount
	picked, err := k.providers.PickProviders(ctx, providertypes.PickCriteria{
		Count: n, Seed: seed, ComputeSlots: 1, MaxComputePrice: &maxPrice, Prefer: prefer,
	})
	if errors.Is(err, providertypes.ErrNotEnoughProviders) || (err == nil && len(picked) < n) {
		return nil, errorsmod.Wrapf(types.ErrNoProviders, "%d executors with a free slot at price %s: %v", n, price, err)
	}
	return picked, err
}

// assignFirst draws a job's executors at the end of the block after its
// submission. The seed is this block's hash: the owner could not know it
// when submitting, nor could the proposer of the submitting block. When
// too few providers are free (jobs drawn just before took the slots), the
// job waits for the next block, for up to commit_timeout blocks after its
// submission, and then fails with a full refund.
func (k *Keeper) assignFirst(ctx context.Context, job *types.Job, params types.Params) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	h := sdkCtx.BlockHeight()
	prefer, err := k.inputHolders(ctx, job.Inputs)
	if err != nil {
		return err
	}
	picked, err := k.pickExecutors(ctx, int(job.Requested), job.Price, prefer, pickSeed(sdkCtx, job.Id, 0))
	if errors.Is(err, types.ErrNoProviders) {
		if h < job.SubmittedHeight+int64(params.CommitTimeout) {
			return k.setDeadline(ctx, job, h+1) // wait for slots
		}
		_, err := k.close(ctx, job, types.JobStatus_JOB_STATUS_FAILED,
			fmt.Sprintf("no %d executors with a free slot at price %s within %d blocks", job.Requested, job.Price, params.CommitTimeout))
		return err
	} else if err != nil {
		return err
	}
	if err := k.setDeadline(ctx, job, h+int64(params.CommitTimeout)); err != nil {
		return err
	}
	job.Status = types.JobStatus_JOB_STATUS_COMMITTING
	for _, p := range picked {
		if err := k.assignExecutor(ctx, job, p, false); err != nil {
			return err
		}
	}
	return nil
}

// assignExecutor reserves a compute slot of provider and adds it to the job
// as ASSIGNED; the caller saves the job and has set its deadline.
func (k *Keeper) assignExecutor(ctx context.Context, job *types.Job, provider sdk.AccAddress, replacement bool) error {
	p, err := k.providers.GetProvider(ctx, provider)
	if err != nil {
		return err
	}
	if err := k.providers.ReserveComputeSlots(ctx, provider, 1); err != nil {
		return err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	job.Executors = append(job.Executors, types.Executor{
		Provider: provider.String(), Status: types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED,
		Price: p.ComputePrice, AssignedHeight: sdkCtx.BlockHeight(), Replacement: replacement,
	})
	if err := k.JobsByProvider.Set(ctx, collections.Join(provider, job.Id)); err != nil {
		return err
	}
	if err := k.OpenByProvider.Set(ctx, collections.Join(provider, job.Id)); err != nil {
		return err
	}
	return sdkCtx.EventManager().EmitTypedEvent(&types.EventExecutorAssigned{
		JobId: job.Id, Provider: provider.String(), Deadline: job.Deadline, Replacement: replacement,
	})
}

// inputHolders lists the providers holding a committed replica of the
// inputs, at most MaxPreferred: executors are drawn from them first (data
// locality; the program is small next to the inputs).
func (k *Keeper) inputHolders(ctx context.Context, inputs []types.Input) ([]sdk.AccAddress, error) {
	var prefer []sdk.AccAddress
	for _, in := range inputs {
		holders, err := k.storage.DealHolders(ctx, in.DealId)
		if err != nil {
			return nil, err
		}
		prefer = append(prefer, holders...)
	}
	return prefer[:min(len(prefer), providertypes.MaxPreferred)], nil
}

// addExecutors picks up to n more distinct executors for job (never one it
// had before) and returns how many it found.
func (k *Keeper) addExecutors(ctx context.Context, job *types.Job, n int) (int, error) {
	exclude := make([]sdk.AccAddress, 0, len(job.Executors))
	for _, e := range job.Executors {
		addr, err := k.addressCodec.StringToBytes(e.Provider)
		if err != nil {
			return 0, err
		}
		exclude = append(exclude, addr)
	}
	maxPrice := job.Price.Amount
	prefer, err := k.inputHolders(ctx, job.Inputs)
	if err != nil {
		return 0, err
	}
	// Fewer eligible providers than wanted: take as many as there are.
	var picked []sdk.AccAddress
	for ; n > 0; n-- {
		var err error
		picked, err = k.providers.PickProviders(ctx, providertypes.PickCriteria{
			Count: n, Seed: pickSeed(sdk.UnwrapSDKContext(ctx), job.Id, len(job.Executors)), ComputeSlots: 1,
			MaxComputePrice: &maxPrice, Exclude: exclude, Prefer: prefer,
		})
		if err == nil {
			break
		}
		if !errors.Is(err, providertypes.ErrNotEnoughProviders) {
			return 0, err
		}
	}
	// An executor added once results may be public could copy one (even a
	// reveal that missed its deadline was broadcast); see succeed.
	late := job.RevealsOpened
	for _, p := range picked {
		if err := k.assignExecutor(ctx, job, p, true); err != nil {
			return 0, err
		}
		job.Executors[len(job.Executors)-1].Late = late
	}
	return len(picked), nil
}

// openJobExecutor loads an open job and the index of provider's executor.
func (k *Keeper) openJobExecutor(ctx context.Context, provider sdk.AccAddress, jobID uint64) (types.Job, int, error) {
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return job, -1, err
	}
	if !job.Open() {
		return job, -1, errorsmod.Wrapf(types.ErrJobClosed, "job %d is %s", jobID, job.Status)
	}
	i := job.ExecutorIndex(provider.String())
	if i < 0 {
		return job, -1, errorsmod.Wrapf(types.ErrNotExecutor, "%s is not an executor of job %d", provider, jobID)
	}
	if sdk.UnwrapSDKContext(ctx).BlockHeight() > job.Deadline {
		return job, -1, errorsmod.Wrapf(types.ErrDeadlinePassed, "job %d: deadline was %d", jobID, job.Deadline)
	}
	return job, i, nil
}

// CommitResult records provider's commitment. When every executor still
// running has committed, the reveal phase opens at once.
func (k *Keeper) CommitResult(ctx context.Context, provider sdk.AccAddress, jobID uint64, commitment []byte) error {
	job, i, err := k.openJobExecutor(ctx, provider, jobID)
	if err != nil {
		return err
	}
	e := &job.Executors[i]
	switch {
	case job.Status != types.JobStatus_JOB_STATUS_COMMITTING:
		return errorsmod.Wrapf(types.ErrWrongPhase, "job %d is %s", jobID, job.Status)
	case e.Status == types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED || e.Status == types.ExecutorStatus_EXECUTOR_STATUS_REVEALED:
		return errorsmod.Wrapf(types.ErrAlreadyCommitted, "job %d", jobID)
	case e.Status != types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED:
		return errorsmod.Wrapf(types.ErrNotExecutor, "%s is %s in job %d", provider, e.Status, jobID)
	}
	e.Status = types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED
	e.Commitment = commitment
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventResultCommitted{JobId: jobID, Provider: e.Provider}); err != nil {
		return err
	}
	if count(job, types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED) == 0 {
		if err := k.enterReveal(ctx, &job); err != nil {
			return err
		}
	}
	return k.Jobs.Set(ctx, jobID, job)
}

// RevealResult opens provider's commitment. When every committed executor
// has revealed, the job is finalized at the end of this block.
func (k *Keeper) RevealResult(ctx context.Context, provider sdk.AccAddress, jobID uint64, result types.Result, salt []byte) error {
	job, i, err := k.openJobExecutor(ctx, provider, jobID)
	if err != nil {
		return err
	}
	e := &job.Executors[i]
	switch {
	case job.Status != types.JobStatus_JOB_STATUS_REVEALING:
		return errorsmod.Wrapf(types.ErrWrongPhase, "job %d is %s: reveals open once every executor committed or the commit deadline passed", jobID, job.Status)
	case e.Status == types.ExecutorStatus_EXECUTOR_STATUS_REVEALED:
		return errorsmod.Wrapf(types.ErrAlreadyRevealed, "job %d", jobID)
	case e.Status != types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED:
		return errorsmod.Wrapf(types.ErrNotExecutor, "%s is %s in job %d", provider, e.Status, jobID)
	case !bytes.Equal(types.Commitment(provider, jobID, result, salt), e.Commitment):
		return errorsmod.Wrapf(types.ErrCommitmentMismatch, "job %d", jobID)
	case result.Size_ == 0:
		return errorsmod.Wrap(types.ErrInvalidResult, "an output archive is never empty")
	case result.Size_ > types.MaxArchiveSize(job.Limits.MaxOutputBytes):
		// A colluding majority must not make the chain create an output
		// deal of any size it likes.
		return errorsmod.Wrapf(types.ErrInvalidResult, "an archive of %d bytes is beyond what max_output_bytes %d allows (%d)",
			result.Size_, job.Limits.MaxOutputBytes, types.MaxArchiveSize(job.Limits.MaxOutputBytes))
	}
	e.Status = types.ExecutorStatus_EXECUTOR_STATUS_REVEALED
	r := result
	e.Result = &r
	// Nothing left to do for it, but its slot stays reserved until judged.
	if err := k.closeFor(ctx, job.Id, e); err != nil {
		return err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventResultRevealed{JobId: jobID, Provider: e.Provider, Result: r}); err != nil {
		return err
	}
	if count(job, types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED) == 0 {
		// Everyone answered: close the phase at the end of this block.
		if err := k.setDeadline(ctx, &job, sdkCtx.BlockHeight()); err != nil {
			return err
		}
	}
	return k.Jobs.Set(ctx, jobID, job)
}

// CancelJob refunds a job nobody has committed to yet.
func (k *Keeper) CancelJob(ctx context.Context, owner string, jobID uint64) (refund, fee sdk.Coin, err error) {
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	if job.Owner != owner {
		return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrapf(types.ErrNotJobOwner, "job %d belongs to %s", jobID, job.Owner)
	}
	if !job.Open() {
		return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrapf(types.ErrJobClosed, "job %d is %s", jobID, job.Status)
	}
	for _, e := range job.Executors {
		if e.Status != types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED && e.Status != types.ExecutorStatus_EXECUTOR_STATUS_MISSED {
			return sdk.Coin{}, sdk.Coin{}, errorsmod.Wrapf(types.ErrCannotCancel, "job %d: %s is %s", jobID, e.Provider, e.Status)
		}
	}
	fee, err = k.payCancelFee(ctx, &job)
	if err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	refund, err = k.close(ctx, &job, types.JobStatus_JOB_STATUS_CANCELLED, "cancelled by the owner")
	if err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventJobCancelled{JobId: jobID, Refund: refund}); err != nil {
		return sdk.Coin{}, sdk.Coin{}, err
	}
	return refund, fee, k.Jobs.Set(ctx, jobID, job)
}

// checkDenoms refuses fees in another denom than escrows: every job would
// fail on them.
func (k *Keeper) checkDenoms(p types.Params) error {
	for name, c := range map[string]sdk.Coin{"cancel_fee": p.CancelFee, "input_price_per_mib": p.InputPricePerMib} {
		if c.IsPositive() && c.Denom != k.bondDenom {
			return errorsmod.Wrapf(types.ErrInvalidParams, "%s denom %q, want %q", name, c.Denom, k.bondDenom)
		}
	}
	return nil
}

// payCancelFee pays cancel_fee (at most the escrow) out of the job's
// escrow to the executors still assigned, split equally (the remainder to
// the first): cancelling a job they started running is not free.
func (k *Keeper) payCancelFee(ctx context.Context, job *types.Job) (sdk.Coin, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	var payees []sdk.AccAddress
	for _, e := range job.Executors {
		if e.Status == types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED {
			addr, err := k.addressCodec.StringToBytes(e.Provider)
			if err != nil {
				return sdk.Coin{}, err
			}
			payees = append(payees, addr)
		}
	}
	zero := sdk.NewCoin(k.bondDenom, math.ZeroInt())
	if len(payees) == 0 || params.CancelFee.Amount.IsNil() || !params.CancelFee.IsPositive() || params.CancelFee.Denom != k.bondDenom {
		return zero, nil
	}
	total := math.MinInt(params.CancelFee.Amount, job.Escrow.Amount)
	for i, amt := range payout.Even(total, len(payees)) {
		p := payees[i]
		if !amt.IsPositive() {
			continue
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, p, sdk.NewCoins(sdk.NewCoin(k.bondDenom, amt))); err != nil {
			return sdk.Coin{}, err
		}
	}
	fee := sdk.NewCoin(k.bondDenom, total)
	job.Escrow = job.Escrow.Sub(fee)
	return fee, nil
}

func count(job types.Job, s types.ExecutorStatus) int {
	n := 0
	for _, e := range job.Executors {
		if e.Status == s {
			n++
		}
	}
	return n
}

// setDeadline moves the job in the deadline index.
func (k *Keeper) setDeadline(ctx context.Context, job *types.Job, h int64) error {
	if err := k.Deadlines.Remove(ctx, collections.Join(job.Deadline, job.Id)); err != nil {
		return err
	}
	job.Deadline = h
	return k.Deadlines.Set(ctx, collections.Join(h, job.Id))
}

func (k *Keeper) enterReveal(ctx context.Context, job *types.Job) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	job.Status = types.JobStatus_JOB_STATUS_REVEALING
	job.RevealsOpened = true
	if err := k.setDeadline(ctx, job, sdkCtx.BlockHeight()+int64(params.RevealTimeout)); err != nil {
		return err
	}
	return sdkCtx.EventManager().EmitTypedEvent(&types.EventRevealPhase{JobId: job.Id, Deadline: job.Deadline})
}

// release frees e's compute slot and takes the job off its open list; e
// has run (revealed) or will not run (missed, cancelled).
func (k *Keeper) release(ctx context.Context, jobID uint64, e *types.Executor) error {
	if err := k.releaseSlot(ctx, e); err != nil {
		return err
	}
	return k.closeFor(ctx, jobID, e)
}

// releaseSlot frees e's compute slot. An executor holds it until the job
// has judged it, so x/provider keeps the stake of an unbonding provider at
// risk (it waits for the slots) until then; a provider that is gone anyway
// has nothing to release.
func (k *Keeper) releaseSlot(ctx context.Context, e *types.Executor) error {
	addr, err := k.addressCodec.StringToBytes(e.Provider)
	if err != nil {
		return err
	}
	if err := k.providers.ReleaseComputeSlots(ctx, addr, 1); err != nil && !errors.Is(err, providertypes.ErrProviderNotFound) {
		return err
	}
	return nil
}

// closeFor takes the job off e's list of jobs to act on.
func (k *Keeper) closeFor(ctx context.Context, jobID uint64, e *types.Executor) error {
	addr, err := k.addressCodec.StringToBytes(e.Provider)
	if err != nil {
		return err
	}
	return k.OpenByProvider.Remove(ctx, collections.Join(sdk.AccAddress(addr), jobID))
}

// fault slashes e and records why.
func (k *Keeper) fault(ctx context.Context, jobID uint64, e *types.Executor, fraction math.LegacyDec, reason string) error {
	addr, err := k.addressCodec.StringToBytes(e.Provider)
	if err != nil {
		return err
	}
	burned := math.ZeroInt()
	if fraction.IsPositive() {
		burned, err = k.providers.Slash(ctx, addr, fraction, "compute: "+reason)
		if errors.Is(err, providertypes.ErrProviderNotFound) {
			burned, err = math.ZeroInt(), nil
		}
		if err != nil {
			return err
		}
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventExecutorFaulted{
		JobId: jobID, Provider: e.Provider, Reason: reason, Burned: burned,
	})
}

// close ends an open job: every executor still holding a slot is released
// without judgement, the rest of the escrow goes back to the owner, and the
// job leaves the deadline index. The caller saves the job.
func (k *Keeper) close(ctx context.Context, job *types.Job, status types.JobStatus, reason string) (sdk.Coin, error) {
	for i := range job.Executors {
		e := &job.Executors[i]
		switch e.Status {
		case types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED, types.ExecutorStatus_EXECUTOR_STATUS_COMMITTED:
			if err := k.release(ctx, job.Id, e); err != nil {
				return sdk.Coin{}, err
			}
			e.Status = types.ExecutorStatus_EXECUTOR_STATUS_RELEASED
		case types.ExecutorStatus_EXECUTOR_STATUS_REVEALED:
			if err := k.releaseSlot(ctx, e); err != nil {
				return sdk.Coin{}, err
			}
			e.Status = types.ExecutorStatus_EXECUTOR_STATUS_RELEASED
		}
	}
	refund := job.Escrow
	if refund.IsPositive() {
		owner, err := k.addressCodec.StringToBytes(job.Owner)
		if err != nil {
			return sdk.Coin{}, err
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, owner, sdk.NewCoins(refund)); err != nil {
			return sdk.Coin{}, err
		}
	}
	job.Escrow = sdk.NewCoin(k.bondDenom, math.ZeroInt())
	if err := k.Deadlines.Remove(ctx, collections.Join(job.Deadline, job.Id)); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.Programs.Remove(ctx, job.Id); err != nil {
		return sdk.Coin{}, err
	}
	job.Status = status
	job.FinishedHeight = sdk.UnwrapSDKContext(ctx).BlockHeight()
	if reason != "" {
		job.Reason = reason
	}
	return refund, nil
}

// readableBy says whether a job submitted by owner may read deal d: a
// public deal, or one of the owner's own.
func readableBy(d storagetypes.Deal, owner string) bool {
	return d.Public || d.Owner == owner
}
