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

// ListObjectsV2 walks the bucket's keys in byte order from the later of
// start-after and the continuation token, keeping those under the prefix
// and folding those with the delimiter after the prefix into common
// prefixes. A page holds at most max-keys keys and prefixes; the token is
// the last one it holds, base64-encoded.
func (b *Backend) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input) (s3response.ListObjectsV2Result, error) {
	bucket, prefix, delim := aws(in.Bucket), aws(in.Prefix), aws(in.Delimiter)
	maxKeys := int32(maxListKeys)
	if in.MaxKeys != nil && *in.MaxKeys >= 0 && *in.MaxKeys < maxKeys {
		maxKeys = *in.MaxKeys
	}
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
	out := s3response.ListObjectsV2Result{
		Name: &bucket, Prefix: &prefix, MaxKeys: &maxKeys, StartAfter: in.StartAfter, ContinuationToken: in.ContinuationToken,
		Delimiter: in.Delimiter, EncodingType: in.EncodingType,
	}
	var last string
	truncated := false
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
			if folding != "" && strings.HasPrefix(key, folding) {
				continue
			}
			if key <= after {
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
				truncated = true
				return nil
			}
			count++
			last = item
			if folded {
				out.CommonPrefixes = append(out.CommonPrefixes, types.CommonPrefix{Prefix: &item})
				folding = item // the keys under it follow: skip them
				continue
			}
			var obj Object
			if err := json.Unmarshal(v, &obj); err != nil {
				return err
			}
			out.Contents = append(out.Contents, s3response.Object{
				Key: &key, ETag: ptr(obj.ETag), Size: ptr(obj.Size), LastModified: ptr(obj.Modified),
				StorageClass: types.ObjectStorageClassStandard,
			})
		}
		return nil
	})
	if err != nil {
		return s3response.ListObjectsV2Result{}, s3Error(err)
	}
	n := int32(len(out.Contents) + len(out.CommonPrefixes))
	out.KeyCount = &n
	out.IsTruncated = &truncated
	if truncated {
		out.NextContinuationToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(last)))
	}
	return out, nil
}
