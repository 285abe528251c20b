package gateway

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/versity/versitygw/backend"
	"github.com/versity/versitygw/s3err"
	"github.com/versity/versitygw/s3response"
	bolt "go.etcd.io/bbolt"

	"github.com/stratusnet/stratus/writeback"
)

// Multipart uploads. Each part is spooled to its own file as it arrives
// (never held in memory); the index keeps the upload and its parts' ETags
// and sizes. Complete concatenates the parts named, in order, into one
// file and stores it as one deal (ADR 012): reads, repairs and deletes of
// the object stay those of any deal.

// minPartSize is S3's least size of every part but the last.
const minPartSize = 5 << 20

// maxParts is S3's most parts in an upload.
const maxParts = 10000

var uploadsKey = []byte("uploads")

type upload struct {
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Initiated   time.Time         `json:"initiated"`
	Parts       map[int]part      `json:"parts"`
}

type part struct {
	ETag     string    `json:"etag"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

func (b *Backend) partsDir(id string) string { return filepath.Join(b.opts.Dir, "parts", id) }

func (b *Backend) partPath(id string, n int) string {
	return filepath.Join(b.partsDir(id), strconv.Itoa(n))
}

// getUpload reads upload id, which must be of bucket and key.
func (b *Backend) getUpload(tx *bolt.Tx, id, bucket, key string) (upload, error) {
	var u upload
	ups := tx.Bucket(uploadsKey)
	if ups == nil {
		return u, apiErr(s3err.ErrNoSuchUpload)
	}
	v := ups.Get([]byte(id))
	if v == nil {
		return u, apiErr(s3err.ErrNoSuchUpload)
	}
	if err := json.Unmarshal(v, &u); err != nil {
		return u, err
	}
	if u.Bucket != bucket || u.Key != key {
		return u, apiErr(s3err.ErrNoSuchUpload)
	}
	return u, nil
}

func putUpload(tx *bolt.Tx, id string, u upload) error {
	ups, err := tx.CreateBucketIfNotExists(uploadsKey)
	if err != nil {
		return err
	}
	v, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return ups.Put([]byte(id), v)
}

func (b *Backend) CreateMultipartUpload(_ context.Context, in s3response.CreateMultipartUploadInput) (s3response.InitiateMultipartUploadResult, error) {
	bucket, key := aws(in.Bucket), aws(in.Key)
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return s3response.InitiateMultipartUploadResult{}, err
	}
	id := hex.EncodeToString(raw)
	if err := os.MkdirAll(b.partsDir(id), 0o700); err != nil {
		return s3response.InitiateMultipartUploadResult{}, err
	}
	err := b.index.db.Update(func(tx *bolt.Tx) error {
		if _, err := b.index.objects(tx, bucket); err != nil {
			return err
		}
		return putUpload(tx, id, upload{Bucket: bucket, Key: key, ContentType: aws(in.ContentType), Metadata: in.Metadata,
			Initiated: b.now().UTC(), Parts: map[int]part{}})
	})
	if err != nil {
		os.RemoveAll(b.partsDir(id))
		return s3response.InitiateMultipartUploadResult{}, s3Error(err)
	}
	return s3response.InitiateMultipartUploadResult{Bucket: bucket, Key: key, UploadId: id}, nil
}

// UploadPart spools the part to its file (a part sent again replaces it).
func (b *Backend) UploadPart(_ context.Context, in *s3.UploadPartInput) (*s3.UploadPartOutput, error) {
	bucket, key, id := aws(in.Bucket), aws(in.Key), aws(in.UploadId)
	n := int(aws32(in.PartNumber))
	if n < 1 || n > maxParts {
		return nil, apiErr(s3err.ErrInvalidPart)
	}
	var u upload
	if err := b.index.db.View(func(tx *bolt.Tx) (err error) { u, err = b.getUpload(tx, id, bucket, key); return err }); err != nil {
		return nil, err
	}
	if in.ContentLength != nil {
		// The parts kept and this one may all go into the object (and
		// are all on disk until Complete): refuse a part that makes
		// them too large to ever store, before it is read.
		total := *in.ContentLength
		for pn, p := range u.Parts {
			if pn != n {
				total += p.Size
			}
		}
		if err := b.fitsEver(bucket, total); err != nil {
			return nil, err
		}
	}
	f, err := os.CreateTemp(b.partsDir(id), "part-*")
	if err != nil {
		return nil, apiErr(s3err.ErrNoSuchUpload) // aborted meanwhile
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w, err := b.spoolWriter(f, in.ContentLength)
	if err != nil {
		return nil, err
	}
	kept := false // a part kept stays charged until Complete or Abort
	defer func() {
		if !kept {
			w.release()
		}
	}()
	sum := md5.New()
	var body io.Reader = in.Body
	if body == nil {
		body = strings.NewReader("")
	}
	size, err := io.Copy(io.MultiWriter(w, sum), body)
	if err != nil {
		return nil, err
	}
	if in.ContentLength != nil && size != *in.ContentLength {
		return nil, apiErr(s3err.ErrIncompleteBody)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	etag := `"` + hex.EncodeToString(sum.Sum(nil)) + `"`
	var replaced int64
	err = b.index.db.Update(func(tx *bolt.Tx) error {
		u, err := b.getUpload(tx, id, bucket, key)
		if err != nil {
			return err
		}
		if err := os.Rename(f.Name(), b.partPath(id, n)); err != nil {
			return err
		}
		replaced = u.Parts[n].Size
		u.Parts[n] = part{ETag: etag, Size: size, Modified: b.now().UTC()}
		return putUpload(tx, id, u)
	})
	if err != nil {
		return nil, err
	}
	kept = true
	b.spool.give(replaced)
	return &s3.UploadPartOutput{ETag: &etag}, nil
}

func (b *Backend) ListParts(_ context.Context, in *s3.ListPartsInput) (s3response.ListPartsResult, error) {
	bucket, key, id := aws(in.Bucket), aws(in.Key), aws(in.UploadId)
	var u upload
	if err := b.index.db.View(func(tx *bolt.Tx) (err error) { u, err = b.getUpload(tx, id, bucket, key); return err }); err != nil {
		return s3response.ListPartsResult{}, err
	}
	marker, _ := strconv.Atoi(aws(in.PartNumberMarker))
	limit := maxListKeys
	if in.MaxParts != nil && *in.MaxParts > 0 && int(*in.MaxParts) < limit {
		limit = int(*in.MaxParts)
	}
	numbers := make([]int, 0, len(u.Parts))
	for n := range u.Parts {
		if n > marker {
			numbers = append(numbers, n)
		}
	}
	sort.Ints(numbers)
	out := s3response.ListPartsResult{Bucket: bucket, Key: key, UploadID: id, PartNumberMarker: marker, MaxParts: limit,
		StorageClass: types.StorageClassStandard}
	for i, n := range numbers {
		if i == limit {
			out.IsTruncated = true
			break
		}
		p := u.Parts[n]
		out.Parts = append(out.Parts, s3response.Part{PartNumber: n, ETag: p.ETag, Size: p.Size, LastModified: p.Modified})
		out.NextPartNumberMarker = n
	}
	return out, nil
}

func (b *Backend) ListMultipartUploads(_ context.Context, in *s3.ListMultipartUploadsInput) (s3response.ListMultipartUploadsResult, error) {
	bucket := aws(in.Bucket)
	var all []s3response.Upload
	err := b.index.db.View(func(tx *bolt.Tx) error {
		if _, err := b.index.objects(tx, bucket); err != nil {
			return err
		}
		ups := tx.Bucket(uploadsKey)
		if ups == nil {
			return nil
		}
		return ups.ForEach(func(k, v []byte) error {
			var u upload
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			if u.Bucket == bucket {
				all = append(all, s3response.Upload{Key: u.Key, UploadID: string(k), Initiated: u.Initiated, StorageClass: types.StorageClassStandard})
			}
			return nil
		})
	})
	if err != nil {
		return s3response.ListMultipartUploadsResult{}, s3Error(err)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Key != all[j].Key {
			return all[i].Key < all[j].Key
		}
		return all[i].UploadID < all[j].UploadID
	})
	limit := maxListKeys
	if in.MaxUploads != nil && *in.MaxUploads > 0 && int(*in.MaxUploads) < limit {
		limit = int(*in.MaxUploads)
	}
	page, err := backend.ListMultipartUploads(all, aws(in.Prefix), aws(in.Delimiter), aws(in.KeyMarker), aws(in.UploadIdMarker), limit)
	if err != nil {
		return s3response.ListMultipartUploadsResult{}, err
	}
	return s3response.ListMultipartUploadsResult{
		Bucket: bucket, KeyMarker: aws(in.KeyMarker), UploadIDMarker: aws(in.UploadIdMarker), Prefix: aws(in.Prefix),
		Delimiter: aws(in.Delimiter), MaxUploads: limit, IsTruncated: page.IsTruncated, NextKeyMarker: page.NextKeyMarker,
		NextUploadIDMarker: page.NextUploadIDMarker, Uploads: page.Uploads, CommonPrefixes: page.CommonPrefixes,
	}, nil
}

func (b *Backend) AbortMultipartUpload(_ context.Context, in *s3.AbortMultipartUploadInput) error {
	id := aws(in.UploadId)
	var u upload
	err := b.index.db.Update(func(tx *bolt.Tx) (err error) {
		if u, err = b.getUpload(tx, id, aws(in.Bucket), aws(in.Key)); err != nil {
			return err
		}
		return tx.Bucket(uploadsKey).Delete([]byte(id))
	})
	if err != nil {
		return err
	}
	b.dropParts(id, u)
	return nil
}

// CompleteMultipartUpload checks the parts named (ascending, each uploaded
// with that ETag, all but the last at least 5 MiB), concatenates them into
// one file and stores it as the object's deal. Its ETag is S3's: the MD5
// of the parts' MD5s, dash, the part count.
func (b *Backend) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput) (s3response.CompleteMultipartUploadResult, string, error) {
	bucket, key, id := aws(in.Bucket), aws(in.Key), aws(in.UploadId)
	var u upload
	if err := b.index.db.View(func(tx *bolt.Tx) (err error) { u, err = b.getUpload(tx, id, bucket, key); return err }); err != nil {
		return s3response.CompleteMultipartUploadResult{}, "", err
	}
	var named []types.CompletedPart
	if in.MultipartUpload != nil {
		named = in.MultipartUpload.Parts
	}
	if len(named) == 0 {
		return s3response.CompleteMultipartUploadResult{}, "", apiErr(s3err.ErrInvalidPart)
	}
	sums := md5.New()
	for i, np := range named {
		n := int(aws32(np.PartNumber))
		if i > 0 && n <= int(aws32(named[i-1].PartNumber)) {
			return s3response.CompleteMultipartUploadResult{}, "", apiErr(s3err.ErrInvalidPartOrder)
		}
		p, ok := u.Parts[n]
		if !ok || strings.Trim(aws(np.ETag), `"`) != strings.Trim(p.ETag, `"`) {
			return s3response.CompleteMultipartUploadResult{}, "", apiErr(s3err.ErrInvalidPart)
		}
		if i < len(named)-1 && p.Size < minPartSize {
			return s3response.CompleteMultipartUploadResult{}, "", apiErr(s3err.ErrEntityTooSmall)
		}
		raw, err := hex.DecodeString(strings.Trim(p.ETag, `"`))
		if err != nil {
			return s3response.CompleteMultipartUploadResult{}, "", err
		}
		sums.Write(raw)
	}
	// The parts are read in order into the deal: no assembled copy.
	parts := &partsReader{}
	defer parts.Close()
	var size int64
	for _, np := range named {
		n := int(aws32(np.PartNumber))
		parts.paths = append(parts.paths, b.partPath(id, n))
		size += u.Parts[n].Size
	}
	obj := Object{Size: size, ETag: fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(sums.Sum(nil)), len(named)),
		ContentType: u.ContentType, Metadata: u.Metadata, Modified: b.now().UTC()}
	obj, err := b.keep(ctx, bucket, key, parts, obj)
	if err != nil {
		return s3response.CompleteMultipartUploadResult{}, "", err
	}
	_ = b.index.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(uploadsKey).Delete([]byte(id)) })
	b.dropParts(id, u)
	return s3response.CompleteMultipartUploadResult{Bucket: &bucket, Key: &key, ETag: &obj.ETag}, "", nil
}

// CopyObject stores the source object's bytes as a new deal for the
// destination key: each key owns its deal, so deleting one never ends
// another's.
func (b *Backend) CopyObject(ctx context.Context, in s3response.CopyObjectInput) (s3response.CopyObjectOutput, error) {
	src := strings.TrimPrefix(aws(in.CopySource), "/")
	if i := strings.Index(src, "?"); i >= 0 {
		src = src[:i]
	}
	if u, err := url.PathUnescape(src); err == nil {
		src = u
	}
	srcBucket, srcKey, ok := strings.Cut(src, "/")
	if !ok || srcKey == "" {
		return s3response.CopyObjectOutput{}, apiErr(s3err.ErrInvalidRequest)
	}
	dstBucket, dstKey := aws(in.Bucket), aws(in.Key)
	obj, err := b.lookup(srcBucket, srcKey)
	if err != nil {
		return s3response.CopyObjectOutput{}, err
	}
	replace := in.MetadataDirective == types.MetadataDirectiveReplace
	if srcBucket == dstBucket && srcKey == dstKey && !replace {
		return s3response.CopyObjectOutput{}, apiErr(s3err.ErrInvalidCopyDest)
	}
	if replace {
		obj.Metadata, obj.ContentType = in.Metadata, aws(in.ContentType)
	}
	f, err := b.open(ctx, obj)
	if err != nil {
		return s3response.CopyObjectOutput{}, err
	}
	defer f.Close()
	obj.Modified = b.now().UTC()
	if obj, err = b.keep(ctx, dstBucket, dstKey, f, obj); err != nil {
		return s3response.CopyObjectOutput{}, err
	}
	return s3response.CopyObjectOutput{CopyObjectResult: &s3response.CopyObjectResult{ETag: &obj.ETag, LastModified: &obj.Modified}}, nil
}

// DeleteObjects deletes each key named, as DeleteObject does, and reports
// each one.
func (b *Backend) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput) (s3response.DeleteResult, error) {
	var out s3response.DeleteResult
	if in.Delete == nil {
		return out, apiErr(s3err.ErrMalformedXML)
	}
	for _, o := range in.Delete.Objects {
		_, err := b.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: in.Bucket, Key: o.Key})
		if err != nil {
			code, msg := "InternalError", err.Error()
			if apiErr, ok := err.(s3err.APIError); ok {
				code, msg = apiErr.Code, apiErr.Description
			}
			out.Error = append(out.Error, types.Error{Key: o.Key, Code: &code, Message: &msg})
			continue
		}
		out.Deleted = append(out.Deleted, types.DeletedObject{Key: o.Key})
	}
	return out, nil
}

func aws32(v *int32) int32 {
	if v == nil {
		return 0
	}
	return *v
}

// dropParts deletes upload id's parts and gives their bytes back to the
// spool.
func (b *Backend) dropParts(id string, u upload) {
	_ = os.RemoveAll(b.partsDir(id))
	for _, p := range u.Parts {
		b.spool.give(p.Size)
	}
}

// partsReader reads the files at paths one after another, with one open
// at a time (an upload may have 10,000 parts).
type partsReader struct {
	paths []string
	cur   *os.File
	r     *writeback.Reader // reads cur once
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.paths) == 0 {
				return 0, io.EOF
			}
			f, err := os.Open(p.paths[0])
			if err != nil {
				return 0, err
			}
			p.cur, p.r, p.paths = f, writeback.NewReader(f, 0), p.paths[1:]
		}
		n, err := p.r.Read(b)
		if errors.Is(err, io.EOF) {
			p.cur.Close()
			p.cur = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// Close closes the part being read.
func (p *partsReader) Close() error {
	if p.cur != nil {
		return p.cur.Close()
	}
	return nil
}
