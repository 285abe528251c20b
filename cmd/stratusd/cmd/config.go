package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
)

// clientConfigKeys are the settings of config/client.toml and, where the
// value is one of a fixed set, that set.
var clientConfigKeys = map[string][]string{
	"chain-id":                nil,
	"keyring-backend":         {"os", "file", "kwallet", "pass", "test", "memory"},
	"keyring-default-keyname": nil,
	"output":                  {"text", "json"},
	"node":                    nil,
	"broadcast-mode":          {"sync", "async"},
}

func configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and change the client settings in config/client.toml",
		Long: `Show and change the client settings in <home>/config/client.toml: chain-id,
keyring-backend, keyring-default-keyname, output, node and broadcast-mode.
Node settings (app.toml, config.toml) are edited in those files directly.`,
		RunE: client.ValidateCmd,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "show",
			Short: "Print client.toml",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				bz, err := os.ReadFile(clientConfigPath(cmd))
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(bz)
				return err
			},
		},
		&cobra.Command{
			Use:     "get [key]",
			Short:   "Print one client setting",
			Example: "stratusd config get chain-id",
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := checkConfigKey(args[0]); err != nil {
					return err
				}
				bz, err := os.ReadFile(clientConfigPath(cmd))
				if err != nil {
					return err
				}
				m := configLine(args[0]).FindSubmatch(bz)
				if m == nil {
					return fmt.Errorf("%s is not set in %s", args[0], clientConfigPath(cmd))
				}
				cmd.Println(string(m[1]))
				return nil
			},
		},
		&cobra.Command{
			Use:     "set [key] [value]",
			Short:   "Change one client setting",
			Example: "stratusd config set chain-id stratus-local\nstratusd config set keyring-backend test",
			Args:    cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				key, value := args[0], args[1]
				if err := checkConfigKey(key); err != nil {
					return err
				}
				if allowed := clientConfigKeys[key]; allowed != nil && !slices.Contains(allowed, value) {
					return fmt.Errorf("%s must be one of %s, not %q", key, strings.Join(allowed, ", "), value)
				}
				if strings.ContainsAny(value, "\"\n\\") {
					return fmt.Errorf("value %q may not contain quotes, backslashes or newlines", value)
				}
				path := clientConfigPath(cmd)
				bz, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				line := configLine(key)
				entry := fmt.Sprintf("%s = %q", key, value)
				if line.Match(bz) {
					bz = line.ReplaceAll(bz, []byte(entry))
				} else {
					bz = append(bz, []byte("\n"+entry+"\n")...)
				}
				return os.WriteFile(path, bz, 0o600)
			},
		},
	)
	return cmd
}

func checkConfigKey(key string) error {
	if _, ok := clientConfigKeys[key]; ok {
		return nil
	}
	keys := make([]string, 0, len(clientConfigKeys))
	for k := range clientConfigKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return fmt.Errorf("unknown client setting %q; known: %s", key, strings.Join(keys, ", "))
}

func configLine(key string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s*=\s*"([^"]*)"\s*$`)
}

func clientConfigPath(cmd *cobra.Command) string {
	return filepath.Join(client.GetClientContextFromCmd(cmd).HomeDir, "config", "client.toml")
}
