// Command stratusd is the Stratus node and its command-line client.
package main

import (
	"fmt"
	"os"

	clientv2helpers "cosmossdk.io/client/v2/helpers"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/client"
	"github.com/stratusnet/stratus/cmd/stratusd/cmd"
)

func main() {
	rootCmd := cmd.NewRootCmd()
	if err := svrcmd.Execute(rootCmd, clientv2helpers.EnvPrefix, app.DefaultNodeHome); err != nil {
		// One sentence to act on: the module's error, not the node's wrapping.
		fmt.Fprintln(rootCmd.ErrOrStderr(), "Error:", client.Explain(err))
		os.Exit(1)
	}
}
