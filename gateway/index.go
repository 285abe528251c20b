package gateway

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The index is one bbolt file: a bucket "buckets" of bucket name → its
// creation record, and for each S3 bucket a bbolt bucket "b/NAME" of
// object key → Object. Keys sort as bytes, as S3 lists them.
var bucketsKey = []byte("buckets")

func objectsKey(bucket string) []byte { return []byte("b/" + bucket) }

// Object is what the index knows of one stored object.
type Object struct {
	Deal        uint64            `json:"deal"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"` // quoted hex MD5 of the bytes
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Modified    time.Time         `json:"modified"`
}

type bucketRecord struct {
	Created time.Time         `json:"created"`
	Tags    map[string]string `json:"tags,omitempty"` // Stratus tags set its objects' deal terms
}

// errNoBucket and errNoKey are the index's misses; the backend turns them
// into S3 errors.
var (
	errNoBucket = errors.New("no such bucket")
	errNoKey    = errors.New("no such key")
)

// Index is the gateway's map of buckets and keys to deals.
type Index struct{ db *bolt.DB }

// OpenIndex opens (creating) the index file at path.
func OpenIndex(path string) (*Index, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("opening the gateway index %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketsKey)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Index{db: db}, nil
}

// Close closes the index file.
func (x *Index) Close() error { return x.db.Close() }

func (x *Index) objects(tx *bolt.Tx, bucket string) (*bolt.Bucket, error) {
	b := tx.Bucket(objectsKey(bucket))
	if b == nil {
		return nil, errNoBucket
	}
	return b, nil
}
