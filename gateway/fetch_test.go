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
// The last byte of every response waits for the fetch to end well, so no
// response completes before the deal's root was checked. A fetch that
// fails halfway fails the responses it was feeding (never a short object
// taken for whole) and caches nothing.
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

	// The first 256 KiB of the first half arrive while the fetch is
	// halfway; the response ends only once the fetch has.
	res, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("ok"), Range: aws.String("bytes=0-524287")})
	require.NoError(t, err)
	head := make([]byte, 256<<10)
	read := make(chan error, 1)
	go func() { _, err := io.ReadFull(res.Body, head); read <- err }()
	select {
	case err := <-read:
		require.NoError(t, err)
		require.Equal(t, data[:256<<10], head)
	case <-time.After(20 * time.Second):
		t.Fatal("the first range was not served while the fetch was halfway")
	}
	rest := make(chan []byte, 1)
	go func() { bz, _ := io.ReadAll(res.Body); rest <- bz }()
	select {
	case <-rest:
		t.Fatal("a response ended before the fetch did")
	case <-time.After(300 * time.Millisecond):
	}
	last := get("ok", "bytes=1047552-1048575")
	select {
	case <-last:
		t.Fatal("the last range came back before the fetch had it")
	case <-time.After(300 * time.Millisecond):
	}
	close(gate)
	require.Equal(t, data[256<<10:512<<10], <-rest)
	require.NoError(t, res.Body.Close())
	require.Equal(t, data[1047552:], <-last)

	// halfwayGet GETs key with its fetch stopped halfway in the way set
	// turns on (and off, given nil), lets the response start on the first
	// half, lets the fetch go on, and returns what the GET got (nil: it
	// failed).
	halfwayGet := func(key string, set func(gate chan struct{})) []byte {
		gate := make(chan struct{})
		storage.mu.Lock()
		set(gate)
		storage.mu.Unlock()
		out := get(key, "")
		time.Sleep(300 * time.Millisecond) // the response has started on the first half
		close(gate)
		bz := <-out
		storage.mu.Lock()
		set(nil)
		storage.mu.Unlock()
		return bz
	}
	require.Nil(t, halfwayGet("fails", func(gate chan struct{}) { storage.halfway, storage.failHalfway = gate, gate != nil }),
		"a fetch failing halfway must fail the GET")
	require.Equal(t, data, <-get("fails", ""), "nothing was cached: the next GET fetches again")

	// A fetch that streamed wrong bytes and then made the object from
	// another file (the ranged get failed its root check, a whole
	// download succeeded) fails the responses fed from the first file.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("swapped"), Body: bytes.NewReader(data)})
	require.NoError(t, err)
	require.Nil(t, halfwayGet("swapped", func(gate chan struct{}) { storage.halfway, storage.swapHalfway = gate, gate != nil }),
		"a response completed on bytes the fetch did not keep")
	require.Equal(t, data, <-get("swapped", ""), "the object is the right file")
}

func optionalRange(r string) *string {
	if r == "" {
		return nil
	}
	return &r
}
