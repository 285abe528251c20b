package merkle

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// ParallelBuilder's root is Builder's, whatever the size (empty, a leaf
// short or over, a segment short, exact or over, many segments), the leaf
// size (a power of two or not, above a segment) and the sizes of the
// writes.
func TestParallelBuilderMatchesBuilder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, chunk := range []int{1024, 100, 4096, 3 << 20} {
		var seg int
		{
			p, err := NewParallelBuilder(chunk, 2)
			require.NoError(t, err)
			seg = p.segment
			require.Zero(t, seg%chunk)
			leaves := seg / chunk
			require.Zero(t, leaves&(leaves-1), "a power of two of leaves")
		}
		// The tails after whole segments reach past half a segment, where
		// their nodes meet the segments' in the tree.
		sizes := []int{0, 1, chunk - 1, chunk, chunk + 1, seg - 1, seg, seg + 1, 3*seg + 5, 5 * seg, seg + seg*3/4 + 7, 3*seg + seg/2 + chunk}
		if chunk < 1<<20 {
			sizes = append(sizes, 9*seg+chunk/2)
		}
		for _, size := range sizes {
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(rng.UintN(256))
			}
			want, err := NewBuilder(chunk)
			require.NoError(t, err)
			_, _ = want.Write(data)
			for _, workers := range []int{1, 3} {
				p, err := NewParallelBuilder(chunk, workers)
				require.NoError(t, err)
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 1+rng.IntN(3*seg/2))
					_, _ = p.Write(rest[:n])
					rest = rest[n:]
				}
				require.Equal(t, uint64(size), p.Size(), "chunk %d size %d", chunk, size)
				require.Equal(t, want.Root(), p.Root(), "chunk %d size %d workers %d", chunk, size, workers)
			}
		}
	}
}
