package main

import (
	sdkversion "github.com/cosmos/cosmos-sdk/version"
)

func version() string {
	if sdkversion.Version == "" {
		return "dev"
	}
	return sdkversion.Version + " (" + sdkversion.Commit + ")"
}
