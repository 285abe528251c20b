package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	"github.com/stratusnet/stratus/x/provider/types"
)

type msgServer struct {
	*Keeper
}

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the Msg service implementation.
func NewMsgServerImpl(k *Keeper) types.MsgServer {
	return msgServer{Keeper: k}
}

// checkOffer validates what a provider publishes against the params.
func (s msgServer) checkOffer(params types.Params, moniker, endpoint string, storage, slots uint64,
	storagePrice sdk.DecCoin, computePrice sdk.Coin,
) error {
	if err := types.ValidateMoniker(moniker, params.MaxMonikerLength); err != nil {
		return err
	}
	if err := types.ValidateEndpoint(endpoint, params.MaxEndpointLength); err != nil {
		return err
	}
	if err := types.ValidateCapacity(storage, slots); err != nil {
		return err
	}
	return types.ValidatePrices(storagePrice, computePrice, s.bondDenom)
}

func (s msgServer) requireRole(ctx context.Context, addr sdk.AccAddress) error {
	ok, err := s.membership.HasRole(ctx, membershiptypes.Role_ROLE_PROVIDER, addr)
	if err != nil {
		return err
	}
	if !ok {
		return errorsmod.Wrapf(types.ErrNotMember, "%s does not hold the provider role; ask the network authority for it", addr)
	}
	return nil
}

func (s msgServer) checkStakeCoin(c sdk.Coin) error {
	if c.Denom != s.bondDenom {
		return errorsmod.Wrapf(types.ErrInvalidStake, "denom %q, want %q", c.Denom, s.bondDenom)
	}
	return nil
}

// RegisterProvider implements types.MsgServer.
func (s msgServer) RegisterProvider(ctx context.Context, msg *types.MsgRegisterProvider) (*types.MsgRegisterProviderResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	addr, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	if err := s.requireRole(ctx, addr); err != nil {
		return nil, err
	}
	if has, err := s.Providers.Has(ctx, addr); err != nil {
		return nil, err
	} else if has {
		return nil, errorsmod.Wrapf(types.ErrAlreadyRegistered, "%s", msg.Provider)
	}
	params, err := s.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkOffer(params, msg.Moniker, msg.Endpoint, msg.StorageCapacity, msg.ComputeSlots, msg.StoragePrice, msg.ComputePrice); err != nil {
		return nil, err
	}
	if err := s.checkStakeCoin(msg.Stake); err != nil {
		return nil, err
	}
	if msg.Stake.Amount.LT(params.MinStake.Amount) {
		return nil, errorsmod.Wrapf(types.ErrInsufficientStake, "stake %s, at least %s", msg.Stake, params.MinStake)
	}
	if err := s.bank.SendCoinsFromAccountToModule(ctx, addr, types.ModuleName, sdk.NewCoins(msg.Stake)); err != nil {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	p := types.Provider{
		Address:          msg.Provider,
		Moniker:          msg.Moniker,
		Endpoint:         msg.Endpoint,
		StorageCapacity:  msg.StorageCapacity,
		ComputeSlots:     msg.ComputeSlots,
		StoragePrice:     msg.StoragePrice,
		ComputePrice:     msg.ComputePrice,
		Stake:            msg.Stake.Amount,
		Status:           types.ProviderStatus_PROVIDER_STATUS_ACTIVE,
		RegisteredHeight: sdkCtx.BlockHeight(),
		CollateralLocked: math.ZeroInt(),
	}
	// Leaving and registering again does not wipe the record.
	if faults, err := s.PastFaults.Get(ctx, addr); err == nil {
		p.Faults = faults
	} else if !errors.Is(err, collections.ErrNotFound) {
		return nil, err
	}
	if err := s.setProvider(ctx, addr, p); err != nil {
		return nil, err
	}
	if err := s.emit(ctx, &types.EventProviderRegistered{Address: msg.Provider, Endpoint: msg.Endpoint, Stake: msg.Stake}); err != nil {
		return nil, err
	}
	s.Logger(ctx).Info("provider registered", "address", msg.Provider, "stake", msg.Stake)
	return &types.MsgRegisterProviderResponse{}, nil
}

// UpdateProvider implements types.MsgServer.
func (s msgServer) UpdateProvider(ctx context.Context, msg *types.MsgUpdateProvider) (*types.MsgUpdateProviderResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	addr, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	p, err := s.GetProvider(ctx, addr)
	if err != nil {
		return nil, err
	}
	if p.Status == types.ProviderStatus_PROVIDER_STATUS_UNBONDING {
		return nil, errorsmod.Wrapf(types.ErrProviderUnbonding, "%s", msg.Provider)
	}
	params, err := s.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.checkOffer(params, msg.Moniker, msg.Endpoint, msg.StorageCapacity, msg.ComputeSlots, msg.StoragePrice, msg.ComputePrice); err != nil {
		return nil, err
	}
	if msg.StorageCapacity < p.StorageUsed {
		return nil, errorsmod.Wrapf(types.ErrCapacityInUse, "storage_capacity %d below the %d bytes in use", msg.StorageCapacity, p.StorageUsed)
	}
	if msg.ComputeSlots < p.ComputeSlotsUsed {
		return nil, errorsmod.Wrapf(types.ErrCapacityInUse, "compute_slots %d below the %d in use", msg.ComputeSlots, p.ComputeSlotsUsed)
	}
	p.Moniker = msg.Moniker
	p.Endpoint = msg.Endpoint
	p.StorageCapacity = msg.StorageCapacity
	p.ComputeSlots = msg.ComputeSlots
	p.StoragePrice = msg.StoragePrice
	p.ComputePrice = msg.ComputePrice
	if err := s.setProvider(ctx, addr, p); err != nil {
		return nil, err
	}
	if err := s.emit(ctx, &types.EventProviderUpdated{
		Address: msg.Provider, Endpoint: msg.Endpoint, StorageCapacity: msg.StorageCapacity,
		ComputeSlots: msg.ComputeSlots, StoragePrice: msg.StoragePrice, ComputePrice: msg.ComputePrice,
	}); err != nil {
		return nil, err
	}
	return &types.MsgUpdateProviderResponse{}, nil
}

// AddStake implements types.MsgServer.
func (s msgServer) AddStake(ctx context.Context, msg *types.MsgAddStake) (*types.MsgAddStakeResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	addr, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	p, err := s.GetProvider(ctx, addr)
	if err != nil {
		return nil, err
	}
	if p.Status == types.ProviderStatus_PROVIDER_STATUS_UNBONDING {
		return nil, errorsmod.Wrapf(types.ErrProviderUnbonding, "%s", msg.Provider)
	}
	if err := s.checkStakeCoin(msg.Amount); err != nil {
		return nil, err
	}
	if err := s.bank.SendCoinsFromAccountToModule(ctx, addr, types.ModuleName, sdk.NewCoins(msg.Amount)); err != nil {
		return nil, err
	}
	p.Stake = p.Stake.Add(msg.Amount.Amount)
	if err := s.setProvider(ctx, addr, p); err != nil {
		return nil, err
	}
	if err := s.emit(ctx, &types.EventStakeAdded{Address: msg.Provider, Amount: msg.Amount, Stake: s.stakeCoin(p.Stake)}); err != nil {
		return nil, err
	}
	return &types.MsgAddStakeResponse{}, nil
}

// UnbondProvider implements types.MsgServer.
func (s msgServer) UnbondProvider(ctx context.Context, msg *types.MsgUnbondProvider) (*types.MsgUnbondProviderResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	addr, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	p, err := s.GetProvider(ctx, addr)
	if err != nil {
		return nil, err
	}
	if p.Status == types.ProviderStatus_PROVIDER_STATUS_UNBONDING {
		return nil, errorsmod.Wrapf(types.ErrProviderUnbonding, "%s already unbonds until %d", msg.Provider, p.UnbondingUntil)
	}
	p, err = s.startUnbonding(ctx, addr, p, ReasonRequested)
	if err != nil {
		return nil, err
	}
	return &types.MsgUnbondProviderResponse{UnbondingUntil: p.UnbondingUntil}, nil
}

// Unjail implements types.MsgServer.
func (s msgServer) Unjail(ctx context.Context, msg *types.MsgUnjail) (*types.MsgUnjailResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	addr, err := s.addressCodec.StringToBytes(msg.Provider)
	if err != nil {
		return nil, err
	}
	p, err := s.GetProvider(ctx, addr)
	if err != nil {
		return nil, err
	}
	if p.Status != types.ProviderStatus_PROVIDER_STATUS_JAILED {
		return nil, errorsmod.Wrapf(types.ErrNotJailed, "%s is %s", msg.Provider, p.Status)
	}
	if h := sdk.UnwrapSDKContext(ctx).BlockHeight(); h < p.JailedUntil {
		return nil, errorsmod.Wrapf(types.ErrJailPeriodNotOver, "jailed until height %d, now %d", p.JailedUntil, h)
	}
	params, err := s.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	if p.Stake.LT(params.MinStake.Amount) {
		return nil, errorsmod.Wrapf(types.ErrInsufficientStake, "stake %s below %s; add stake first", s.stakeCoin(p.Stake), params.MinStake)
	}
	if err := s.requireRole(ctx, addr); err != nil {
		return nil, err
	}
	p.Status = types.ProviderStatus_PROVIDER_STATUS_ACTIVE
	p.JailedUntil = 0
	p.Faults = 0
	if err := s.setProvider(ctx, addr, p); err != nil {
		return nil, err
	}
	if err := s.emit(ctx, &types.EventProviderUnjailed{Address: msg.Provider}); err != nil {
		return nil, err
	}
	return &types.MsgUnjailResponse{}, nil
}

// UpdateParams implements types.MsgServer.
func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	if err := sdk.ValidateAuthority(sdk.UnwrapSDKContext(ctx), s.authority, msg.Authority); err != nil {
		return nil, err
	}
	if msg.Params.MinStake.Denom != s.bondDenom {
		return nil, errorsmod.Wrapf(types.ErrInvalidParams, "min_stake denom %q, want %q", msg.Params.MinStake.Denom, s.bondDenom)
	}
	if err := s.Params.Set(ctx, msg.Params); err != nil {
		return nil, err
	}
	if err := s.emit(ctx, &types.EventParamsUpdated{Params: msg.Params, Authority: msg.Authority}); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, nil
}
