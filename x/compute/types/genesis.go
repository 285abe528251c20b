package types

import (
	errorsmod "cosmossdk.io/errors"

	"github.com/stratusnet/stratus/merkle"
)

// DefaultGenesisState has default params and no jobs.
func DefaultGenesisState() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextJobId: 1}
}

// Validate checks params, ids and references between jobs and programs.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if gs.NextJobId == 0 {
		return errorsmod.Wrap(ErrInvalidGenesis, "next_job_id must be positive")
	}
	jobs := make(map[uint64]Job, len(gs.Jobs))
	for _, j := range gs.Jobs {
		if j.Id == 0 || j.Id >= gs.NextJobId {
			return errorsmod.Wrapf(ErrInvalidGenesis, "job id %d not below next_job_id %d", j.Id, gs.NextJobId)
		}
		if _, dup := jobs[j.Id]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "duplicate job %d", j.Id)
		}
		if err := validAddress("owner", j.Owner); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "job %d: %v", j.Id, err)
		}
		if len(j.ProgramRoot) != merkle.HashSize {
			return errorsmod.Wrapf(ErrInvalidGenesis, "job %d: bad program root", j.Id)
		}
		if j.Status == JobStatus_JOB_STATUS_UNSPECIFIED || j.Status > JobStatus_JOB_STATUS_ASSIGNING {
			return errorsmod.Wrapf(ErrInvalidGenesis, "job %d: status %d", j.Id, j.Status)
		}
		if j.Status == JobStatus_JOB_STATUS_ASSIGNING && len(j.Executors) > 0 {
			return errorsmod.Wrapf(ErrInvalidGenesis, "job %d: assigning but has executors", j.Id)
		}
		if j.Escrow.IsNil() || j.Escrow.IsNegative() || (!j.Open() && !j.Escrow.IsZero()) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "job %d: escrow %s with status %s", j.Id, j.Escrow, j.Status)
		}
		seen := map[string]bool{}
		for _, e := range j.Executors {
			if err := validAddress("executor", e.Provider); err != nil {
				return errorsmod.Wrapf(ErrInvalidGenesis, "job %d: %v", j.Id, err)
			}
			if seen[e.Provider] {
				return errorsmod.Wrapf(ErrInvalidGenesis, "job %d: executor %s twice", j.Id, e.Provider)
			}
			seen[e.Provider] = true
		}
		jobs[j.Id] = j
	}
	progs := map[uint64]bool{}
	for _, p := range gs.Programs {
		j, ok := jobs[p.JobId]
		if !ok || j.ProgramDealId != 0 || progs[p.JobId] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "inline program of job %d: unknown, stored by deal, or duplicate", p.JobId)
		}
		progs[p.JobId] = true
	}
	return nil
}
