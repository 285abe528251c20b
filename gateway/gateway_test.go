package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
	"github.com/versity/versitygw/embedgw"

	"github.com/stratusnet/stratus/gateway"
)

const (
	accessKey = "STRATUSTESTKEY"
	secretKey = "stratus-test-secret"
)

// fakeStorage keeps deals as files: the S3 surface is the gateway's, the
// storage is tested elsewhere (and end to end on a localnet).
type fakeStorage struct {
	dir     string
	mu      sync.Mutex
	next    uint64
	deleted map[uint64]bool
	gets    map[uint64]int // fetches of each deal
	terms   map[uint64]gateway.PutTerms
	// failDeletes makes Delete fail, leaving the deal live (a cancel that
	// did not go through).
	failDeletes bool
	// halfway and failHalfway stop (and fail) fetches at half (Get).
	halfway     chan struct{}
	failHalfway bool
	// swapHalfway makes a fetch report wrong bytes, then end well into
	// another file (the SDK's ranged get failing its root check and a
	// whole download making the object).
	swapHalfway bool
}

func (s *fakeStorage) path(id uint64) string { return filepath.Join(s.dir, strconv.FormatUint(id, 10)) }

func (s *fakeStorage) Put(_ context.Context, r io.Reader, size int64, t gateway.PutTerms) (uint64, error) {
	bz, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	if int64(len(bz)) != size {
		return 0, fmt.Errorf("read %d bytes, want %d", len(bz), size)
	}
	s.mu.Lock()
	s.next++
	id := s.next
	s.terms[id] = t
	s.mu.Unlock()
	return id, os.WriteFile(s.path(id), bz, 0o600)
}

// Staging is what a client's put of a replicated deal stages: a sealed
// copy about the object's size.
func (s *fakeStorage) Staging(size int64, _ gateway.PutTerms) int64 { return size }

func (s *fakeStorage) Deals(context.Context) ([]gateway.Deal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gateway.Deal
	for id := uint64(1); id <= s.next; id++ {
		out = append(out, gateway.Deal{ID: id, Live: !s.deleted[id], Label: s.terms[id].Label})
	}
	return out, nil
}

func (s *fakeStorage) termsOf(id uint64) gateway.PutTerms {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.terms[id]
}

// Get writes the deal as the SDK does: into a temporary file beside path,
// reported to partial as it grows, renamed to path at the end. With
// halfway set, it stops after half the bytes until halfway is closed, or
// fails there if failHalfway is set.
func (s *fakeStorage) Get(_ context.Context, id uint64, path string, partial func(string, int64)) error {
	s.mu.Lock()
	s.gets[id]++
	halfway, fail, swap := s.halfway, s.failHalfway, s.swapHalfway
	s.mu.Unlock()
	time.Sleep(100 * time.Millisecond) // a fetch takes time: parallel reads overlap it
	bz, err := os.ReadFile(s.path(id))
	if err != nil {
		return err
	}
	right := bz
	if swap {
		bz = bytes.Clone(bz)
		for i := range bz {
			bz[i] ^= 0xff
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fake-get-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var done int64
	for len(bz) > 0 {
		n := min(len(bz), 64<<10)
		if _, err := tmp.Write(bz[:n]); err != nil {
			return err
		}
		bz, done = bz[n:], done+int64(n)
		if partial != nil {
			partial(tmp.Name(), done)
		}
		if halfway != nil && len(bz) <= int(done) {
			<-halfway
			halfway = nil
			if fail {
				return errors.New("the providers went away")
			}
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if swap {
		return os.WriteFile(path, right, 0o600)
	}
	return os.Rename(tmp.Name(), path)
}

func (s *fakeStorage) Delete(_ context.Context, id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failDeletes {
		return errors.New("the chain refused the cancel")
	}
	s.deleted[id] = true
	return os.Remove(s.path(id))
}

func (s *fakeStorage) isDeleted(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleted[id]
}

var (
	endpoint string
	storage  *fakeStorage
	served   *gateway.Backend
	labelKey = bytes.Repeat([]byte{0x5a}, 32)
)

// TestMain runs one gateway for the package: versitygw allows one per
// process.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stratus-gateway-test")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		storage = &fakeStorage{dir: filepath.Join(dir, "deals"), deleted: map[uint64]bool{}, gets: map[uint64]int{}, terms: map[uint64]gateway.PutTerms{}}
		if err := os.MkdirAll(storage.dir, 0o700); err != nil {
			panic(err)
		}
		index, err := gateway.OpenIndex(filepath.Join(dir, "index.db"))
		if err != nil {
			panic(err)
		}
		defer index.Close()
		be, err := gateway.New(index, storage, gateway.Options{Dir: filepath.Join(dir, "work"), LabelKey: labelKey, MaxLabel: 2048})
		if err != nil {
			panic(err)
		}
		served = be
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		addr := l.Addr().String()
		l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- embedgw.RunVersityGW(ctx, be, &embedgw.Config{
				RootUserAccess: accessKey, RootUserSecret: secretKey, Ports: []string{addr},
				MaxConnections: 64, MaxRequests: 64, MultipartMaxParts: 10000, Quiet: true,
			})
		}()
		endpoint = "http://" + addr
		for range 100 {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		defer func() {
			cancel()
			<-done
		}()
		return m.Run()
	}()
	os.Exit(code)
}

func client(t *testing.T, secret string) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secret, ""),
	})
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "want %s, got %v", code, err)
	require.Equal(t, code, apiErr.ErrorCode(), "%v", err)
}

// Buckets: create, head, list, refuse a duplicate, refuse to delete a
// bucket with objects, delete an empty one.
func TestBuckets(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")})
	require.NoError(t, err)
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")})
	requireCode(t, err, "BucketAlreadyOwnedByYou")
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("photos")})
	require.NoError(t, err)
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope")})
	require.Error(t, err)
	list, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	require.NoError(t, err)
	var names []string
	for _, b := range list.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	require.Contains(t, names, "photos")

	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("a.jpg"), Body: bytes.NewReader([]byte("x"))})
	require.NoError(t, err)
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("photos")})
	requireCode(t, err, "BucketNotEmpty")
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("a.jpg")})
	require.NoError(t, err)
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("photos")})
	require.NoError(t, err)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String("b"), Body: bytes.NewReader([]byte("x"))})
	requireCode(t, err, "NoSuchBucket")
}

// Objects: put, get (whole and ranges), head with metadata, overwrite
// (the old deal ends), delete (the deal ends), a missing key, a bad
// Content-MD5.
func TestObjects(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("objects")})
	require.NoError(t, err)
	data := randomBytes(t, 300_001)
	sum := md5.Sum(data)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("objects"), Key: aws.String("dir/file.bin"), Body: bytes.NewReader(data),
		ContentType: aws.String("application/x-test"), Metadata: map[string]string{"origin": "test"},
	})
	require.NoError(t, err)

	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objects"), Key: aws.String("dir/file.bin")})
	require.NoError(t, err)
	body, err := io.ReadAll(got.Body)
	require.NoError(t, err)
	require.Equal(t, data, body)
	require.Equal(t, fmt.Sprintf(`"%x"`, sum), aws.ToString(got.ETag))

	for _, r := range []struct {
		header     string
		start, end int
	}{{"bytes=0-99", 0, 99}, {"bytes=1000-", 1000, len(data) - 1}, {"bytes=-10", len(data) - 10, len(data) - 1}} {
		got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objects"), Key: aws.String("dir/file.bin"), Range: aws.String(r.header)})
		require.NoError(t, err, r.header)
		body, err := io.ReadAll(got.Body)
		require.NoError(t, err)
		require.Equal(t, data[r.start:r.end+1], body, r.header)
		require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", r.start, r.end, len(data)), aws.ToString(got.ContentRange))
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objects"), Key: aws.String("dir/file.bin"), Range: aws.String("bytes=999999-")})
	requireCode(t, err, "InvalidRange")

	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("objects"), Key: aws.String("dir/file.bin")})
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), aws.ToInt64(head.ContentLength))
	require.Equal(t, "application/x-test", aws.ToString(head.ContentType))
	require.Equal(t, "test", head.Metadata["origin"])

	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objects"), Key: aws.String("missing")})
	requireCode(t, err, "NoSuchKey")

	// A Content-MD5 that is not the body's stores nothing.
	wrong := md5.Sum([]byte("something else"))
	_, err = c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("objects"), Key: aws.String("bad"), Body: bytes.NewReader(data),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(wrong[:])),
	})
	requireCode(t, err, "BadDigest")
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("objects"), Key: aws.String("bad")})
	require.Error(t, err, "a refused put leaves no object")

	// Overwriting ends the old deal; deleting ends the new one.
	storage.mu.Lock()
	first := storage.next
	storage.mu.Unlock()
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("objects"), Key: aws.String("dir/file.bin"), Body: bytes.NewReader([]byte("v2"))})
	require.NoError(t, err)
	require.True(t, storage.isDeleted(first), "the replaced object's deal is ended")
	got, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objects"), Key: aws.String("dir/file.bin")})
	require.NoError(t, err)
	body, err = io.ReadAll(got.Body)
	require.NoError(t, err)
	require.Equal(t, []byte("v2"), body)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("objects"), Key: aws.String("dir/file.bin")})
	require.NoError(t, err)
	require.True(t, storage.isDeleted(first+1))
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("objects"), Key: aws.String("dir/file.bin")})
	require.Error(t, err)
}

// ListObjectsV2 over 1,100 keys: pages of max-keys with continuation
// tokens, a prefix, a delimiter folding "directories", and start-after.
func TestListObjectsV2(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("many")})
	require.NoError(t, err)
	var want []string
	for i := range 1000 {
		want = append(want, fmt.Sprintf("logs/%04d.txt", i))
	}
	want = append(want, "a/1", "a/2", "b/x/1", "top.txt")
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, k := range want {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("many"), Key: aws.String(k), Body: bytes.NewReader([]byte(k))})
			require.NoError(t, err)
		})
	}
	wg.Wait()

	// Every key once, in order, across pages.
	var keys []string
	pages := 0
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("many"), MaxKeys: aws.Int32(300)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		require.NoError(t, err)
		pages++
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	require.Equal(t, 4, pages)
	require.Len(t, keys, len(want))
	for i := 1; i < len(keys); i++ {
		require.Less(t, keys[i-1], keys[i])
	}

	// The delimiter folds everything under a "/" after the prefix.
	page, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("many"), Delimiter: aws.String("/")})
	require.NoError(t, err)
	require.Equal(t, []string{"a/", "b/", "logs/"}, prefixes(page.CommonPrefixes))
	require.Len(t, page.Contents, 1)
	require.Equal(t, "top.txt", aws.ToString(page.Contents[0].Key))

	page, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("many"), Prefix: aws.String("b/"), Delimiter: aws.String("/")})
	require.NoError(t, err)
	require.Equal(t, []string{"b/x/"}, prefixes(page.CommonPrefixes))
	require.Empty(t, page.Contents)

	page, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("many"), Prefix: aws.String("logs/"), StartAfter: aws.String("logs/0997.txt")})
	require.NoError(t, err)
	require.Len(t, page.Contents, 2)
	require.Equal(t, "logs/0998.txt", aws.ToString(page.Contents[0].Key))

	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nope")})
	requireCode(t, err, "NoSuchBucket")
}

func prefixes(ps []s3types.CommonPrefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, aws.ToString(p.Prefix))
	}
	return out
}

// A wrong secret is SignatureDoesNotMatch and changes nothing; a
// presigned GET works without credentials and fails once tampered with.
func TestSignatures(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("signed")})
	require.NoError(t, err)
	_, err = client(t, "wrong-secret").PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("signed"), Key: aws.String("k"), Body: bytes.NewReader([]byte("x"))})
	requireCode(t, err, "SignatureDoesNotMatch")
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("signed"), Key: aws.String("k")})
	require.Error(t, err, "a refused put stores nothing")

	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("signed"), Key: aws.String("k"), Body: bytes.NewReader([]byte("presigned bytes"))})
	require.NoError(t, err)
	req, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("signed"), Key: aws.String("k")},
		s3.WithPresignExpires(time.Minute))
	require.NoError(t, err)
	resp, err := http.Get(req.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Equal(t, "presigned bytes", string(body))

	resp, err = http.Get(req.URL + "x")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a tampered presigned URL is refused")
}

// Multipart: parts are listed as they come, an upload is listed until it
// completes, the parts named must be ascending, uploaded and (all but the
// last) at least 5 MiB; the completed object is the parts in order, with
// S3's multipart ETag. An aborted upload is gone.
func TestMultipart(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("multi")})
	require.NoError(t, err)
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("big.bin")})
	require.NoError(t, err)
	parts := [][]byte{randomBytes(t, 5<<20), randomBytes(t, 5<<20+7), randomBytes(t, 1234)}
	var done []s3types.CompletedPart
	var sums []byte
	for i, p := range parts {
		res, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("multi"), Key: aws.String("big.bin"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		require.NoError(t, err)
		sum := md5.Sum(p)
		sums = append(sums, sum[:]...)
		require.Equal(t, fmt.Sprintf(`"%x"`, sum), aws.ToString(res.ETag))
		done = append(done, s3types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: res.ETag})
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("multi"), Key: aws.String("big.bin"), UploadId: up.UploadId})
	require.NoError(t, err)
	require.Len(t, lp.Parts, 3)
	require.Equal(t, int64(5<<20+7), aws.ToInt64(lp.Parts[1].Size))
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("multi")})
	require.NoError(t, err)
	require.Len(t, lu.Uploads, 1)
	require.Equal(t, aws.ToString(up.UploadId), aws.ToString(lu.Uploads[0].UploadId))

	complete := func(ps []s3types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("big.bin"),
			UploadId: up.UploadId, MultipartUpload: &s3types.CompletedMultipartUpload{Parts: ps}})
		return err
	}
	requireCode(t, complete([]s3types.CompletedPart{done[1], done[0], done[2]}), "InvalidPartOrder")
	requireCode(t, complete([]s3types.CompletedPart{done[0], {PartNumber: aws.Int32(2), ETag: done[0].ETag}, done[2]}), "InvalidPart")
	requireCode(t, complete([]s3types.CompletedPart{done[0], done[2], {PartNumber: aws.Int32(4), ETag: done[2].ETag}}), "EntityTooSmall")
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("multi"), Key: aws.String("big.bin")})
	require.Error(t, err, "a refused completion stores nothing")

	require.NoError(t, complete(done))
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("multi"), Key: aws.String("big.bin")})
	require.NoError(t, err)
	body, err := io.ReadAll(got.Body)
	require.NoError(t, err)
	require.Equal(t, bytes.Join(parts, nil), body)
	require.Equal(t, fmt.Sprintf(`"%x-3"`, md5.Sum(sums)), aws.ToString(got.ETag))
	lu, err = c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("multi")})
	require.NoError(t, err)
	require.Empty(t, lu.Uploads, "a completed upload is no longer listed")

	// Abort: the upload and its parts are gone.
	up2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("gone.bin")})
	require.NoError(t, err)
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("multi"), Key: aws.String("gone.bin"), UploadId: up2.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part"))})
	require.NoError(t, err)
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("multi"), Key: aws.String("gone.bin"), UploadId: up2.UploadId})
	require.NoError(t, err)
	_, err = c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("multi"), Key: aws.String("gone.bin"), UploadId: up2.UploadId})
	requireCode(t, err, "NoSuchUpload")
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("multi"), Key: aws.String("gone.bin"), UploadId: up2.UploadId,
		PartNumber: aws.Int32(2), Body: bytes.NewReader([]byte("late"))})
	requireCode(t, err, "NoSuchUpload")
}

// CopyObject makes an independent object (its own deal); DeleteObjects
// deletes several keys and reports each.
func TestCopyAndDeleteObjects(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("copies")})
	require.NoError(t, err)
	data := randomBytes(t, 4096)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("copies"), Key: aws.String("src"), Body: bytes.NewReader(data)})
	require.NoError(t, err)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copies"), Key: aws.String("dst"), CopySource: aws.String("copies/src")})
	require.NoError(t, err)
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("copies"), Key: aws.String("x"), CopySource: aws.String("copies/missing")})
	requireCode(t, err, "NoSuchKey")

	res, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("copies"), Delete: &s3types.Delete{
		Objects: []s3types.ObjectIdentifier{{Key: aws.String("src")}, {Key: aws.String("never-there")}}}})
	require.NoError(t, err)
	require.Len(t, res.Deleted, 2)
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("copies"), Key: aws.String("dst")})
	require.NoError(t, err, "the copy outlives its source")
	body, err := io.ReadAll(got.Body)
	require.NoError(t, err)
	require.Equal(t, data, body)
}

// ListObjects (version 1) pages with markers over the same keys.
func TestListObjectsV1(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("list-v1")})
	require.NoError(t, err)
	for i := range 25 {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("list-v1"), Key: aws.String(fmt.Sprintf("k/%02d", i)), Body: bytes.NewReader([]byte("x"))})
		require.NoError(t, err)
	}
	var keys []string
	marker := ""
	for {
		page, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("list-v1"), MaxKeys: aws.Int32(10), Marker: aws.String(marker)})
		require.NoError(t, err)
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		marker = aws.ToString(page.NextMarker)
	}
	require.Len(t, keys, 25)
	require.Equal(t, "k/00", keys[0])
	require.Equal(t, "k/24", keys[24])
	page, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("list-v1"), Delimiter: aws.String("/")})
	require.NoError(t, err)
	require.Equal(t, []string{"k/"}, prefixes(page.CommonPrefixes))
}

// Many parallel ranged GETs of an object not yet cached (as aws-cli sends)
// fetch its deal once.
func TestParallelRangesFetchOnce(t *testing.T) {
	ctx := context.Background()
	c := client(t, secretKey)
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ranges")})
	require.NoError(t, err)
	data := randomBytes(t, 80_000)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ranges"), Key: aws.String("k"), Body: bytes.NewReader(data)})
	require.NoError(t, err)
	storage.mu.Lock()
	deal := storage.next
	storage.mu.Unlock()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r := fmt.Sprintf("bytes=%d-%d", i*10_000, i*10_000+9_999)
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("ranges"), Key: aws.String("k"), Range: aws.String(r)})
			require.NoError(t, err)
			body, err := io.ReadAll(got.Body)
			require.NoError(t, err)
			require.Equal(t, data[i*10_000:(i+1)*10_000], body)
		})
	}
	wg.Wait()
	storage.mu.Lock()
	defer storage.mu.Unlock()
	require.Equal(t, 1, storage.gets[deal], "one fetch of the deal for all the ranges")
}

// A client that asks "Expect: 100-Continue" (aws-sdk-go v1, hence rclone,
// capitalises it; RFC 9110 makes the token case-insensitive) is told to go
// on at once. Before fasthttp v1.76 only the lower-case token was
// answered, and such clients waited their whole expect-continue timeout
// (rclone: 1 s) before every part.
func TestExpectContinueInAnyCase(t *testing.T) {
	for _, token := range []string{"100-Continue", "100-continue"} {
		c, err := net.Dial("tcp", endpoint[len("http://"):])
		require.NoError(t, err)
		_, err = fmt.Fprintf(c, "PUT /expect/key HTTP/1.1\r\nHost: %s\r\nContent-Length: 10\r\nExpect: %s\r\n\r\n", endpoint[len("http://"):], token)
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		line := make([]byte, len("HTTP/1.1 100 Continue"))
		_, err = io.ReadFull(c, line)
		require.NoError(t, err, "Expect: %s: no interim answer before the body", token)
		require.Equal(t, "HTTP/1.1 100 Continue", string(line), "Expect: %s", token)
		c.Close()
	}
}
