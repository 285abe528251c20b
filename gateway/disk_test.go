package gateway_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
	"github.com/versity/versitygw/s3err"
	"github.com/versity/versitygw/s3response"

	"github.com/stratusnet/stratus/gateway"
)

func requireS3Code(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr s3err.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, code, apiErr.Code, "%v", err)
}

// dirBytes is what the files under dir hold.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return err
	}))
	return n
}

// The spool is bounded: a body or part that would take it over the bound
// is refused with SlowDown, whether its length is declared or not, and
// leaves no file and no key; kept parts count until Abort.
func TestSpoolIsBounded(t *testing.T) {
	ctx := context.Background()
	const limit = 1 << 20
	work := t.TempDir()
	spoolDir := filepath.Join(work, "spool")
	be, _ := freshWith(t, gateway.Options{Dir: work, SpoolBytes: limit})
	require.NoError(t, be.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("spool")}, nil))
	big := randomBytes(t, 2<<20)
	put := func(key string, body []byte, declared bool) error {
		in := s3response.PutObjectInput{Bucket: aws.String("spool"), Key: aws.String(key), Body: bytes.NewReader(body)}
		if declared {
			in.ContentLength = aws.Int64(int64(len(body)))
		}
		_, err := be.PutObject(ctx, in)
		return err
	}
	// An object that can never fit (its bytes and its deal's staging) is
	// refused before its body is read when its length is declared; one
	// whose length is not is refused when the spool fills.
	requireS3Code(t, put("declared", big, true), "EntityTooLarge")
	requireS3Code(t, put("undeclared", big, false), "SlowDown")
	for _, k := range []string{"declared", "undeclared"} {
		_, err := be.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("spool"), Key: aws.String(k)})
		requireS3Code(t, err, "NoSuchKey")
	}
	require.Zero(t, be.SpoolUsed())
	require.Zero(t, dirBytes(t, spoolDir), "a refused body leaves no file")
	require.NoError(t, put("fits", big[:limit/2], true))
	require.Zero(t, be.SpoolUsed(), "a stored object leaves the spool")
	// A body that fits but whose deal's staging (the SDK's sealed copy)
	// does not, undeclared, is refused before any deal is made.
	deals, err := storage.Deals(ctx)
	require.NoError(t, err)
	requireS3Code(t, put("staged", big[:limit/2+1], false), "EntityTooLarge")
	after, err := storage.Deals(ctx)
	require.NoError(t, err)
	require.Len(t, after, len(deals), "no deal made")
	_, err = be.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("spool"), Key: aws.String("staged")})
	requireS3Code(t, err, "NoSuchKey")
	require.Zero(t, be.SpoolUsed())
	require.Zero(t, dirBytes(t, spoolDir))

	up, err := be.CreateMultipartUpload(ctx, s3response.CreateMultipartUploadInput{Bucket: aws.String("spool"), Key: aws.String("mp")})
	require.NoError(t, err)
	part := func(n int32, body []byte, declared bool) error {
		in := &s3.UploadPartInput{Bucket: aws.String("spool"), Key: aws.String("mp"), UploadId: aws.String(up.UploadId),
			PartNumber: aws.Int32(n), Body: bytes.NewReader(body)}
		if declared {
			in.ContentLength = aws.Int64(int64(len(body)))
		}
		_, err := be.UploadPart(ctx, in)
		return err
	}
	require.NoError(t, part(1, big[:400<<10], true))
	require.EqualValues(t, 400<<10, be.SpoolUsed(), "a kept part stays charged")
	// A part that makes the upload too large to ever store (1,000 KiB and
	// as much staging) is refused before it is read.
	requireS3Code(t, part(2, big[:600<<10], true), "EntityTooLarge")
	require.EqualValues(t, 400<<10, be.SpoolUsed())
	// A part sent again replaces the old one's bytes once it has arrived
	// (while it arrives both are on disk).
	require.NoError(t, part(1, big[:300<<10], true))
	require.EqualValues(t, 300<<10, be.SpoolUsed())
	// An object that fits alone but not beside the part kept: its body is
	// taken, its staging is not, and it is refused without a deal.
	requireS3Code(t, put("beside", big[:400<<10], true), "SlowDown")
	require.EqualValues(t, 300<<10, be.SpoolUsed())
	// A part of undeclared length is refused when the spool fills.
	requireS3Code(t, part(2, big[:800<<10], false), "SlowDown")
	require.EqualValues(t, 300<<10, be.SpoolUsed())
	require.NoError(t, be.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("spool"), Key: aws.String("mp"), UploadId: aws.String(up.UploadId)}))
	require.Zero(t, be.SpoolUsed())
}

// The cache of fetched objects is trimmed to its bound, least recently
// read first; a trimmed object is fetched again when read.
func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	be, _ := freshWith(t, gateway.Options{Dir: work, CacheBytes: 250 << 10})
	require.NoError(t, be.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cache")}, nil))
	bodies := map[string][]byte{}
	deals := map[string]uint64{}
	for _, k := range []string{"a", "b", "c"} {
		bodies[k] = randomBytes(t, 100<<10)
		_, err := be.PutObject(ctx, s3response.PutObjectInput{Bucket: aws.String("cache"), Key: aws.String(k), Body: bytes.NewReader(bodies[k])})
		require.NoError(t, err)
		ds, err := storage.Deals(ctx)
		require.NoError(t, err)
		deals[k] = ds[len(ds)-1].ID
	}
	read := func(k string) {
		t.Helper()
		out, err := be.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cache"), Key: aws.String(k)})
		require.NoError(t, err)
		bz, err := io.ReadAll(out.Body)
		out.Body.Close()
		require.NoError(t, err)
		require.Equal(t, bodies[k], bz)
		// The body can be read whole before its fetch has renamed the
		// file into the cache and trimmed it: wait for that.
		require.Eventually(t, func() bool { return be.Fetching() == 0 }, 10*time.Second, 5*time.Millisecond)
	}
	fetches := func(k string) int {
		storage.mu.Lock()
		defer storage.mu.Unlock()
		return storage.gets[deals[k]]
	}
	// A fetch in progress elsewhere: the SDK's temporary file is never trimmed.
	inProgress := filepath.Join(work, "cache", ".stratus-get-1")
	require.NoError(t, os.WriteFile(inProgress, make([]byte, 10<<10), 0o600))
	read("a")
	read("b")
	read("a") // a is now the most recently read
	read("c") // over the bound: b goes
	require.Equal(t, 1, fetches("a"))
	require.LessOrEqual(t, dirBytes(t, filepath.Join(work, "cache")), int64(250<<10))
	_, err := os.Stat(inProgress)
	require.NoError(t, err, "a file being written is not trimmed")
	read("a")
	require.Equal(t, 1, fetches("a"), "a was kept")
	read("b")
	require.Equal(t, 2, fetches("b"), "b was trimmed and is fetched again")
}

// With CacheWrites, an object stored by a single PUT is read back from
// the cache with no fetch, byte-exact; one larger than the cache is not
// kept and is fetched.
func TestWritesAreCached(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	be, _ := freshWith(t, gateway.Options{Dir: work, CacheBytes: 150 << 10, CacheWrites: true})
	require.NoError(t, be.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("writes")}, nil))
	put := func(key string, body []byte) uint64 {
		t.Helper()
		_, err := be.PutObject(ctx, s3response.PutObjectInput{Bucket: aws.String("writes"), Key: aws.String(key), Body: bytes.NewReader(body)})
		require.NoError(t, err)
		ds, err := storage.Deals(ctx)
		require.NoError(t, err)
		return ds[len(ds)-1].ID
	}
	get := func(key string) []byte {
		t.Helper()
		out, err := be.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("writes"), Key: aws.String(key)})
		require.NoError(t, err)
		defer out.Body.Close()
		bz, err := io.ReadAll(out.Body)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return be.Fetching() == 0 }, 10*time.Second, 5*time.Millisecond)
		return bz
	}
	fetches := func(deal uint64) int {
		storage.mu.Lock()
		defer storage.mu.Unlock()
		return storage.gets[deal]
	}
	small, big := randomBytes(t, 100<<10), randomBytes(t, 200<<10)
	d1 := put("small", small)
	require.Equal(t, small, get("small"))
	require.Zero(t, fetches(d1), "read from the cache the PUT filled")
	require.Zero(t, be.SpoolUsed(), "the body left the spool")
	d2 := put("big", big)
	require.Equal(t, big, get("big"))
	require.Equal(t, 1, fetches(d2), "larger than the cache: fetched")
	// The fetch trims the cache but keeps the copy it just made.
	require.Equal(t, int64(len(big)), dirBytes(t, filepath.Join(work, "cache")), "the small copy was trimmed")
}
