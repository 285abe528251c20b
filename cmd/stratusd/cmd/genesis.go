package cmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/server"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"

	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
)

const flagDescription = "description"

// resolveAddress accepts a bech32 address or the name of a key in the keyring.
func resolveAddress(cmd *cobra.Command, arg string) (sdk.AccAddress, error) {
	if addr, err := sdk.AccAddressFromBech32(arg); err == nil {
		return addr, nil
	}
	clientCtx, err := client.GetClientQueryContext(cmd)
	if err != nil {
		return nil, err
	}
	if clientCtx.Keyring == nil {
		return nil, fmt.Errorf("%q is not a bech32 address and no keyring is configured", arg)
	}
	rec, err := clientCtx.Keyring.Key(arg)
	if err != nil {
		return nil, fmt.Errorf("%q is neither a bech32 address nor a key in the keyring: %w", arg, err)
	}
	return rec.GetAddress()
}

// editGenesis loads genesis.json, lets edit change it, validates and saves it.
func editGenesis(cmd *cobra.Command, edit func(appGen *genutiltypes.AppGenesis, state map[string]json.RawMessage) error) error {
	serverCtx := server.GetServerContextFromCmd(cmd)
	clientCtx := client.GetClientContextFromCmd(cmd)
	cfg := serverCtx.Config
	cfg.SetRoot(clientCtx.HomeDir)
	genFile := cfg.GenesisFile()

	state, appGen, err := genutiltypes.GenesisStateFromGenFile(genFile)
	if err != nil {
		return fmt.Errorf("reading %s: %w (run 'stratusd init' first)", genFile, err)
	}
	if err := edit(appGen, state); err != nil {
		return err
	}
	appGen.AppState, err = json.MarshalIndent(state, "", "  ")
	if err != nil {
		return err
	}
	return genutil.ExportGenesisFile(appGen, genFile)
}

func addGenesisMemberCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add-member [address_or_key_name] [validator|provider]",
		Short: "Grant a role in genesis.json, before the chain starts",
		Long: `Adds a membership grant to genesis.json. Genesis validators need the
validator role before their gentx is collected: the membership gate checks
gentxs like any other create-validator.`,
		Example: "stratusd genesis add-member val0 validator --keyring-backend test",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := resolveAddress(cmd, args[0])
			if err != nil {
				return err
			}
			role, err := membershiptypes.ParseRole(args[1])
			if err != nil {
				return err
			}
			desc, _ := cmd.Flags().GetString(flagDescription)
			cdc := client.GetClientContextFromCmd(cmd).Codec
			return editGenesis(cmd, func(_ *genutiltypes.AppGenesis, state map[string]json.RawMessage) error {
				var gs membershiptypes.GenesisState
				if err := cdc.UnmarshalJSON(state[membershiptypes.ModuleName], &gs); err != nil {
					return fmt.Errorf("decoding membership genesis: %w", err)
				}
				gs.Members = append(gs.Members, membershiptypes.Member{Address: addr.String(), Role: role, Description: desc})
				if err := gs.Validate(); err != nil {
					return err
				}
				bz, err := cdc.MarshalJSON(&gs)
				if err != nil {
					return err
				}
				state[membershiptypes.ModuleName] = bz
				cmd.Printf("granted %s to %s in genesis\n", role.ShortName(), addr)
				return nil
			})
		},
	}
	cmd.Flags().String(flagDescription, "", "free text recorded with the grant")
	cmd.Flags().String(flags.FlagKeyringBackend, flags.DefaultKeyringBackend, "keyring backend to look key names up in")
	cmd.Flags().String(flags.FlagHome, "", "node home directory")
	return cmd
}

func setGenesisAuthorityCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set-authority [address_or_key_name]",
		Short: "Set the network authority (consensus AuthorityParams) in genesis.json",
		Long: `Sets consensus.params.authority in genesis.json. The authority signs
membership grants and every module's parameter changes; without it the x/gov
module account is the authority and changes go through proposals.`,
		Example: "stratusd genesis set-authority admin --keyring-backend test",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := resolveAddress(cmd, args[0])
			if err != nil {
				return err
			}
			return editGenesis(cmd, func(appGen *genutiltypes.AppGenesis, _ map[string]json.RawMessage) error {
				if appGen.Consensus == nil || appGen.Consensus.Params == nil {
					return fmt.Errorf("genesis has no consensus params")
				}
				appGen.Consensus.Params.Authority.Authority = addr.String()
				cmd.Printf("network authority set to %s\n", addr)
				return nil
			})
		},
	}
	cmd.Flags().String(flags.FlagKeyringBackend, flags.DefaultKeyringBackend, "keyring backend to look key names up in")
	cmd.Flags().String(flags.FlagHome, "", "node home directory")
	return cmd
}
