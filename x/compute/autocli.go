package compute

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/stratusnet/stratus/x/compute/types"
)

// AutoCLIOptions describes the query and tx commands. Submitting a job from
// a .wasm file and following it to its verdict is `stratusd compute run`.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Job", Use: "job [job-id]", Short: "Show a job, its executors and their verdicts",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "job_id"}}},
				{RpcMethod: "JobsByOwner", Use: "jobs [owner]", Short: "List an owner's jobs",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "owner"}}},
				{RpcMethod: "JobsByProvider", Use: "provider-jobs [provider]", Short: "List the jobs a provider was assigned (--open-only: still to act on)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "provider"}}},
				{RpcMethod: "Program", Use: "program [job-id]", Short: "Show an open job's inline program (base64)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "job_id"}}},
				{RpcMethod: "Params", Use: "params", Short: "Show the compute parameters"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				// A job is submitted from a .wasm file by `stratusd compute run`.
				{RpcMethod: "SubmitJob", Skip: true},
				// Commit and reveal are built by the provider daemon from its run.
				{RpcMethod: "CommitResult", Skip: true},
				{RpcMethod: "RevealResult", Skip: true},
				{RpcMethod: "CancelJob", Use: "cancel [job-id]", Short: "Cancel a job no executor has committed to; refunds the escrow minus cancel_fee, which the assigned executors share",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "job_id"}}},
				{RpcMethod: "UpdateParams", Use: "update-params", Short: "Replace the compute parameters; signed by the authority"},
			},
		},
	}
}
