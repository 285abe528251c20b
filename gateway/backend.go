// Package gateway is the S3 gateway's backend (ADR 012): versitygw serves
// the S3 API, authenticates requests and speaks XML; this package maps
// buckets and keys to Stratus deals through an index (bbolt) and a
// Storage (the client SDK).
package gateway

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/versity/versitygw/backend"
	"github.com/versity/versitygw/s3err"
	"github.com/versity/versitygw/s3response"
	bolt "go.etcd.io/bbolt"
)

// Storage keeps objects' bytes: each object is one deal.
type Storage interface {
	// Put stores size bytes read from r as a new deal on terms t and
	// returns its id once every slot is committed. A read error, or fewer
	// bytes, fails it before any deal is made.
	Put(ctx context.Context, r io.Reader, size int64, t PutTerms) (uint64, error)
	// Staging bounds the disk a Put of size bytes on terms t takes while
	// it runs (the SDK's sealed copy and shards), charged to the spool.
	Staging(size int64, t PutTerms) int64
	// Get writes deal id's bytes, verified, to path. partial, if the
	// storage can, is told the file being written and how many of its
	// bytes are final (client.GetOptions.Partial).
	Get(ctx context.Context, id uint64, path string, partial func(file string, done int64)) error
	// Delete ends deal id, refunding what it has not paid out.
	Delete(ctx context.Context, id uint64) error
	// Deals lists the account's deals (Rebuild reads their labels).
	Deals(ctx context.Context) ([]Deal, error)
}

// Deal is what Rebuild needs of one of the account's deals.
type Deal struct {
	ID    uint64
	Live  bool // pending or active: neither ended nor cancelled
	Label []byte
}

// PutTerms are a new deal's label and, from its bucket's tags, the terms
// that differ from the gateway's defaults (zero: the default).
type PutTerms struct {
	Label                              []byte
	Replicas, DataShards, ParityShards uint32
	Duration                           uint64
	MaxPrice                           string
}

// Options configure a Backend.
type Options struct {
	// Dir holds uploads being spooled and the cache of fetched objects.
	Dir string
	// LabelKey (32 bytes, from LabelKey) seals the label each deal carries,
	// which lets Rebuild recover the index from the chain. Without it deals
	// carry no label and only the backups can restore the index.
	LabelKey []byte
	// MaxLabel is the longest label the chain takes (param max_label_bytes).
	MaxLabel int
	// SpoolBytes bounds the bodies and parts spooled to disk, and the
	// SDK's staging of the deals being made (0: no bound).
	SpoolBytes int64
	// CacheBytes bounds the cache of fetched objects (0: no bound).
	CacheBytes int64
	// CacheWrites keeps the body of each object stored by a single PUT in
	// that cache, so reading it back soon needs no fetch.
	CacheWrites bool
	// Logf, when set, reports each object stored and how long storing it
	// took (sealing, encoding, the deal, the upload and the commits).
	Logf func(format string, args ...any)
}

// Backend is the versitygw backend over an Index and a Storage. It embeds
// BackendUnsupported: what it does not implement answers NotImplemented.
type Backend struct {
	backend.BackendUnsupported

	index *Index
	store Storage
	opts  Options
	now   func() time.Time

	// fetching holds the deals being fetched into the cache: a client
	// reading one object in many parallel ranges (aws-cli does) shares one
	// fetch, and reads each range as soon as it has arrived.
	mu       sync.Mutex
	fetching map[uint64]*fetch

	// changes counts changes to buckets and objects; backedUp is the
	// count the last backup saw.
	changes, backedUp atomic.Uint64
	backupMu          sync.Mutex

	spool budget
}

// New returns a backend over index and store.
func New(index *Index, store Storage, o Options) (*Backend, error) {
	for _, d := range []string{"spool", "cache"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if len(o.LabelKey) != 0 && len(o.LabelKey) != 32 {
		return nil, fmt.Errorf("the label key is %d bytes, want 32", len(o.LabelKey))
	}
	b := &Backend{index: index, store: store, opts: o, now: time.Now, fetching: map[uint64]*fetch{}}
	b.spool.limit = o.SpoolBytes
	if err := b.chargeParts(); err != nil {
		return nil, err
	}
	return b, nil
}

// String names the backend in versitygw's logs.
func (b *Backend) String() string { return "Stratus" }

func apiErr(code s3err.ErrorCode) error { return s3err.GetAPIError(code) }

// s3Error maps the index's misses to S3 errors.
func s3Error(err error) error {
	switch {
	case errors.Is(err, errNoBucket):
		return apiErr(s3err.ErrNoSuchBucket)
	case errors.Is(err, errNoKey):
		return apiErr(s3err.ErrNoSuchKey)
	}
	return err
}

func (b *Backend) ListBuckets(_ context.Context, in s3response.ListBucketsInput) (s3response.ListAllMyBucketsResult, error) {
	out := s3response.ListAllMyBucketsResult{Owner: s3response.CanonicalUser{ID: in.Owner}}
	err := b.index.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketsKey).ForEach(func(k, v []byte) error {
			if !strings.HasPrefix(string(k), in.Prefix) {
				return nil
			}
			var rec bucketRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			out.Buckets.Bucket = append(out.Buckets.Bucket, s3response.ListAllMyBucketsEntry{Name: string(k), CreationDate: rec.Created})
			return nil
		})
	})
	return out, err
}

func (b *Backend) HeadBucket(_ context.Context, in *s3.HeadBucketInput) (*s3.HeadBucketOutput, error) {
	err := b.index.db.View(func(tx *bolt.Tx) error {
		_, err := b.index.objects(tx, aws(in.Bucket))
		return err
	})
	if err != nil {
		return nil, s3Error(err)
	}
	return &s3.HeadBucketOutput{}, nil
}

// GetBucketAcl answers the front end's check, on every request, that the
// bucket exists; the gateway has one account, so there are no ACLs.
func (b *Backend) GetBucketAcl(ctx context.Context, in *s3.GetBucketAclInput) ([]byte, error) {
	if _, err := b.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: in.Bucket}); err != nil {
		return nil, err
	}
	return nil, nil
}

func (b *Backend) CreateBucket(_ context.Context, in *s3.CreateBucketInput, _ []byte) error {
	name := aws(in.Bucket)
	return b.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketsKey).Get([]byte(name)) != nil {
			return apiErr(s3err.ErrBucketAlreadyOwnedByYou)
		}
		rec, err := json.Marshal(bucketRecord{Created: b.now().UTC()})
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket(objectsKey(name)); err != nil {
			return err
		}
		return tx.Bucket(bucketsKey).Put([]byte(name), rec)
	})
}

func (b *Backend) DeleteBucket(_ context.Context, bucket string) error {
	return b.update(func(tx *bolt.Tx) error {
		objs, err := b.index.objects(tx, bucket)
		if err != nil {
			return s3Error(err)
		}
		if k, _ := objs.Cursor().First(); k != nil {
			return apiErr(s3err.ErrBucketNotEmpty)
		}
		if err := tx.DeleteBucket(objectsKey(bucket)); err != nil {
			return err
		}
		return tx.Bucket(bucketsKey).Delete([]byte(bucket))
	})
}

// GetBucketVersioning: buckets are not versioned.
func (b *Backend) GetBucketVersioning(context.Context, string) (s3response.GetBucketVersioningOutput, error) {
	return s3response.GetBucketVersioningOutput{}, nil
}

// GetBucketPolicy: there are no bucket policies.
func (b *Backend) GetBucketPolicy(context.Context, string) ([]byte, error) {
	return nil, apiErr(s3err.ErrNoSuchBucketPolicy)
}

// GetObjectLockConfiguration: there is no object lock.
func (b *Backend) GetObjectLockConfiguration(context.Context, string) ([]byte, error) {
	return nil, apiErr(s3err.ErrObjectLockConfigurationNotFound)
}

// lookup reads key's record.
func (b *Backend) lookup(bucket, key string) (Object, error) {
	var obj Object
	err := b.index.db.View(func(tx *bolt.Tx) error {
		objs, err := b.index.objects(tx, bucket)
		if err != nil {
			return err
		}
		v := objs.Get([]byte(key))
		if v == nil {
			return errNoKey
		}
		return json.Unmarshal(v, &obj)
	})
	return obj, s3Error(err)
}

// PutObject spools the body to disk (the front end checks its signature
// and checksums as it is read: a bad body fails the read, and nothing is
// stored), stores it as a deal, and only then records the key. An object
// it replaces has its deal ended.
func (b *Backend) PutObject(ctx context.Context, in s3response.PutObjectInput) (s3response.PutObjectOutput, error) {
	bucket, key := aws(in.Bucket), aws(in.Key)
	if err := b.index.db.View(func(tx *bolt.Tx) error { _, err := b.index.objects(tx, bucket); return err }); err != nil {
		return s3response.PutObjectOutput{}, s3Error(err)
	}
	if in.ContentLength != nil {
		if err := b.fitsEver(bucket, *in.ContentLength); err != nil {
			return s3response.PutObjectOutput{}, err
		}
	}
	f, err := os.CreateTemp(filepath.Join(b.opts.Dir, "spool"), "put-*")
	if err != nil {
		return s3response.PutObjectOutput{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w, err := b.spoolWriter(f, in.ContentLength)
	if err != nil {
		return s3response.PutObjectOutput{}, err
	}
	defer w.release()
	sum := md5.New()
	var body io.Reader = in.Body
	if body == nil {
		body = strings.NewReader("")
	}
	n, err := io.Copy(io.MultiWriter(w, sum), body)
	if err != nil {
		return s3response.PutObjectOutput{}, err
	}
	if in.ContentLength != nil && n != *in.ContentLength {
		return s3response.PutObjectOutput{}, apiErr(s3err.ErrIncompleteBody)
	}
	if md := aws(in.ContentMD5); md != "" {
		want, err := base64.StdEncoding.DecodeString(md)
		if err != nil || len(want) != md5.Size {
			return s3response.PutObjectOutput{}, apiErr(s3err.ErrInvalidDigest)
		}
		if string(want) != string(sum.Sum(nil)) {
			return s3response.PutObjectOutput{}, apiErr(s3err.ErrBadDigest)
		}
	}
	obj := Object{
		Size: n, ETag: `"` + hex.EncodeToString(sum.Sum(nil)) + `"`, ContentType: aws(in.ContentType),
		Metadata: in.Metadata, Modified: b.now().UTC(),
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return s3response.PutObjectOutput{}, err
	}
	if obj, err = b.keep(ctx, bucket, key, f, obj); err != nil {
		return s3response.PutObjectOutput{}, err
	}
	b.keepInCache(f, obj)
	return s3response.PutObjectOutput{ETag: obj.ETag, Size: &n}, nil
}

// keepInCache moves the spooled body of an object just stored into the
// cache of fetched objects (Options.CacheWrites), so reading it back soon needs no fetch. It is
// the object's bytes as the client sent them, whose digest the deal's
// label carries; it is synced first, so a crash never leaves a cached copy
// shorter or other than the object. An object larger than the cache
// allows is not kept.
func (b *Backend) keepInCache(f *os.File, obj Object) {
	if !b.opts.CacheWrites || obj.Deal == 0 || (b.opts.CacheBytes > 0 && obj.Size > b.opts.CacheBytes) {
		return
	}
	if f.Sync() != nil {
		return
	}
	path := b.cached(obj.Deal)
	if os.Rename(f.Name(), path) == nil {
		b.trimCache(path)
	}
}

// keep stores obj.Size bytes from r as key's new deal, on its bucket's terms
// and labelled with what it is (an empty object is only a record: a deal
// holds at least one byte), records it, and ends the deal it replaces.
func (b *Backend) keep(ctx context.Context, bucket, key string, r io.Reader, obj Object) (Object, error) {
	if obj.Size > 0 {
		t, err := b.bucketTerms(bucket)
		if err != nil {
			return obj, err
		}
		t.Label = b.seal(objectLabel(bucket, key, obj))
		// The body (or the parts) stay charged while the deal is made, and
		// its staging too: both are on disk until Put returns.
		stage := b.store.Staging(obj.Size, t)
		if b.spool.limit > 0 && obj.Size+stage > b.spool.limit {
			return obj, errTooLarge(obj.Size, stage, b.spool.limit)
		}
		if !b.spool.take(stage) {
			return obj, errSpoolFull(b.spool.limit)
		}
		defer b.spool.give(stage)
		start := b.now()
		if obj.Deal, err = b.store.Put(ctx, r, obj.Size, t); err != nil {
			return obj, fmt.Errorf("storing %s/%s: %w", bucket, key, err)
		}
		if b.opts.Logf != nil {
			b.opts.Logf("stored %s/%s (%d bytes) as deal %d in %s", bucket, key, obj.Size, obj.Deal, b.now().Sub(start).Round(time.Millisecond))
		}
	} else {
		obj.Deal = 0
	}
	old, err := b.record(bucket, key, obj)
	if err != nil {
		return obj, err
	}
	b.release(ctx, old)
	return obj, nil
}

// record writes key's object and returns the deal it replaced (0: none).
func (b *Backend) record(bucket, key string, obj Object) (uint64, error) {
	var old uint64
	err := b.update(func(tx *bolt.Tx) error {
		objs, err := b.index.objects(tx, bucket)
		if err != nil {
			return err
		}
		if v := objs.Get([]byte(key)); v != nil {
			var prev Object
			if err := json.Unmarshal(v, &prev); err == nil {
				old = prev.Deal
			}
		}
		rec, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		return objs.Put([]byte(key), rec)
	})
	return old, s3Error(err)
}

// release ends a deal no key points to any more. A failure leaves the deal
// running to its end (it is paid for); the key is already gone.
func (b *Backend) release(ctx context.Context, deal uint64) {
	if deal == 0 {
		return
	}
	_ = os.Remove(b.cached(deal))
	_ = b.store.Delete(ctx, deal)
}

func (b *Backend) HeadObject(_ context.Context, in *s3.HeadObjectInput) (*s3.HeadObjectOutput, error) {
	obj, err := b.lookup(aws(in.Bucket), aws(in.Key))
	if err != nil {
		return nil, err
	}
	return &s3.HeadObjectOutput{
		AcceptRanges: ptr("bytes"), ContentLength: &obj.Size, ETag: ptr(obj.ETag), LastModified: &obj.Modified,
		ContentType: optional(obj.ContentType), Metadata: obj.Metadata, StorageClass: types.StorageClassStandard,
	}, nil
}

// GetObject serves the object, or the Range asked for, from the verified
// copy of its deal.
func (b *Backend) GetObject(ctx context.Context, in *s3.GetObjectInput) (*s3.GetObjectOutput, error) {
	obj, err := b.lookup(aws(in.Bucket), aws(in.Key))
	if err != nil {
		return nil, err
	}
	start, length, ranged, err := backend.ParseObjectRange(obj.Size, aws(in.Range))
	if err != nil {
		return nil, err
	}
	body, err := b.openRange(ctx, obj, start, length)
	if err != nil {
		return nil, err
	}
	out := &s3.GetObjectOutput{
		AcceptRanges: ptr("bytes"), ContentLength: &length, ETag: ptr(obj.ETag), LastModified: &obj.Modified,
		ContentType: optional(obj.ContentType), Metadata: obj.Metadata, StorageClass: types.StorageClassStandard,
		Body: body,
	}
	if ranged {
		out.ContentRange = ptr(fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, obj.Size))
	}
	return out, nil
}

// DeleteObject drops the key and ends its deal. Deleting a key that does
// not exist succeeds, as in S3.
func (b *Backend) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput) (*s3.DeleteObjectOutput, error) {
	bucket, key := aws(in.Bucket), aws(in.Key)
	var deal uint64
	err := b.update(func(tx *bolt.Tx) error {
		objs, err := b.index.objects(tx, bucket)
		if err != nil {
			return err
		}
		v := objs.Get([]byte(key))
		if v == nil {
			return nil
		}
		var obj Object
		if err := json.Unmarshal(v, &obj); err == nil {
			deal = obj.Deal
		}
		return objs.Delete([]byte(key))
	})
	if err != nil {
		return nil, s3Error(err)
	}
	b.release(ctx, deal)
	return &s3.DeleteObjectOutput{}, nil
}

func aws(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
