package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratusnet/stratus/testutil/localnet"
)

// An erasure-coded deal (2+2 on a localnet of 6 providers) through real
// processes:
//   - put uploads the 2 data shards; the holder of shard 0 computes the 2
//     parity shards and their holders fetch them, and all 4 slots commit;
//   - a public deal is coded the same way, and read back as stored;
//   - with both data shard holders killed (m = 2), get decodes the file
//     byte-exact from the parity shards;
//   - their slots miss proofs, are dropped and reassigned to the spares,
//     which rebuild their shards from k verified shards: n committed again;
//   - a holder whose shard is corrupted on disk serves bytes that fail the
//     shard's root, and get still returns the file from the others.
func TestErasureCodedDealSurvivesLostProviders(t *testing.T) {
	ln := localnet.Start(t, bins, 1, 6)
	file := writeRandomFile(t, 3<<20+12345)
	id := putWith(t, ln, file, "--scheme", "2+2")
	d := queryDeal(t, ln, id)
	require.Equal(t, []uint32{2, 2, 4}, []uint32{d.Deal.DataShards, d.Deal.ParityShards, d.Deal.Replicas})
	require.Len(t, committed(d), 4, "put returns once every shard is committed")
	shardSize, err := strconv.ParseUint(d.Deal.ShardSize, 10, 64)
	require.NoError(t, err)
	for _, r := range d.Replicas {
		st, err := os.Stat(filepath.Join(ln.ProviderHome(providerIndex(t, ln, r.Provider)), "data", "deals", strconv.FormatUint(id, 10), "data"))
		require.NoError(t, err)
		require.Equal(t, int64(shardSize), st.Size(), "slot %d holds one shard, not the file", r.Slot)
	}
	getAndCompare(t, ln, id, file)

	// A public erasure-coded deal stores the bytes as they are.
	public := writeRandomFile(t, 200_001)
	getAndCompare(t, ln, putWith(t, ln, public, "--scheme", "2+2", "--public"), public)

	// Kill the holders of both data shards: only parity is left.
	lost := map[string]bool{}
	for _, r := range d.Replicas {
		if r.Shard < 2 {
			stopProvider(t, ln, providerIndex(t, ln, r.Provider))
			lost[r.Provider] = true
		}
	}
	require.Len(t, lost, 2)
	getAndCompare(t, ln, id, file)

	// Their slots are dropped for missed proofs and rebuilt by the spares.
	d = waitDeal(t, ln, id, 4*time.Minute, "4 committed shards on live providers", func(d dealJSON) bool {
		live := 0
		for _, r := range d.Replicas {
			if r.Status == "REPLICA_STATUS_COMMITTED" && !lost[r.Provider] {
				live++
			}
		}
		return live == 4
	})
	shards := map[uint32]bool{}
	for _, r := range d.Replicas {
		shards[r.Shard] = true
	}
	require.Len(t, shards, 4, "every shard has a holder: %+v", d.Replicas)

	// A holder whose shard rots on disk serves bytes its root refuses; get
	// uses the other shards.
	var bad replicaJSON
	for _, r := range d.Replicas {
		if r.Shard == 0 {
			bad = r
		}
	}
	path := filepath.Join(ln.ProviderHome(providerIndex(t, ln, bad.Provider)), "data", "deals", strconv.FormatUint(id, 10), "data")
	bz, err := os.ReadFile(path)
	require.NoError(t, err)
	bz[len(bz)/2] ^= 0x80
	require.NoError(t, os.WriteFile(path, bz, 0o600))
	// Shard 0 is fetched first (a data shard): its wrong bytes are found
	// and named, and a parity shard takes its place.
	errOut := getAndCompare(t, ln, id, file)
	require.Contains(t, errOut, "shard 0 not used")
	require.Contains(t, errOut, "does not match its root")
}
