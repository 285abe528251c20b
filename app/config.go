package app

import (
	sdk "github.com/cosmos/cosmos-sdk/types"
)

const (
	// AppName is the name of the application (the ABCI info name).
	AppName = "stratus"
	// Bech32Prefix is the human-readable part of account addresses.
	Bech32Prefix = "stratus"
	// BondDenom is the base denomination of STRAT; 1 STRAT = 10^6 ustrat.
	BondDenom = "ustrat"
	// DisplayDenom is the display denomination.
	DisplayDenom = "STRAT"
)

func init() {
	setAddressPrefixes()
	// Default genesis of staking, gov and the rest uses this denom.
	sdk.DefaultBondDenom = BondDenom
}

// setAddressPrefixes sets the bech32 prefixes of accounts, validators and
// consensus keys before anything reads them; the root command seals them.
func setAddressPrefixes() {
	cfg := sdk.GetConfig()
	cfg.SetBech32PrefixForAccount(Bech32Prefix, Bech32Prefix+sdk.PrefixPublic)
	cfg.SetBech32PrefixForValidator(Bech32Prefix+sdk.PrefixValidator+sdk.PrefixOperator, Bech32Prefix+sdk.PrefixValidator+sdk.PrefixOperator+sdk.PrefixPublic)
	cfg.SetBech32PrefixForConsensusNode(Bech32Prefix+sdk.PrefixValidator+sdk.PrefixConsensus, Bech32Prefix+sdk.PrefixValidator+sdk.PrefixConsensus+sdk.PrefixPublic)
}
