package types

import (
	"fmt"

	errorsmod "cosmossdk.io/errors"

	"github.com/stratusnet/stratus/merkle"
)

// DefaultGenesisState has default params and no deals.
func DefaultGenesisState() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextDealId: 1}
}

// Validate checks params, ids, references between deals and replicas.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	deals := make(map[uint64]Deal, len(gs.Deals))
	for _, d := range gs.Deals {
		if d.Id == 0 || d.Id >= gs.NextDealId {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal id %d not below next_deal_id %d", d.Id, gs.NextDealId)
		}
		if _, dup := deals[d.Id]; dup {
			return errorsmod.Wrapf(ErrInvalidGenesis, "duplicate deal %d", d.Id)
		}
		if len(d.Root) != merkle.HashSize || d.Size_ == 0 || d.Replicas == 0 {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal %d: bad root, size or replicas", d.Id)
		}
		if err := validAddress("owner", d.Owner); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal %d: %v", d.Id, err)
		}
		if err := validScheme(d); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal %d: %v", d.Id, err)
		}
		if len(d.Label) > MaxLabelBytes {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal %d: label of %d bytes, at most %d", d.Id, len(d.Label), MaxLabelBytes)
		}
		if d.Escrow.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal %d: negative escrow", d.Id)
		}
		deals[d.Id] = d
	}
	slots := map[string]bool{}
	for _, r := range gs.Replicas {
		d, ok := deals[r.DealId]
		if !ok {
			return errorsmod.Wrapf(ErrInvalidGenesis, "replica of unknown deal %d", r.DealId)
		}
		if r.Slot >= max(d.Replicas, d.NextSlot) {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal %d slot %d beyond its %d slots", r.DealId, r.Slot, max(d.Replicas, d.NextSlot))
		}
		if n := d.Scheme().N(); r.Shard >= n {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal %d slot %d holds shard %d of %d", r.DealId, r.Slot, r.Shard, n)
		}
		if !r.Collateral.IsNil() && r.Collateral.IsNegative() {
			return errorsmod.Wrapf(ErrInvalidGenesis, "deal %d slot %d: negative collateral", r.DealId, r.Slot)
		}
		key := fmt.Sprintf("%d/%d", r.DealId, r.Slot)
		if slots[key] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "duplicate replica %s", key)
		}
		slots[key] = true
		if r.Status != ReplicaStatus_REPLICA_STATUS_OPEN {
			if err := validAddress("provider", r.Provider); err != nil {
				return errorsmod.Wrapf(ErrInvalidGenesis, "replica %s: %v", key, err)
			}
		}
	}
	for _, ref := range gs.Releases {
		if !slots[fmt.Sprintf("%d/%d", ref.DealId, ref.Slot)] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "release of deal %d slot %d, which has no replica", ref.DealId, ref.Slot)
		}
	}
	for _, duty := range gs.Duties {
		if err := validAddress("provider", duty.Provider); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "duty: %v", err)
		}
		if duty.Window != gs.Window.Number {
			return errorsmod.Wrapf(ErrInvalidGenesis, "duty of %s for window %d, the open window is %d", duty.Provider, duty.Window, gs.Window.Number)
		}
	}
	for _, f := range gs.FailedWindows {
		if err := validAddress("provider", f.Provider); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "failed window: %v", err)
		}
		if f.CloseHeight <= f.OpenHeight {
			return errorsmod.Wrapf(ErrInvalidGenesis, "failed window %d of %s: close %d not after open %d", f.Window, f.Provider, f.CloseHeight, f.OpenHeight)
		}
	}
	return nil
}

// validScheme checks a stored deal's code as MsgCreateDeal's would be.
func validScheme(d Deal) error {
	msg := MsgCreateDeal{Size_: d.Size_, Replicas: d.Replicas, DataShards: d.DataShards, ParityShards: d.ParityShards,
		ShardSize: d.ShardSize, ShardRoots: d.ShardRoots}
	if d.DataShards <= 1 {
		// Replicated: the shard fields are either unset or k = 1 with the file's size.
		if len(d.ShardRoots) != 0 || (d.ShardSize != 0 && d.ShardSize != d.Size_) || (d.DataShards == 1 && d.ParityShards+1 != d.Replicas) {
			return errorsmod.Wrap(ErrInvalidScheme, "a replicated deal has no shard roots and holds the file in every slot")
		}
		return nil
	}
	_, err := msg.Scheme()
	return err
}
