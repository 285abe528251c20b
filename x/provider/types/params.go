package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Defaults suit a localnet: short windows so a whole lifecycle fits in minutes.
const (
	DefaultUnbondingBlocks   uint64 = 100
	DefaultJailBlocks        uint64 = 50
	DefaultMaxFaults         uint64 = 10
	DefaultMaxEndpointLength uint32 = 256
	DefaultMaxMonikerLength  uint32 = 64
)

// DefaultMinStake is 1000 STRAT (10^9 of the bond denom's base unit).
var DefaultMinStake = math.NewInt(1_000_000_000)

// DefaultParams returns the defaults, with the SDK's default bond denom.
func DefaultParams() Params {
	return Params{
		MinStake:          sdk.NewCoin(sdk.DefaultBondDenom, DefaultMinStake),
		UnbondingBlocks:   DefaultUnbondingBlocks,
		JailBlocks:        DefaultJailBlocks,
		MaxFaults:         DefaultMaxFaults,
		MaxEndpointLength: DefaultMaxEndpointLength,
		MaxMonikerLength:  DefaultMaxMonikerLength,
	}
}

// Validate checks the params on their own (the keeper also checks that the
// min_stake denom is the bond denom).
func (p Params) Validate() error {
	if err := p.MinStake.Validate(); err != nil {
		return errorsmod.Wrapf(ErrInvalidParams, "min_stake: %v", err)
	}
	if !p.MinStake.IsPositive() {
		return errorsmod.Wrap(ErrInvalidParams, "min_stake must be positive")
	}
	if p.UnbondingBlocks == 0 {
		return errorsmod.Wrap(ErrInvalidParams, "unbonding_blocks must be positive")
	}
	if p.JailBlocks == 0 {
		return errorsmod.Wrap(ErrInvalidParams, "jail_blocks must be positive")
	}
	// Heights are int64: a window that cannot be added to a height is refused.
	const maxWindow = uint64(1) << 40
	if p.UnbondingBlocks > maxWindow || p.JailBlocks > maxWindow {
		return errorsmod.Wrapf(ErrInvalidParams, "unbonding_blocks and jail_blocks must be at most %d", maxWindow)
	}
	if p.MaxEndpointLength < 16 || p.MaxEndpointLength > 2048 {
		return errorsmod.Wrap(ErrInvalidParams, "max_endpoint_length must be in [16, 2048]")
	}
	if p.MaxMonikerLength == 0 || p.MaxMonikerLength > 256 {
		return errorsmod.Wrap(ErrInvalidParams, "max_moniker_length must be in [1, 256]")
	}
	return nil
}
