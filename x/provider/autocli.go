package provider

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/stratusnet/stratus/x/provider/types"
)

// AutoCLIOptions describes the query and tx commands.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	offerArgs := []*autocliv1.PositionalArgDescriptor{
		{ProtoField: "moniker"}, {ProtoField: "endpoint"}, {ProtoField: "storage_capacity"},
		{ProtoField: "compute_slots"}, {ProtoField: "storage_price"}, {ProtoField: "compute_price"},
	}
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
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "RegisterProvider",
					Use:       "register [moniker] [endpoint] [storage-capacity-bytes] [compute-slots] [storage-price] [compute-price] [stake]",
					Short:     "Register as a provider (needs the provider role); storage price per GiB per block, compute price per job",
					Example:   "stratusd tx provider register acme https://sp1.acme.example 1099511627776 4 0.001ustrat 1000ustrat 1000000000ustrat --from acme",
					PositionalArgs: append(append([]*autocliv1.PositionalArgDescriptor{}, offerArgs...),
						&autocliv1.PositionalArgDescriptor{ProtoField: "stake"}),
				},
				{
					RpcMethod:      "UpdateProvider",
					Use:            "update [moniker] [endpoint] [storage-capacity-bytes] [compute-slots] [storage-price] [compute-price]",
					Short:          "Replace your moniker, endpoint, capacity and prices; capacity may not drop below what is in use",
					Example:        "stratusd tx provider update acme https://sp1.acme.example 2199023255552 8 0.001ustrat 1000ustrat --from acme",
					PositionalArgs: offerArgs,
				},
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
