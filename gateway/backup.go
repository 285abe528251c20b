package gateway

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The index is kept recoverable two ways (docs/s3.md, "Losing the index"):
//
//   - every object deal carries a sealed label naming its bucket and key,
//     size and ETag, so the chain lists what the account stores;
//   - the index file itself is stored, whenever it changed and at most once
//     an interval, as a private deal labelled as a backup; the previous
//     backup deal is then cancelled.
//
// A gateway started on an empty index rebuilds it from the newest backup
// and the object deals newer than it (Rebuild).

// metaKey is the index's own bookkeeping: the deal holding its newest backup.
var (
	metaKey   = []byte("meta")
	backupKey = []byte("backup")
)

// labelAD binds a sealed label to its use: a label sealed for anything
// else does not open as a gateway label.
var labelAD = []byte("stratus-gateway label v1")

// LabelKey derives the key that seals the gateway's deal labels from the
// account's storage key (its secret text): the same storage key opens them
// on a new machine.
func LabelKey(storageSecret []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, storageSecret, nil, string(labelAD), 32)
}

// label is what a sealed deal label says.
type label struct {
	V    int    `json:"v"`
	Kind string `json:"t"` // "o": an object; "i": an index backup
	// An object's bucket, key, size, ETag, content type and time (Unix s).
	Bucket   string `json:"b,omitempty"`
	Key      string `json:"k,omitempty"`
	Size     int64  `json:"s,omitempty"`
	ETag     string `json:"e,omitempty"`
	Type     string `json:"c,omitempty"`
	Modified int64  `json:"m,omitempty"`
	// The object's user metadata, when it fits.
	Meta map[string]string `json:"u,omitempty"`
}

const (
	kindObject = "o"
	kindIndex  = "i"
)

func (b *Backend) aead() (cipher.AEAD, error) {
	blk, err := aes.NewCipher(b.opts.LabelKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// seal returns l sealed (nonce ‖ AES-256-GCM). What does not fit in
// MaxLabel bytes is left out: first the user metadata, then the content
// type. It returns nil when the gateway has no label key or the rest
// still does not fit: the deal then carries no label (the backup still
// names it).
func (b *Backend) seal(l label) []byte {
	if len(b.opts.LabelKey) == 0 {
		return nil
	}
	g, err := b.aead()
	if err != nil {
		return nil
	}
	l.V = 1
	for range 3 {
		plain, err := json.Marshal(l)
		if err != nil {
			return nil
		}
		if size := g.NonceSize() + len(plain) + g.Overhead(); size <= b.opts.MaxLabel {
			nonce := make([]byte, g.NonceSize(), size)
			if _, err := rand.Read(nonce); err != nil {
				return nil
			}
			return g.Seal(nonce, nonce, plain, labelAD)
		}
		if l.Meta != nil {
			l.Meta = nil
		} else {
			l.Type = ""
		}
	}
	return nil
}

// open reads a label the gateway sealed; ok is false for anything else
// (another program's label, another account's, or none).
func (b *Backend) openLabel(sealed []byte) (l label, ok bool) {
	if len(b.opts.LabelKey) == 0 || len(sealed) == 0 {
		return l, false
	}
	g, err := b.aead()
	if err != nil || len(sealed) < g.NonceSize()+g.Overhead() {
		return l, false
	}
	n := g.NonceSize()
	plain, err := g.Open(nil, sealed[:n], sealed[n:], labelAD)
	if err != nil || json.Unmarshal(plain, &l) != nil || l.V != 1 {
		return label{}, false
	}
	return l, true
}

func objectLabel(bucket, key string, obj Object) label {
	return label{Kind: kindObject, Bucket: bucket, Key: key, Size: obj.Size, ETag: obj.ETag, Type: obj.ContentType, Modified: obj.Modified.Unix(), Meta: obj.Metadata}
}

// update changes the buckets or objects: the index then needs a backup.
func (b *Backend) update(fn func(tx *bolt.Tx) error) error {
	err := b.index.db.Update(fn)
	if err == nil {
		b.changes.Add(1)
	}
	return err
}

// lastBackup is the deal holding the newest backup (0: none).
func (x *Index) lastBackup() uint64 {
	var id uint64
	_ = x.db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(metaKey); m != nil {
			if v := m.Get(backupKey); len(v) == 8 {
				id = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return id
}

func (x *Index) setLastBackup(id uint64) error {
	return x.db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists(metaKey)
		if err != nil {
			return err
		}
		return m.Put(backupKey, binary.BigEndian.AppendUint64(nil, id))
	})
}

// Empty says whether the index knows no bucket and no backup: a fresh
// index, which Rebuild may fill.
func (x *Index) Empty() bool {
	empty := true
	_ = x.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketsKey).Cursor().First(); k != nil {
			empty = false
		}
		return nil
	})
	return empty && x.lastBackup() == 0
}

// Backup stores the index as a deal if it changed since the last backup,
// then cancels the previous backup deal. It returns the new deal (0 when
// nothing changed).
func (b *Backend) Backup(ctx context.Context) (uint64, error) {
	b.backupMu.Lock()
	defer b.backupMu.Unlock()
	seen := b.changes.Load()
	if seen == b.backedUp.Load() {
		return 0, nil
	}
	f, err := os.CreateTemp(filepath.Join(b.opts.Dir, "spool"), "index-backup-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := b.index.db.View(func(tx *bolt.Tx) error { _, err := tx.WriteTo(f); return err }); err != nil {
		return 0, fmt.Errorf("copying the index: %w", err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	prev := b.index.lastBackup()
	id, err := b.store.Put(ctx, f, size, PutTerms{Label: b.seal(label{Kind: kindIndex, Modified: b.now().Unix()})})
	if err != nil {
		return 0, fmt.Errorf("storing the index backup: %w", err)
	}
	if err := b.index.setLastBackup(id); err != nil {
		return id, err
	}
	b.backedUp.Store(seen)
	if prev != 0 {
		_ = b.store.Delete(ctx, prev) // a failure leaves it to run out; Rebuild picks the newest
	}
	return id, nil
}

// BackupEvery backs the index up every interval while it changes, until
// ctx ends. logf reports each backup and failure.
func (b *Backend) BackupEvery(ctx context.Context, every time.Duration, logf func(format string, args ...any)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		id, err := b.Backup(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logf("index backup failed (retrying in %s): %v", every, err)
		case id != 0:
			logf("index backed up to deal %d", id)
		}
	}
}

// RebuildReport says what Rebuild found.
type RebuildReport struct {
	Backup       uint64 // the backup deal restored (0: none found)
	FromBackup   int    // objects the backup listed and the chain still holds
	FromLabels   int    // objects added or updated from deals newer than the backup
	Dropped      int    // objects the backup listed whose deal has ended since
	OldBackups   int    // older backup deals cancelled
	Unreadable   int    // live deals whose label did not open (another program's, or none)
	BucketsAdded int    // buckets only object labels named
}

// Rebuild fills an empty index from the chain: the newest backup deal it
// can read, then every live object deal newer than what the backup names
// for its key. Objects the backup names whose deal is no longer live were
// deleted or overwritten after it, and are dropped. What the labels cannot
// carry is lost for objects stored after the backup: user metadata, empty
// objects and empty buckets made since (docs/s3.md).
func (b *Backend) Rebuild(ctx context.Context) (RebuildReport, error) {
	var rep RebuildReport
	if !b.index.Empty() {
		return rep, errors.New("the index is not empty: rebuild only into a new index")
	}
	deals, err := b.store.Deals(ctx)
	if err != nil {
		return rep, err
	}
	live := map[uint64]bool{}
	var backups []uint64
	type labelled struct {
		id uint64
		l  label
	}
	var objects []labelled
	for _, d := range deals {
		if !d.Live {
			continue
		}
		live[d.ID] = true
		l, ok := b.openLabel(d.Label)
		switch {
		case !ok:
			rep.Unreadable++
		case l.Kind == kindIndex:
			backups = append(backups, d.ID)
		case l.Kind == kindObject && l.Bucket != "" && l.Key != "":
			objects = append(objects, labelled{d.ID, l})
		}
	}
	sort.Slice(backups, func(i, j int) bool { return backups[i] > backups[j] })
	for _, id := range backups {
		if rep.Backup != 0 {
			if b.store.Delete(ctx, id) == nil {
				rep.OldBackups++
			}
			continue
		}
		if err := b.restore(ctx, id); err != nil {
			return rep, fmt.Errorf("restoring the index backup in deal %d: %w", id, err)
		}
		rep.Backup = id
	}
	sort.Slice(objects, func(i, j int) bool { return objects[i].id < objects[j].id })
	err = b.index.db.Update(func(tx *bolt.Tx) error {
		// What the backup listed, checked against the chain.
		c := tx.Cursor()
		for name, _ := c.Seek([]byte("b/")); bytes.HasPrefix(name, []byte("b/")); name, _ = c.Next() {
			objs := tx.Bucket(name)
			var gone [][]byte
			err := objs.ForEach(func(k, v []byte) error {
				var obj Object
				if err := json.Unmarshal(v, &obj); err != nil {
					return err
				}
				if obj.Deal != 0 && !live[obj.Deal] {
					gone = append(gone, append([]byte(nil), k...))
				} else {
					rep.FromBackup++
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range gone {
				if err := objs.Delete(k); err != nil {
					return err
				}
				rep.Dropped++
			}
		}
		// Object deals newer than the backup's record of their key.
		for _, o := range objects {
			objs := tx.Bucket(objectsKey(o.l.Bucket))
			if objs == nil {
				rec, err := json.Marshal(bucketRecord{Created: time.Unix(o.l.Modified, 0).UTC()})
				if err != nil {
					return err
				}
				if objs, err = tx.CreateBucket(objectsKey(o.l.Bucket)); err != nil {
					return err
				}
				if err := tx.Bucket(bucketsKey).Put([]byte(o.l.Bucket), rec); err != nil {
					return err
				}
				rep.BucketsAdded++
			}
			if v := objs.Get([]byte(o.l.Key)); v != nil {
				var have Object
				if err := json.Unmarshal(v, &have); err == nil && have.Deal >= o.id {
					continue
				}
			}
			rec, err := json.Marshal(Object{Deal: o.id, Size: o.l.Size, ETag: o.l.ETag, ContentType: o.l.Type, Metadata: o.l.Meta, Modified: time.Unix(o.l.Modified, 0).UTC()})
			if err != nil {
				return err
			}
			if err := objs.Put([]byte(o.l.Key), rec); err != nil {
				return err
			}
			rep.FromLabels++
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	if rep.Backup != 0 {
		if err := b.index.setLastBackup(rep.Backup); err != nil {
			return rep, err
		}
	}
	if rep.FromLabels > 0 || rep.Dropped > 0 || rep.BucketsAdded > 0 {
		b.changes.Add(1) // the merged index differs from every backup
	}
	return rep, nil
}

// restore copies the buckets and objects of the backup in deal id into
// the (empty) index. Multipart uploads in flight are not restored: their
// parts were on the old gateway's disk.
func (b *Backend) restore(ctx context.Context, id uint64) error {
	path := filepath.Join(b.opts.Dir, "spool", fmt.Sprintf("restore-%d", id))
	defer os.Remove(path)
	if err := b.store.Get(ctx, id, path, nil); err != nil {
		return err
	}
	old, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("the backup is not an index: %w", err)
	}
	defer old.Close()
	return old.View(func(src *bolt.Tx) error {
		return b.index.db.Update(func(dst *bolt.Tx) error {
			return src.ForEach(func(name []byte, from *bolt.Bucket) error {
				if !bytes.Equal(name, bucketsKey) && !bytes.HasPrefix(name, []byte("b/")) {
					return nil // uploads, meta
				}
				to, err := dst.CreateBucketIfNotExists(name)
				if err != nil {
					return err
				}
				return from.ForEach(func(k, v []byte) error { return to.Put(k, v) })
			})
		})
	})
}
