package storage

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/stratusnet/stratus/x/storage/types"
)

// AutoCLIOptions describes the query and tx commands. Uploading a file and
// creating its deal in one step is `stratusd storage put`.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Deal", Use: "deal [deal-id]", Short: "Show a deal and its replicas",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "deal_id"}}},
				{RpcMethod: "DealsByOwner", Use: "deals [owner]", Short: "List an owner's deals",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "owner"}}},
				{RpcMethod: "ProviderReplicas", Use: "replicas [provider]", Short: "List the replicas a provider holds or must fetch",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "provider"}}},
				{RpcMethod: "Challenges", Use: "challenges [provider]", Short: "List a provider's open challenges in the current window",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "provider"}}},
				{RpcMethod: "FailedWindows", Use: "failed-windows [provider]", Short: "List the proof windows a provider failed (none of their blocks is paid)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "provider"}}},
				{RpcMethod: "Window", Use: "window", Short: "Show the current proof window"},
				{RpcMethod: "Params", Use: "params", Short: "Show the storage parameters"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				// create-deal is hand-written (client/cli): AutoCLI would send the
				// DecCoin max price unscaled.
				{RpcMethod: "CreateDeal", Skip: true},
				{RpcMethod: "CommitReplica", Use: "commit-replica [deal-id]", Short: "Commit a verified replica (provider daemons send this)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "deal_id"}}},
				{RpcMethod: "SubmitProofs", Skip: true}, // built by the provider daemon from its store
				{RpcMethod: "ExtendDeal", Use: "extend [deal-id] [additional-blocks]", Short: "Top up a deal's escrow and move its end",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "deal_id"}, {ProtoField: "additional_blocks"}}},
				{RpcMethod: "CancelDeal", Use: "cancel [deal-id]", Short: "Cancel a deal: pay what is owed, refund the rest",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "deal_id"}}},
				{RpcMethod: "ClaimEarnings", Use: "claim [deal-id...]", Short: "Settle a provider's replicas and pay it (all deals when none are given)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "deal_ids", Varargs: true}}},
				{RpcMethod: "UpdateParams", Use: "update-params", Short: "Replace the storage parameters; signed by the authority"},
			},
		},
	}
}
