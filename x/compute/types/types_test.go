package types_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/x/compute/types"
)

const addr = "cosmos1qyqszqgpqyqszqgpqyqszqgpqyqszqgpjnp7du"

func TestParamsValidate(t *testing.T) {
	require.NoError(t, types.DefaultParams().Validate())
	for name, edit := range map[string]func(p *types.Params){
		"no executors":        func(p *types.Params) { p.MaxExecutors = 0 },
		"too many executors":  func(p *types.Params) { p.MaxExecutors = types.HardMaxExecutors + 1 },
		"zero commit timeout": func(p *types.Params) { p.CommitTimeout = 0 },
		"zero reveal timeout": func(p *types.Params) { p.RevealTimeout = 0 },
		"huge inline program": func(p *types.Params) { p.MaxInlineProgram = 5 << 20 },
		"tiny memory":         func(p *types.Params) { p.MaxLimits.MemoryBytes = 1024 },
		"slash above one":     func(p *types.Params) { p.SlashDissent = sdkmath.LegacyNewDec(2) },
		"no program bytes":    func(p *types.Params) { p.MaxProgramBytes = 0 },
		"no input bytes":      func(p *types.Params) { p.MaxInputBytes = 0 },
		"inline above max":    func(p *types.Params) { p.MaxProgramBytes = p.MaxInlineProgram - 1 },
		"negative cancel fee": func(p *types.Params) { p.CancelFee.Amount = sdkmath.NewInt(-1) },
		"negative slash":      func(p *types.Params) { p.SlashMissed = sdkmath.LegacyNewDec(-1) },
		"nil slash":           func(p *types.Params) { p.SlashMissed = sdkmath.LegacyDec{} },
		"no fuel":             func(p *types.Params) { p.MaxLimits.Fuel = 0 },
		"fuel above the max":  func(p *types.Params) { p.MaxLimits.Fuel = types.MaxFuel + 1 },
	} {
		p := types.DefaultParams()
		edit(&p)
		require.ErrorIs(t, p.Validate(), types.ErrInvalidParams, name)
	}
}

// The commitment binds every field, the provider, the job and the salt.
func TestCommitmentBindsEverything(t *testing.T) {
	r := types.Result{OutputRoot: bytes.Repeat([]byte{1}, 32), Size_: 10, ExitCode: 0, Verdict: "ok"}
	salt := bytes.Repeat([]byte{9}, 16)
	base := types.Commitment([]byte("provider"), 1, r, salt)
	require.Len(t, base, types.CommitmentSize)
	require.Equal(t, base, types.Commitment([]byte("provider"), 1, r, salt))
	variants := [][]byte{
		types.Commitment([]byte("provider2"), 1, r, salt),
		types.Commitment([]byte("provider"), 2, r, salt),
		types.Commitment([]byte("provider"), 1, types.Result{OutputRoot: r.OutputRoot, Size_: 11}, salt),
		types.Commitment([]byte("provider"), 1, types.Result{OutputRoot: r.OutputRoot, Size_: 10, ExitCode: 1}, salt),
		types.Commitment([]byte("provider"), 1, types.Result{OutputRoot: bytes.Repeat([]byte{2}, 32), Size_: 10}, salt),
		types.Commitment([]byte("provider"), 1, r, bytes.Repeat([]byte{8}, 16)),
		types.Commitment([]byte("provider"), 1, types.Result{OutputRoot: r.OutputRoot, Size_: 10, Verdict: "timeout"}, salt),
	}
	for i, v := range variants {
		require.NotEqual(t, base, v, "variant %d", i)
	}
}

func TestMsgSubmitJobValidateBasic(t *testing.T) {
	good := func() *types.MsgSubmitJob {
		return &types.MsgSubmitJob{
			Owner: addr, Program: []byte{0, 'a', 's', 'm'}, Inputs: []uint64{1, 2}, Env: []string{"A=b"},
			Limits:    types.Limits{MemoryBytes: 1 << 20, TimeoutMs: 1000, MaxOutputBytes: 1 << 20, Fuel: 1 << 30},
			Executors: 2, Price: sdk.NewInt64Coin("ustrat", 10),
		}
	}
	require.NoError(t, good().ValidateBasic())
	for name, tc := range map[string]struct {
		edit func(m *types.MsgSubmitJob)
		want error
	}{
		"bad owner":          {func(m *types.MsgSubmitJob) { m.Owner = "x" }, nil},
		"no program":         {func(m *types.MsgSubmitJob) { m.Program = nil }, types.ErrInvalidProgram},
		"short program root": {func(m *types.MsgSubmitJob) { m.Program, m.ProgramDealId, m.ProgramRoot = nil, 3, []byte{1} }, types.ErrInvalidProgram},
		"input zero":         {func(m *types.MsgSubmitJob) { m.Inputs = []uint64{0} }, types.ErrInvalidInputs},
		"input twice":        {func(m *types.MsgSubmitJob) { m.Inputs = []uint64{4, 4} }, types.ErrInvalidInputs},
		"env without =":      {func(m *types.MsgSubmitJob) { m.Env = []string{"A"} }, types.ErrInvalidArgs},
		"env empty key":      {func(m *types.MsgSubmitJob) { m.Env = []string{"=b"} }, types.ErrInvalidArgs},
		"NUL in arg":         {func(m *types.MsgSubmitJob) { m.Args = []string{"a\x00b"} }, types.ErrInvalidArgs},
		"no executors":       {func(m *types.MsgSubmitJob) { m.Executors = 0 }, types.ErrInvalidExecutors},
		"nil price":          {func(m *types.MsgSubmitJob) { m.Price = sdk.Coin{Denom: "ustrat"} }, types.ErrInvalidPrice},
		"zero memory":        {func(m *types.MsgSubmitJob) { m.Limits.MemoryBytes = 0 }, types.ErrInvalidLimits},
		"no fuel":            {func(m *types.MsgSubmitJob) { m.Limits.Fuel = 0 }, types.ErrInvalidLimits},
		"fuel above any max": {func(m *types.MsgSubmitJob) { m.Limits.Fuel = types.MaxFuel + 1 }, types.ErrInvalidLimits},
		"store_output no time": {func(m *types.MsgSubmitJob) {
			m.StoreOutput = &types.StoreOutput{Replicas: 1, MaxPrice: sdk.NewInt64DecCoin("ustrat", 1)}
		}, types.ErrInvalidStoreOutput},
		"store_output no price": {func(m *types.MsgSubmitJob) {
			m.StoreOutput = &types.StoreOutput{Replicas: 1, DurationBlocks: 5}
		}, types.ErrInvalidStoreOutput},
	} {
		m := good()
		tc.edit(m)
		err := m.ValidateBasic()
		require.Error(t, err, name)
		if tc.want != nil {
			require.ErrorIs(t, err, tc.want, name)
		}
	}
}

func TestRevealValidateBasic(t *testing.T) {
	m := &types.MsgRevealResult{Provider: addr, JobId: 1,
		Result: types.Result{OutputRoot: make([]byte, 32), Size_: 1, Verdict: "memory_limit"}, Salt: make([]byte, 16)}
	require.NoError(t, m.ValidateBasic())
	for _, v := range []string{"", "OK", "a b", string(make([]byte, 33))} {
		m.Result.Verdict = v
		require.ErrorIs(t, m.ValidateBasic(), types.ErrInvalidResult, v)
	}
	m.Result.Verdict = "ok"
	m.Salt = make([]byte, 65)
	require.ErrorIs(t, m.ValidateBasic(), types.ErrInvalidResult)
	m.Salt, m.Result.OutputRoot = make([]byte, 16), make([]byte, 31)
	require.ErrorIs(t, m.ValidateBasic(), types.ErrInvalidResult)
}

func TestGenesisValidate(t *testing.T) {
	require.NoError(t, types.DefaultGenesisState().Validate())
	job := types.Job{Id: 1, Owner: addr, ProgramRoot: make([]byte, 32), Status: types.JobStatus_JOB_STATUS_SUCCEEDED,
		Escrow: sdk.NewInt64Coin("ustrat", 0)}
	gs := types.GenesisState{Params: types.DefaultParams(), NextJobId: 2, Jobs: []types.Job{job}}
	require.NoError(t, gs.Validate())
	bad := gs
	bad.NextJobId = 1
	require.ErrorIs(t, bad.Validate(), types.ErrInvalidGenesis)
	closedWithEscrow := job
	closedWithEscrow.Escrow = sdk.NewInt64Coin("ustrat", 5)
	bad = gs
	bad.Jobs = []types.Job{closedWithEscrow}
	require.ErrorIs(t, bad.Validate(), types.ErrInvalidGenesis)
	bad = gs
	bad.Programs = []types.InlineProgram{{JobId: 7, Wasm: []byte{1}}}
	require.ErrorIs(t, bad.Validate(), types.ErrInvalidGenesis)

	assigning := job
	assigning.Status, assigning.Escrow = types.JobStatus_JOB_STATUS_ASSIGNING, sdk.NewInt64Coin("ustrat", 5)
	ok := gs
	ok.Jobs = []types.Job{assigning}
	require.NoError(t, ok.Validate(), "a job waiting for its draw is exported with its escrow")
	assigning.Executors = []types.Executor{{Provider: addr}}
	bad = gs
	bad.Jobs = []types.Job{assigning}
	require.ErrorIs(t, bad.Validate(), types.ErrInvalidGenesis, "executors before the draw")
	assigning.Executors, assigning.Status = nil, types.JobStatus_JOB_STATUS_ASSIGNING+1
	bad.Jobs = []types.Job{assigning}
	require.ErrorIs(t, bad.Validate(), types.ErrInvalidGenesis, "unknown status")
}
