package app_test

import (
	"errors"

	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/app"
	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/testutil/apptest"
	membershiptypes "github.com/stratusnet/stratus/x/membership/types"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// storageNet is a chain with n registered providers and one user (the last account).
type storageNet struct {
	c         *apptest.Chain
	providers []apptest.Account
	user      apptest.Account
}

func newStorageNet(t *testing.T, n int) storageNet {
	t.Helper()
	members := map[int]membershiptypes.Role{}
	for i := range n {
		members[i] = membershiptypes.Role_ROLE_PROVIDER
	}
	c := apptest.New(t, apptest.Options{ExtraAccounts: n + 1, Members: members})
	for i := range n {
		res := c.DeliverTx(c.Accounts[i], registerProviderMsg(c.Accounts[i].Address, 2000*strat))
		require.Zero(t, res.Code, res.Log)
	}
	return storageNet{c: c, providers: c.Accounts[:n], user: c.Accounts[n]}
}

func (s storageNet) requireConserved(t *testing.T) {
	t.Helper()
	require.NoError(t, s.c.App.StorageKeeper.EscrowInvariant(s.c.Ctx()))
	require.NoError(t, s.c.App.ProviderKeeper.StakeInvariant(s.c.Ctx()))
	require.NoError(t, s.c.App.ComputeKeeper.EscrowInvariant(s.c.Ctx()))
	// Every reserved compute slot belongs to an executor still to act.
	used, err := s.c.App.ComputeKeeper.SlotsInUse(s.c.Ctx())
	require.NoError(t, err)
	for _, p := range s.providers {
		pr, err := s.c.App.ProviderKeeper.GetProvider(s.c.Ctx(), p.Address)
		if errors.Is(err, providertypes.ErrProviderNotFound) {
			require.Zero(t, used[p.Address.String()], "a removed provider %s holds compute slots", p.Address)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, used[p.Address.String()], pr.ComputeSlotsUsed, "compute slots of %s", p.Address)
		// Collateral: what the provider has locked is what its replicas hold.
		locked := sdkmath.ZeroInt()
		require.NoError(t, s.c.App.StorageKeeper.ReplicasByProvider.Walk(s.c.Ctx(),
			collections.NewPrefixedPairRange[sdk.AccAddress, uint64](p.Address),
			func(key collections.Pair[sdk.AccAddress, uint64], slot uint32) (bool, error) {
				r, err := s.c.App.StorageKeeper.Replicas.Get(s.c.Ctx(), collections.Join(key.K2(), slot))
				locked = locked.Add(r.Collateral)
				return false, err
			}))
		require.Equal(t, locked.String(), pr.Locked().String(), "collateral locked by %s", p.Address)
	}
}

func (s storageNet) account(addr string) apptest.Account {
	for _, p := range s.providers {
		if p.Address.String() == addr {
			return p
		}
	}
	panic("unknown provider " + addr)
}

func randomFile(t *testing.T, size int) []byte {
	t.Helper()
	b := make([]byte, size)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func TestStorageDealSmoke(t *testing.T) {
	s := newStorageNet(t, 4)
	c := s.c
	file := randomFile(t, 10_000)
	root, err := merkle.Root(file, 1024)
	require.NoError(t, err)

	before := balanceOf(c, s.user.Address)
	res := c.DeliverTx(s.user, &storagetypes.MsgCreateDeal{
		Owner: s.user.Address.String(), Root: root[:], Size_: uint64(len(file)), Replicas: 3, DurationBlocks: 200,
		MaxPrice: sdk.NewDecCoinFromDec(app.BondDenom, sdkmath.LegacyNewDec(1000)),
	})
	require.Zero(t, res.Code, res.Log)
	s.requireConserved(t)
	resp, err := c.App.StorageKeeper.Replicas.Get(c.Ctx(), joinKey(1, 0))
	require.NoError(t, err)
	require.Equal(t, storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED, resp.Status)
	require.True(t, balanceOf(c, s.user.Address).LT(before))

	replicas, err := c.App.StorageKeeper.DealReplicas(c.Ctx(), 1)
	require.NoError(t, err)
	require.Len(t, replicas, 3)
	for _, r := range replicas {
		res := c.DeliverTx(s.account(r.Provider), &storagetypes.MsgCommitReplica{Provider: r.Provider, DealId: 1})
		require.Zero(t, res.Code, res.Log)
	}
	d, err := c.App.StorageKeeper.GetDeal(c.Ctx(), 1)
	require.NoError(t, err)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ACTIVE, d.Status)

	// Answer challenges into the second window (the default window is 100
	// blocks; the replicas are first sampled in the one after their commit).
	proven := 0
	for range 130 {
		for _, p := range s.providers {
			open, err := c.App.StorageKeeper.OpenSamples(c.Ctx(), p.Address)
			require.NoError(t, err)
			if len(open) == 0 {
				continue
			}
			var proofs []storagetypes.StorageProof
			for _, q := range open {
				leaf, path, err := merkle.ProofFromData(file, 1024, q.LeafIndex)
				require.NoError(t, err)
				raw := make([][]byte, len(path))
				for i := range path {
					raw[i] = path[i][:]
				}
				proofs = append(proofs, storagetypes.StorageProof{DealId: 1, LeafIndex: q.LeafIndex, Leaf: leaf, AuditPath: raw})
			}
			res := c.DeliverTx(p, &storagetypes.MsgSubmitProofs{Provider: p.Address.String(), Proofs: proofs})
			require.Zero(t, res.Code, res.Log)
			proven += len(proofs)
		}
		c.NextBlock()
		s.requireConserved(t)
	}
	require.Positive(t, proven)
	for _, p := range s.providers {
		if _, err := c.App.StorageKeeper.ReplicasByProvider.Get(c.Ctx(), joinProv(p.Address, 1)); err != nil {
			continue
		}
		res := c.DeliverTx(p, &storagetypes.MsgClaimEarnings{Provider: p.Address.String()})
		require.Zero(t, res.Code, res.Log)
	}
	for c.Height < d.EndHeight+2 {
		c.NextBlock()
	}
	d, err = c.App.StorageKeeper.GetDeal(c.Ctx(), 1)
	require.NoError(t, err)
	require.Equal(t, storagetypes.DealStatus_DEAL_STATUS_ENDED, d.Status)
	s.requireConserved(t)
}

func joinKey(deal uint64, slot uint32) collections.Pair[uint64, uint32] {
	return collections.Join(deal, slot)
}

func joinProv(p sdk.AccAddress, deal uint64) collections.Pair[sdk.AccAddress, uint64] {
	return collections.Join(p, deal)
}
