package client

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// A resumable upload is what it sends, whole, on disk: an erasure-coded
// deal's n shards (no ciphertext is kept beside them), or else the kept
// ciphertext. A missing or short file makes it unresumable.
func TestKeptWhole(t *testing.T) {
	c := &Client{Home: t.TempDir()}
	require.NoError(t, os.MkdirAll(c.uploadsDir(), 0o700))

	coded := uploadRecord{DealID: 7, Size: 1000, DataShards: 4, ParityShards: 2}
	shard := storagetypes.ShardSizeFor(coded.Size, coded.DataShards)
	for i := range 6 {
		require.NoError(t, os.WriteFile(shardPath(c.shardBase(7), i), make([]byte, shard), 0o600))
	}
	require.True(t, c.keptWhole(coded))
	require.NoError(t, os.Truncate(shardPath(c.shardBase(7), 5), int64(shard-1)))
	require.False(t, c.keptWhole(coded), "a short parity shard")
	require.NoError(t, os.Remove(shardPath(c.shardBase(7), 0)))
	require.False(t, c.keptWhole(coded), "a missing data shard")

	sent := filepath.Join(c.uploadsDir(), "deal-8.age")
	replicated := uploadRecord{DealID: 8, Size: 1000, Sent: sent}
	require.False(t, c.keptWhole(replicated), "no ciphertext")
	require.NoError(t, os.WriteFile(sent, make([]byte, 1000), 0o600))
	require.True(t, c.keptWhole(replicated))
	require.NoError(t, os.WriteFile(sent, make([]byte, 999), 0o600))
	require.False(t, c.keptWhole(replicated), "a short ciphertext")

	// Dropping a coded record removes its shards.
	c.dropRecord(coded)
	_, err := os.Stat(shardPath(c.shardBase(7), 1))
	require.True(t, os.IsNotExist(err))
}
