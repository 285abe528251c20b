package main

import (
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	sdkversion "github.com/cosmos/cosmos-sdk/version"
)

func version() string {
	if sdkversion.Version == "" {
		return "dev"
	}
	return sdkversion.Version + " (" + sdkversion.Commit + ")"
}

func signModeDirect() signing.SignMode { return signing.SignMode_SIGN_MODE_DIRECT }
