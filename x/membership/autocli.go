package membership

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/stratusnet/stratus/x/membership/types"
)

// AutoCLIOptions describes the query and tx commands.
func (AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "Member",
					Use:       "member [address] [role]",
					Short:     "Show one grant: address holding role (validator|provider)",
					Example:   "stratusd q membership member stratus1... validator",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{
						{ProtoField: "address"}, {ProtoField: "role"},
					},
				},
				{
					RpcMethod: "Members",
					Use:       "members",
					Short:     "List members, optionally of one role (--role validator|provider)",
					Example:   "stratusd q membership members --role validator",
				},
				{
					RpcMethod: "Params",
					Use:       "params",
					Short:     "Show the membership parameters",
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "GrantRole",
					Use:       "grant-role [address] [role]",
					Short:     "Grant a role (validator|provider) to an account; signed by the authority",
					Example:   "stratusd tx membership grant-role stratus1... validator --description 'Acme Hosting' --from admin",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{
						{ProtoField: "address"}, {ProtoField: "role"},
					},
				},
				{
					RpcMethod: "RevokeRole",
					Use:       "revoke-role [address] [role]",
					Short:     "Revoke a role; revoking validator jails the validator; signed by the authority",
					Example:   "stratusd tx membership revoke-role stratus1... validator --reason 'left the network' --from admin",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{
						{ProtoField: "address"}, {ProtoField: "role"},
					},
				},
				{
					RpcMethod: "UpdateParams",
					Use:       "update-params",
					Short:     "Replace the membership parameters; signed by the authority",
					Example:   `stratusd tx membership update-params --params '{"max_validators":10,"max_providers":100}' --from admin`,
				},
			},
		},
	}
}
