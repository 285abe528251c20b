package gateway_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/require"
	"github.com/versity/versitygw/s3err"

	"github.com/stratusnet/stratus/gateway"
)

// fresh is a new gateway's backend (an empty index) over the same chain
// storage, with the label key given.
func fresh(t *testing.T, key []byte) (*gateway.Backend, *gateway.Index) {
	t.Helper()
	return freshWith(t, gateway.Options{LabelKey: key, MaxLabel: 2048})
}

// freshWith is fresh with options (Dir is set here).
func freshWith(t *testing.T, o gateway.Options) (*gateway.Backend, *gateway.Index) {
	t.Helper()
	dir := t.TempDir()
	index, err := gateway.OpenIndex(filepath.Join(dir, "index.db"))
	require.NoError(t, err)
	t.Cleanup(func() { index.Close() })
	if o.Dir == "" {
		o.Dir = filepath.Join(dir, "work")
	}
	be, err := gateway.New(index, storage, o)
	require.NoError(t, err)
	require.True(t, index.Empty())
	return be, index
}

func head(t *testing.T, be *gateway.Backend, bucket, key string) (*s3.HeadObjectOutput, error) {
	t.Helper()
	return be.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
}

func readAll(t *testing.T, be *gateway.Backend, bucket, key string) []byte {
	t.Helper()
	out, err := be.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)
	defer out.Body.Close()
	bz, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	return bz
}

// A new gateway with the same storage key rebuilds the index from the
// newest backup deal and the labels of the object deals made after it:
// objects deleted since are dropped, overwritten ones point to their new
// deal, new ones (in a bucket the backup never saw) are added. Another
// key reads nothing.
func TestIndexRebuildsFromBackupAndLabels(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	put := func(bucket, key string, body []byte, meta map[string]string) {
		t.Helper()
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentType: aws.String("text/plain"), Metadata: meta})
		require.NoError(t, err)
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("rebuild")})
	require.NoError(t, err)
	a, b1, b2, d := randomBytes(t, 3000), randomBytes(t, 100), randomBytes(t, 200), randomBytes(t, 50)
	long := strings.Repeat("k", 1000) // S3 keys go to 1,024 bytes: the label still fits
	put("rebuild", "a", a, map[string]string{"owner": "ann"})
	put("rebuild", "b", b1, nil)
	put("rebuild", "c", []byte("gone soon"), nil)
	put("rebuild", "empty", nil, nil)
	put("rebuild", "kept", a, nil)

	backup, err := served.Backup(ctx)
	require.NoError(t, err)
	require.NotZero(t, backup)
	again, err := served.Backup(ctx)
	require.NoError(t, err)
	require.Zero(t, again, "nothing changed: no new backup")

	// After the backup: overwrite b, delete c, add d and a key in a new
	// bucket; overwrite "kept" while cancels fail, so both its deals live.
	put("rebuild", "b", b2, nil)
	storage.mu.Lock()
	storage.failDeletes = true
	storage.mu.Unlock()
	put("rebuild", "kept", d, nil)
	storage.mu.Lock()
	storage.failDeletes = false
	storage.mu.Unlock()
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("rebuild"), Key: aws.String("c")})
	require.NoError(t, err)
	put("rebuild", "dir/d", d, map[string]string{"owner": "dan", "camera": "x100"})
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("rebuild-late")})
	require.NoError(t, err)
	// Metadata too large for the label beside a long key is left out of
	// it; the object itself is still restored.
	put("rebuild-late", long, a, map[string]string{"notes": strings.Repeat("n", 1500)})

	be, _ := fresh(t, labelKey)
	rep, err := be.Rebuild(ctx)
	require.NoError(t, err)
	require.Equal(t, backup, rep.Backup)
	require.Equal(t, 1, rep.BucketsAdded)
	require.GreaterOrEqual(t, rep.FromLabels, 3) // b, dir/d, the long key
	require.GreaterOrEqual(t, rep.Dropped, 2)    // c deleted; b's first deal replaced

	h, err := head(t, be, "rebuild", "a")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"owner": "ann"}, h.Metadata, "metadata comes from the backup")
	require.Equal(t, "text/plain", aws.ToString(h.ContentType))
	require.Equal(t, a, readAll(t, be, "rebuild", "a"))
	require.Equal(t, b2, readAll(t, be, "rebuild", "b"), "the overwrite made after the backup wins")
	require.Equal(t, d, readAll(t, be, "rebuild", "dir/d"))
	require.Equal(t, d, readAll(t, be, "rebuild", "kept"), "the newer of two live deals of a key wins")
	require.Equal(t, a, readAll(t, be, "rebuild-late", long))
	h, err = head(t, be, "rebuild", "dir/d")
	require.NoError(t, err)
	require.Equal(t, int64(len(d)), aws.ToInt64(h.ContentLength))
	require.Equal(t, "text/plain", aws.ToString(h.ContentType), "content type from the label")
	require.Equal(t, map[string]string{"owner": "dan", "camera": "x100"}, h.Metadata, "metadata from the label")
	h, err = head(t, be, "rebuild-late", long)
	require.NoError(t, err)
	require.Empty(t, h.Metadata, "metadata that did not fit the label is lost")
	require.Equal(t, "text/plain", aws.ToString(h.ContentType), "the content type still fits")
	h, err = head(t, be, "rebuild", "empty")
	require.NoError(t, err)
	require.Zero(t, aws.ToInt64(h.ContentLength))
	_, err = head(t, be, "rebuild", "c")
	var miss s3err.APIError
	require.ErrorAs(t, err, &miss)
	require.Equal(t, "NoSuchKey", miss.Code)

	// The rebuilt index is backed up anew, and that cancels the old backup.
	next, err := be.Backup(ctx)
	require.NoError(t, err)
	require.Greater(t, next, backup)
	require.True(t, storage.isDeleted(backup))

	// A rebuild only goes into an empty index.
	_, err = be.Rebuild(ctx)
	require.Error(t, err)

	// Another storage key opens no label: nothing is restored.
	other, index := fresh(t, bytes.Repeat([]byte{0x33}, 32))
	rep, err = other.Rebuild(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Backup)
	require.Zero(t, rep.FromLabels)
	require.NotZero(t, rep.Unreadable)
	require.True(t, index.Empty())
}

// Bucket tags set the deal terms of the bucket's new objects; a Stratus
// tag that does not parse is refused with InvalidTag and changes nothing.
func TestBucketTagsSetDealTerms(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	bucket := aws.String("tagged")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket})
	require.NoError(t, err)
	_, err = c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
	requireCode(t, err, "NoSuchTagSet")

	putAndTerms := func() gateway.PutTerms {
		t.Helper()
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("k"), Body: bytes.NewReader([]byte("bytes"))})
		require.NoError(t, err)
		h, err := served.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("k")})
		require.NoError(t, err)
		require.NotNil(t, h)
		deals, err := storage.Deals(ctx)
		require.NoError(t, err)
		return storage.termsOf(deals[len(deals)-1].ID)
	}
	def := putAndTerms()
	require.Zero(t, def.DataShards+def.ParityShards+def.Replicas)
	require.Zero(t, def.Duration)
	require.NotEmpty(t, def.Label, "every object deal is labelled")

	tag := func(kv ...string) error {
		var set []s3types.Tag
		for i := 0; i < len(kv); i += 2 {
			set = append(set, s3types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: &s3types.Tagging{TagSet: set}})
		return err
	}
	require.NoError(t, tag(gateway.TagScheme, "4+2", gateway.TagDuration, "5000", gateway.TagMaxPrice, "500ustrat", "team", "ops"))
	got := putAndTerms()
	require.Equal(t, []uint32{4, 2, 0}, []uint32{got.DataShards, got.ParityShards, got.Replicas})
	require.Equal(t, uint64(5000), got.Duration)
	require.Equal(t, "500ustrat", got.MaxPrice)
	tags, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
	require.NoError(t, err)
	require.Len(t, tags.TagSet, 4)

	for _, bad := range [][]string{
		{gateway.TagScheme, "six"},
		{gateway.TagScheme, "0+2"},
		{gateway.TagReplicas, "0"},
		{gateway.TagScheme, "2+1", gateway.TagReplicas, "3"},
		{gateway.TagDuration, "-1"},
		{gateway.TagMaxPrice, "cheap"},
	} {
		requireCode(t, tag(bad...), "InvalidTag")
		require.Equal(t, []uint32{4, 2}, []uint32{putAndTerms().DataShards, putAndTerms().ParityShards}, "a refused tag set changes nothing")
	}

	require.NoError(t, tag(gateway.TagReplicas, "3"))
	got = putAndTerms()
	require.Equal(t, []uint32{0, 3}, []uint32{got.DataShards, got.Replicas})
	_, err = c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: bucket})
	require.NoError(t, err)
	require.Zero(t, putAndTerms().Replicas)
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("no-such-bucket"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
	requireCode(t, err, "NoSuchBucket")
}
