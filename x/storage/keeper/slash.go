package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	providertypes "github.com/stratusnet/stratus/x/provider/types"
)

// slash burns fraction of provider's stake for a storage fault. A zero
// fraction (params may disable a penalty) slashes nothing, and a provider
// whose record is gone (fully unbonded) has nothing left to slash; neither
// is an error, so a window close never halts the chain over them.
func (k *Keeper) slash(ctx context.Context, provider sdk.AccAddress, fraction math.LegacyDec, reason string) (math.Int, error) {
	if fraction.IsNil() || !fraction.IsPositive() {
		return math.ZeroInt(), nil
	}
	burned, err := k.providers.Slash(ctx, provider, fraction, reason)
	if errors.Is(err, providertypes.ErrProviderNotFound) {
		return math.ZeroInt(), nil
	}
	return burned, err
}
