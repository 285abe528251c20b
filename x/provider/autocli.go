package provider

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/stratusnet/stratus/x/provider/types"
)

// AutoCLIOptions describes the query and tx commands.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod:      "Provider",
					Use:            "provider [address]",
					Short:          "Show one provider: offer, stake, status, faults",
					Example:        "stratusd q provider provider stratus1...",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "address"}},
				},
				{
					RpcMethod: "Providers",
					Use:       "providers",
					Short:     "List providers, optionally of one status (--status active|jailed|unbonding)",
					Example:   "stratusd q provider providers --status active",
				},
				{
					RpcMethod: "Params",
					Use:       "params",
					Short:     "Show the provider parameters",
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				// Commands with a price argument are hand-written (client/cli): AutoCLI
				// would send a DecCoin amount unscaled.
				{RpcMethod: "RegisterProvider", Skip: true},
				{RpcMethod: "UpdateProvider", Skip: true},
				{
					RpcMethod:      "AddStake",
					Use:            "add-stake [amount]",
					Short:          "Add to your stake",
					Example:        "stratusd tx provider add-stake 500000000ustrat --from acme",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "amount"}},
				},
				{
					RpcMethod: "UnbondProvider",
					Use:       "unbond",
					Short:     "Stop taking new work; the stake comes back after unbonding_blocks",
					Example:   "stratusd tx provider unbond --from acme",
				},
				{
					RpcMethod: "Unjail",
					Use:       "unjail",
					Short:     "Become active again after jail_blocks, if the stake is still at least min_stake",
					Example:   "stratusd tx provider unjail --from acme",
				},
				{
					RpcMethod: "UpdateParams",
					Use:       "update-params",
					Short:     "Replace the provider parameters; signed by the authority",
					Example:   `stratusd tx provider update-params --params '{"min_stake":{"denom":"ustrat","amount":"1000000000"},"unbonding_blocks":"100","jail_blocks":"50","max_faults":"10","max_endpoint_length":256,"max_moniker_length":64}' --from admin`,
				},
			},
		},
	}
}
