// Command stratus-provider is the Stratus provider daemon: it stores deal
// data, serves it over HTTP, proves possession on chain, replicates and
// repairs, and claims earnings.
package main

import (
	"fmt"
	"os"

	"github.com/stratusnet/stratus/client"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", client.Explain(err))
		os.Exit(1)
	}
}
