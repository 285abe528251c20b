package gateway_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
)

// A range is served as soon as the fetch of its deal has it: with the
// fetch stopped halfway, the first bytes come back and the last wait.
// A fetch that fails halfway fails the responses it was feeding (never a
// short object taken for whole) and caches nothing.
func TestRangesAreServedWhileFetching(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	bucket := aws.String("stream")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket})
	require.NoError(t, err)
	data := randomBytes(t, 1<<20)
	for _, k := range []string{"ok", "fails"} {
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: bytes.NewReader(data)})
		require.NoError(t, err)
	}
	get := func(key, rng string) <-chan []byte {
		out := make(chan []byte, 1)
		go func() {
			res, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String(key), Range: optionalRange(rng)})
			if err != nil {
				out <- nil
				return
			}
			defer res.Body.Close()
			bz, err := io.ReadAll(res.Body)
			if err != nil {
				bz = nil
			}
			out <- bz
		}()
		return out
	}
	gate := make(chan struct{})
	storage.mu.Lock()
	storage.halfway, storage.failHalfway = gate, false
	storage.mu.Unlock()

	first := get("ok", "bytes=0-1023")
	select {
	case bz := <-first:
		require.Equal(t, data[:1024], bz)
	case <-time.After(20 * time.Second):
		t.Fatal("the first range was not served while the fetch was halfway")
	}
	last := get("ok", "bytes=1047552-1048575")
	select {
	case <-last:
		t.Fatal("the last range came back before the fetch had it")
	case <-time.After(300 * time.Millisecond):
	}
	close(gate)
	require.Equal(t, data[1047552:], <-last)

	gate = make(chan struct{})
	storage.mu.Lock()
	storage.halfway, storage.failHalfway = gate, true
	storage.mu.Unlock()
	whole := get("fails", "")
	time.Sleep(300 * time.Millisecond) // the response has started on the first half
	close(gate)
	require.Nil(t, <-whole, "a fetch failing halfway must fail the GET")
	storage.mu.Lock()
	storage.halfway, storage.failHalfway = nil, false
	storage.mu.Unlock()
	require.Equal(t, data, <-get("fails", ""), "nothing was cached: the next GET fetches again")
}

func optionalRange(r string) *string {
	if r == "" {
		return nil
	}
	return &r
}
