package client

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// PutReader's source must give exactly the size declared: a short one is
// an error (never a shorter deal), a longer one is read only that far.
func TestExactReader(t *testing.T) {
	src := bytes.Repeat([]byte("stratus"), 1000)
	got, err := io.ReadAll(&exactReader{r: iotest.OneByteReader(bytes.NewReader(src)), left: int64(len(src))})
	require.NoError(t, err)
	require.Equal(t, src, got)

	got, err = io.ReadAll(&exactReader{r: bytes.NewReader(src), left: 100})
	require.NoError(t, err)
	require.Equal(t, src[:100], got)

	_, err = io.ReadAll(&exactReader{r: bytes.NewReader(src), left: int64(len(src)) + 1})
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}
