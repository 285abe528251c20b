package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/versity/versitygw/s3err"
	"github.com/versity/versitygw/s3response"
	bolt "go.etcd.io/bbolt"
)

// maxListKeys is S3's page size, and the most a request may ask for.
const maxListKeys = 1000

// listing is one page of a bucket's keys.
type listing struct {
	contents  []s3response.Object
	prefixes  []types.CommonPrefix
	truncated bool
	last      string // the last key or common prefix on the page
}

func pageSize(asked *int32) int32 {
	if asked != nil && *asked >= 0 && *asked < maxListKeys {
		return *asked
	}
	return maxListKeys
}

// list walks the bucket's keys in byte order after the key after, keeping
// those under prefix and folding those with delim after the prefix into
// common prefixes, until maxKeys keys and prefixes are on the page.
func (b *Backend) list(bucket, prefix, delim, after string, maxKeys int32) (listing, error) {
	var out listing
	err := b.index.db.View(func(tx *bolt.Tx) error {
		objs, err := b.index.objects(tx, bucket)
		if err != nil {
			return err
		}
		c := objs.Cursor()
		start := prefix
		if after >= start {
			start = after
		}
		count := int32(0)
		folding := ""
		for k, v := c.Seek([]byte(start)); k != nil; k, v = c.Next() {
			key := string(k)
			if !strings.HasPrefix(key, prefix) {
				break
			}
			if key <= after || (folding != "" && strings.HasPrefix(key, folding)) {
				continue
			}
			item := key
			folded := false
			if delim != "" {
				if i := strings.Index(key[len(prefix):], delim); i >= 0 {
					item, folded = key[:len(prefix)+i+len(delim)], true
				}
			}
			if folded && item <= after {
				continue // the prefix was on an earlier page
			}
			if count == maxKeys {
				out.truncated = true
				return nil
			}
			count++
			out.last = item
			if folded {
				out.prefixes = append(out.prefixes, types.CommonPrefix{Prefix: &item})
				folding = item // the keys under it follow: skip them
				continue
			}
			var obj Object
			if err := json.Unmarshal(v, &obj); err != nil {
				return err
			}
			out.contents = append(out.contents, s3response.Object{
				Key: &key, ETag: ptr(obj.ETag), Size: ptr(obj.Size), LastModified: ptr(obj.Modified),
				StorageClass: types.ObjectStorageClassStandard,
			})
		}
		return nil
	})
	return out, s3Error(err)
}

// ListObjectsV2 lists from the later of start-after and the continuation
// token, which is the last key or prefix of the page before,
// base64-encoded.
func (b *Backend) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input) (s3response.ListObjectsV2Result, error) {
	bucket, prefix := aws(in.Bucket), aws(in.Prefix)
	maxKeys := pageSize(in.MaxKeys)
	after := aws(in.StartAfter)
	if tok := aws(in.ContinuationToken); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return s3response.ListObjectsV2Result{}, s3err.GetAPIError(s3err.ErrInvalidRequest)
		}
		if string(raw) > after {
			after = string(raw)
		}
	}
	page, err := b.list(bucket, prefix, aws(in.Delimiter), after, maxKeys)
	if err != nil {
		return s3response.ListObjectsV2Result{}, err
	}
	n := int32(len(page.contents) + len(page.prefixes))
	out := s3response.ListObjectsV2Result{
		Name: &bucket, Prefix: &prefix, MaxKeys: &maxKeys, StartAfter: in.StartAfter, ContinuationToken: in.ContinuationToken,
		Delimiter: in.Delimiter, EncodingType: in.EncodingType, KeyCount: &n, IsTruncated: &page.truncated,
		Contents: page.contents, CommonPrefixes: page.prefixes,
	}
	if page.truncated {
		out.NextContinuationToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(page.last)))
	}
	return out, nil
}

// ListObjects (version 1, which rclone and older tools use) lists after
// the marker; NextMarker is the page's last key or prefix.
func (b *Backend) ListObjects(_ context.Context, in *s3.ListObjectsInput) (s3response.ListObjectsResult, error) {
	bucket, prefix := aws(in.Bucket), aws(in.Prefix)
	maxKeys := pageSize(in.MaxKeys)
	page, err := b.list(bucket, prefix, aws(in.Delimiter), aws(in.Marker), maxKeys)
	if err != nil {
		return s3response.ListObjectsResult{}, err
	}
	out := s3response.ListObjectsResult{
		Name: &bucket, Prefix: &prefix, Marker: in.Marker, MaxKeys: &maxKeys, Delimiter: in.Delimiter,
		EncodingType: in.EncodingType, IsTruncated: &page.truncated, Contents: page.contents, CommonPrefixes: page.prefixes,
	}
	if page.truncated {
		out.NextMarker = &page.last
	}
	return out, nil
}
