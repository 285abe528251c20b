package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/versity/versitygw/s3err"
	bolt "go.etcd.io/bbolt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/client"
)

// Bucket tags that set the deal terms of the objects stored in the bucket
// from then on (docs/s3.md). Other tags are kept and returned as S3 does.
const (
	TagScheme   = "stratus:scheme"    // erasure code K+M, e.g. 4+2
	TagReplicas = "stratus:replicas"  // full copies instead of a code
	TagDuration = "stratus:duration"  // blocks each object is kept
	TagMaxPrice = "stratus:max-price" // most paid per slot per GiB per block, e.g. 500ustrat
)

// termsOf parses the Stratus tags among tags.
func termsOf(tags map[string]string) (PutTerms, error) {
	var t PutTerms
	bad := func(key, want string) error {
		return s3err.APIError{Code: "InvalidTag", HTTPStatusCode: http.StatusBadRequest,
			Description: fmt.Sprintf("tag %s=%q: want %s", key, tags[key], want)}
	}
	if v, ok := tags[TagScheme]; ok {
		k, m, err := client.ParseScheme(v)
		if err != nil {
			return t, bad(TagScheme, "an erasure code K+M such as 6+3")
		}
		t.DataShards, t.ParityShards = k, m
	}
	if v, ok := tags[TagReplicas]; ok {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return t, bad(TagReplicas, "a number of copies, at least 1")
		}
		if t.DataShards != 0 {
			return t, bad(TagReplicas, "no "+TagScheme+" tag beside it")
		}
		t.Replicas = uint32(n)
	}
	if v, ok := tags[TagDuration]; ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return t, bad(TagDuration, "a number of blocks, at least 1")
		}
		t.Duration = n
	}
	if v, ok := tags[TagMaxPrice]; ok {
		c, err := sdk.ParseDecCoin(v)
		if err != nil || !c.IsPositive() {
			return t, bad(TagMaxPrice, "a positive amount with its denom, such as 500ustrat")
		}
		t.MaxPrice = v
	}
	return t, nil
}

// bucketTerms are the deal terms bucket's tags set.
func (b *Backend) bucketTerms(bucket string) (PutTerms, error) {
	rec, err := b.bucket(bucket)
	if err != nil {
		return PutTerms{}, err
	}
	return termsOf(rec.Tags)
}

func (b *Backend) bucket(name string) (bucketRecord, error) {
	var rec bucketRecord
	err := b.index.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketsKey).Get([]byte(name))
		if v == nil {
			return errNoBucket
		}
		return json.Unmarshal(v, &rec)
	})
	return rec, s3Error(err)
}

// setTags replaces bucket's tags (nil: none).
func (b *Backend) setTags(bucket string, tags map[string]string) error {
	return s3Error(b.update(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketsKey).Get([]byte(bucket))
		if v == nil {
			return errNoBucket
		}
		var rec bucketRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		rec.Tags = tags
		bz, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketsKey).Put([]byte(bucket), bz)
	}))
}

// PutBucketTagging sets the bucket's tags; Stratus tags that do not parse
// are refused with InvalidTag and change nothing.
func (b *Backend) PutBucketTagging(_ context.Context, bucket string, tags map[string]string) error {
	if _, err := termsOf(tags); err != nil {
		return err
	}
	if len(tags) == 0 {
		tags = nil
	}
	return b.setTags(bucket, tags)
}

func (b *Backend) GetBucketTagging(_ context.Context, bucket string) (map[string]string, error) {
	rec, err := b.bucket(bucket)
	if err != nil {
		return nil, err
	}
	if len(rec.Tags) == 0 {
		return nil, apiErr(s3err.ErrBucketTaggingNotFound)
	}
	return rec.Tags, nil
}

func (b *Backend) DeleteBucketTagging(_ context.Context, bucket string) error {
	return b.setTags(bucket, nil)
}
