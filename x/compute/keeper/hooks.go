package keeper

import (
	"context"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/compute/types"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
)

// ReasonProviderDeactivated is recorded for an executor whose provider
// stopped taking work before it committed.
const ReasonProviderDeactivated = "provider_deactivated"

// ProviderHooks returns the hooks x/provider calls.
func (k *Keeper) ProviderHooks() providertypes.ProviderHooks { return providerHooks{k} }

type providerHooks struct{ k *Keeper }

// AfterProviderDeactivated takes a provider that stopped taking work
// (unbonding, or its role revoked) off the jobs it has not committed to yet,
// without slashing, and replaces it while the job's retries last. Jobs it has
// committed to it may still reveal. The work is proportional to that
// provider's open jobs.
func (h providerHooks) AfterProviderDeactivated(ctx context.Context, addr sdk.AccAddress) error {
	var ids []uint64
	if err := h.k.OpenByProvider.Walk(ctx, collections.NewPrefixedPairRange[sdk.AccAddress, uint64](addr),
		func(key JobRef) (bool, error) {
			ids = append(ids, key.K2())
			return false, nil
		}); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	params, err := h.k.Params.Get(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		job, err := h.k.GetJob(ctx, id)
		if err != nil {
			return err
		}
		i := job.ExecutorIndex(addr.String())
		if i < 0 || job.Status != types.JobStatus_JOB_STATUS_COMMITTING ||
			job.Executors[i].Status != types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED {
			continue
		}
		e := &job.Executors[i]
		if err := h.k.release(ctx, id, e); err != nil {
			return err
		}
		e.Status = types.ExecutorStatus_EXECUTOR_STATUS_MISSED
		if err := h.k.fault(ctx, id, e, math.LegacyZeroDec(), ReasonProviderDeactivated); err != nil {
			return err
		}
		if added, err := h.k.replace(ctx, &job, 1, params); err != nil {
			return err
		} else if added == 0 && count(job, types.ExecutorStatus_EXECUTOR_STATUS_ASSIGNED) == 0 {
			// Nobody left to wait for: let this block's EndBlocker close the
			// commit phase, where settling is guarded, rather than inside
			// the provider's transaction.
			if err := h.k.setDeadline(ctx, &job, sdk.UnwrapSDKContext(ctx).BlockHeight()); err != nil {
				return err
			}
		}
		if err := h.k.Jobs.Set(ctx, id, job); err != nil {
			return err
		}
	}
	return nil
}
