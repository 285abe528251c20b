package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	gogogrpc "github.com/cosmos/gogoproto/grpc"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	"github.com/stratusnet/stratus/writeback"
	storagetypes "github.com/stratusnet/stratus/x/storage/types"
)

// PutOptions are the terms of a new deal.
type PutOptions struct {
	// Replicas is how many full copies to keep, when DataShards is at most 1.
	Replicas uint32
	// DataShards (k) above 1 makes an erasure-coded deal of k data and
	// ParityShards (m) parity shards: any k of the k + m slots rebuild the
	// file, at (k + m) / k times its bytes.
	DataShards, ParityShards uint32
	// Direct uploads every shard from this machine, parity included,
	// instead of only the k data shards.
	Direct bool
	// Duration is the deal's length in blocks.
	Duration uint64
	// MaxPrice is the most paid per replica per GiB per block.
	MaxPrice sdk.DecCoin
	// Timeout bounds the wait until every replica is committed.
	Timeout time.Duration
	// Public stores the bytes as they are, unencrypted, readable by anyone.
	Public bool
	// RateLimit caps the upload at this many bytes a second (0: none).
	RateLimit uint64
	// Label is the deal's label (public, at most the max_label_bytes
	// param): seal it first if what it says is private.
	Label []byte
}

// PutResult is a stored deal.
type PutResult struct {
	DealID    uint64
	Size      uint64 // bytes stored (the ciphertext's, unless public)
	Providers []string
	Escrow    sdk.Coin
	Fee       sdk.Coin
}

// Put stores the file at path as a deal and waits until every replica is
// committed. Unless public, the file is encrypted with the storage key in
// Home (created on first use) before anything leaves the machine. It
// uploads once, to the first assigned provider; the others fetch from it.
func (c *Client) Put(ctx context.Context, path string, o PutOptions) (PutResult, error) {
	in, err := os.Open(path)
	if err != nil {
		return PutResult{}, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return PutResult{}, err
	}
	if err := os.MkdirAll(c.uploadsDir(), 0o700); err != nil {
		return PutResult{}, err
	}
	// An earlier Put of this file that was cut off resumes.
	if rec, d, ok := c.findResumable(ctx, path, st, o.Public); ok {
		c.linef("resuming the upload of %s to deal %d", path, rec.DealID)
		var providers []string
		_, replicas, err := c.Deal(ctx, rec.DealID)
		if err != nil {
			return PutResult{}, err
		}
		for _, r := range replicas {
			providers = append(providers, r.Provider)
		}
		out := PutResult{DealID: rec.DealID, Size: rec.Size, Providers: providers, Escrow: d.Escrow, Fee: d.Fee}
		return out, c.finishUpload(ctx, rec, replicas, o)
	}
	return c.put(ctx, in, st.Size(), path, st, o)
}

// PutReader is Put for bytes that are not one file: size bytes read once
// from r (name only labels progress and errors). The deal is private;
// the encrypted copy is staged under Home as for Put, but a cut-off
// PutReader cannot resume: nothing names its source again.
func (c *Client) PutReader(ctx context.Context, r io.Reader, size int64, name string, o PutOptions) (PutResult, error) {
	if o.Public {
		return PutResult{}, errors.New("PutReader stores private deals only: store a public file with Put")
	}
	if err := os.MkdirAll(c.uploadsDir(), 0o700); err != nil {
		return PutResult{}, err
	}
	return c.put(ctx, &exactReader{r: r, left: size}, size, name, nil, o)
}

// StagingBytes bounds the disk a PutReader of size bytes on terms o takes
// under the client's uploads directory until it returns: the ciphertext
// (age adds a header and 16 bytes per 64 KiB chunk) and, for an
// erasure-coded deal, its n shards beside it while they are encoded (the
// ciphertext is removed then).
func StagingBytes(size int64, o PutOptions) int64 {
	const header = 1024 // an age header to one X25519 recipient is about 200 bytes
	sealed := size + 16*(size/(64<<10)+1) + 16 + header
	if s, coded := o.scheme(); coded {
		return sealed + int64(s.N())*int64(storagetypes.ShardSizeFor(uint64(sealed), uint32(s.K)))
	}
	return sealed
}

// exactReader reads exactly left bytes from r: fewer is an error, never a
// shorter deal.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if e.left > 0 {
			return n, fmt.Errorf("the source ended %d bytes short: %w", e.left, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	return n, err
}

// put seals (or hashes) size bytes from in, creates the deal and uploads
// it. st is the file at path, which a cut-off put resumes from; nil for
// PutReader's source, which nothing names again.
func (c *Client) put(ctx context.Context, in io.Reader, size int64, path string, st os.FileInfo, o PutOptions) (PutResult, error) {
	params, err := storagetypes.NewQueryClient(c.cctx).Params(ctx, &storagetypes.QueryParamsRequest{})
	if err != nil {
		return PutResult{}, fmt.Errorf("reading storage params: %w", err)
	}
	chunkSize := int(params.Params.ChunkSize)
	var sealed Sealed
	if o.Public {
		c.linef("hashing %s (%s); it is stored unencrypted", path, HumanBytes(uint64(size)))
		if sealed, err = HashFile(c.reader(in, uint64(size), "hash"), path, chunkSize); err != nil {
			return PutResult{}, err
		}
	} else {
		id, created, err := LoadOrCreateIdentity(c.Home)
		if err != nil {
			return PutResult{}, err
		}
		if created {
			c.linef("created your storage key in %s — back it up: without it your files cannot be decrypted", filepath.Join(c.Home, KeyFile))
		}
		c.linef("encrypting and hashing %s (%s)", path, HumanBytes(uint64(size)))
		sealed, err = Seal(c.reader(in, uint64(size), "encrypt"), id.Recipient(), chunkSize, c.uploadsDir())
		if err != nil {
			return PutResult{}, err
		}
	}
	if sealed.Size == 0 {
		return PutResult{}, errors.New("the file is empty: there is nothing to store")
	}
	msg := &storagetypes.MsgCreateDeal{
		Owner: c.Account(), Root: sealed.Root[:], Size_: sealed.Size,
		Replicas: o.Replicas, DurationBlocks: o.Duration, MaxPrice: o.MaxPrice, Public: o.Public, Label: o.Label,
	}
	scheme, coded := o.scheme()
	pending := ""
	if coded {
		if err := scheme.Validate(); err != nil {
			return PutResult{}, err
		}
		pending = filepath.Join(c.uploadsDir(), fmt.Sprintf("pending-%d", time.Now().UnixNano()))
		roots, err := c.encodeShards(sealed.Path, sealed.Size, scheme, chunkSize, pending)
		if err != nil {
			removeShards(pending, scheme.N())
			return PutResult{}, err
		}
		// The shards are what is sent and what a resumed put sends again:
		// the ciphertext is not kept beside them.
		if !o.Public {
			_ = sealed.Remove()
		}
		msg.Replicas, msg.DataShards, msg.ParityShards = 0, o.DataShards, o.ParityShards
		msg.ShardSize = storagetypes.ShardSizeFor(sealed.Size, o.DataShards)
		for _, r := range roots {
			msg.ShardRoots = append(msg.ShardRoots, append([]byte(nil), r[:]...))
		}
	}
	removeSealed := func() {
		if !o.Public {
			_ = sealed.Remove()
		}
		if coded {
			removeShards(pending, scheme.N())
		}
	}

	res, err := c.send(ctx, msg)
	if err != nil {
		removeSealed()
		return PutResult{}, fmt.Errorf("creating the deal: %w", err)
	}
	var deal storagetypes.MsgCreateDealResponse
	if err := c.decodeMsgResponse(res, &deal); err != nil {
		removeSealed()
		return PutResult{}, err
	}
	out := PutResult{DealID: deal.DealId, Size: sealed.Size, Providers: deal.Providers, Escrow: deal.Escrow, Fee: deal.Fee}
	c.linef("deal %d created: escrow %s (unearned escrow comes back), fee %s (not refundable), providers %s",
		deal.DealId, deal.Escrow, deal.Fee, strings.Join(deal.Providers, ", "))

	// Keep what is sent until every replica is committed, so a cut-off put
	// can resume.
	rec := uploadRecord{DealID: deal.DealId, Sent: sealed.Path, Size: sealed.Size, Public: o.Public,
		DataShards: msg.DataShards, ParityShards: msg.ParityShards}
	if st != nil { // PutReader's source has no name a later Put could resume
		if rec.Source, err = filepath.Abs(path); err != nil {
			return out, err
		}
		rec.SrcSize, rec.ModTime = st.Size(), st.ModTime()
	}
	if coded {
		for i := range scheme.N() {
			if err := os.Rename(shardPath(pending, i), shardPath(c.shardBase(deal.DealId), i)); err != nil {
				removeSealed()
				return out, err
			}
		}
	}
	if coded && !o.Public {
		rec.Sent = ""
	} else if !o.Public {
		rec.Sent = filepath.Join(c.uploadsDir(), fmt.Sprintf("deal-%d.age", deal.DealId))
		if err := os.Rename(sealed.Path, rec.Sent); err != nil {
			removeSealed()
			return out, err
		}
	}
	if err := c.saveRecord(rec); err != nil {
		return out, err
	}
	_, replicas, err := c.Deal(ctx, deal.DealId)
	if err == nil {
		err = c.finishUpload(ctx, rec, replicas, o)
	}
	if err != nil && st == nil {
		// Nothing can resume a PutReader (its source has no name): what
		// it kept would stay on disk for good.
		c.dropRecord(rec)
	}
	return out, err
}

// finishUpload uploads rec's bytes to the deal's first provider that has
// none of them committed yet, resuming what it holds, and waits until
// every replica is committed; then the record is dropped.
func (c *Client) finishUpload(ctx context.Context, rec uploadRecord, replicas []storagetypes.Replica, o PutOptions) error {
	if len(replicas) == 0 {
		return fmt.Errorf("deal %d has no replicas", rec.DealID)
	}
	if rec.DataShards > 1 {
		return c.finishShards(ctx, rec, replicas, o)
	}
	committed := false
	for _, r := range replicas {
		committed = committed || r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED
	}
	uploaded := map[string]bool{}
	if !committed {
		first, err := c.Target(ctx, replicas[0].Provider)
		if err != nil {
			return err
		}
		if err := c.uploadResumable(ctx, first, rec.DealID, rec.Sent, rec.Size, o.RateLimit, "upload"); err != nil {
			return fmt.Errorf("uploading to %s (%s): %w; run the same put again to resume", first.Provider, first.URL, err)
		}
		c.linef("uploaded %s to %s", HumanBytes(rec.Size), first.URL)
		uploaded[first.Provider] = true
	}
	f, err := os.Open(rec.Sent)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := c.waitCommitted(ctx, rec.DealID, f, rec.Size, uploaded, o.Timeout); err != nil {
		return err
	}
	c.dropRecord(rec)
	return nil
}

// commitPoll is how often a put asks the chain whether its slots have
// committed: four times a block on the localnet, a twenty-fourth of a
// block at 6-second blocks; each query is a few reads of the node's store.
const commitPoll = 250 * time.Millisecond

// waitCommitted follows deal id until every replica is committed. If the
// provider uploaded to missed its commit deadline before anyone copied
// the file, its replacement has nothing to fetch from (an empty source):
// the file is uploaded to it as well.
func (c *Client) waitCommitted(ctx context.Context, id uint64, f io.ReadSeeker, size uint64, uploaded map[string]bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	q := storagetypes.NewQueryClient(c.cctx)
	last := -1
	for {
		d, err := q.Deal(ctx, &storagetypes.QueryDealRequest{DealId: id})
		if err != nil {
			return err
		}
		committed := 0
		for _, r := range d.Replicas {
			if r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
				committed++
			}
		}
		if committed != last {
			c.linef("replicas committed: %d of %d", committed, d.Deal.Replicas)
			last = committed
		}
		if committed == int(d.Deal.Replicas) {
			return nil
		}
		if committed == 0 {
			for _, r := range d.Replicas {
				if r.Status != storagetypes.ReplicaStatus_REPLICA_STATUS_ASSIGNED || r.Source != "" || uploaded[r.Provider] {
					continue
				}
				t, err := c.Target(ctx, r.Provider)
				if err != nil {
					return err
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return err
				}
				if err := c.api.Upload(ctx, t, id, f, size); err != nil {
					c.linef("re-upload to %s failed: %v; will retry", t.URL, err)
					continue
				}
				uploaded[r.Provider] = true
				c.linef("the first provider missed its deadline; uploaded again to %s", t.URL)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deal %d: only %d of %d replicas committed after %s; check 'stratusd storage status %d'",
				id, committed, d.Deal.Replicas, timeout, id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(commitPoll):
		}
	}
}

// Get downloads deal id from any provider holding a committed replica,
// checks every byte against the deal's root (trying the next provider on
// any failure or mismatch) and, unless the deal is public, decrypts it with
// the storage key in Home into outPath. outPath only ever appears once the
// whole file is verified (and decrypted).
func (c *Client) Get(ctx context.Context, id uint64, outPath string) error {
	return c.GetWith(ctx, id, outPath, GetOptions{})
}

// GetOptions tune a Get.
type GetOptions struct {
	// Partial, when set, is told the temporary file a private deal is
	// decrypted into (beside outPath), and then, as it grows, how many of
	// its bytes are in place from its start: decrypted and authenticated
	// as the owner's (age authenticates every 64 KiB chunk), but not yet
	// checked against the deal's root, which may still fail (another deal
	// of the same owner decrypts too). A server may stream them before Get
	// returns, but must not complete a response on them until Get returned
	// nil with that very file at outPath: a failed ranged get is emptied
	// and removed, and Get may then succeed by a whole download into
	// another file, which reports nothing. Deals fetched another way
	// (public ones, or whole from one provider) report nothing until Get
	// returns.
	Partial func(path string, done int64)
}

// GetWith is Get with options.
func (c *Client) GetWith(ctx context.Context, id uint64, outPath string, o GetOptions) error {
	d, err := storagetypes.NewQueryClient(c.cctx).Deal(ctx, &storagetypes.QueryDealRequest{DealId: id})
	if err != nil {
		return err
	}
	root, err := merkle.HashFromBytes(d.Deal.Root)
	if err != nil {
		return err
	}
	if err := c.checkAccess(fmt.Sprintf("deal %d", id), d.Deal.Owner, d.Deal.Public); err != nil {
		return err
	}
	var holders []string
	for _, r := range d.Replicas {
		if r.Status == storagetypes.ReplicaStatus_REPLICA_STATUS_COMMITTED {
			holders = append(holders, r.Provider)
		}
	}
	if len(holders) == 0 {
		return fmt.Errorf("deal %d has no committed replica to download from yet; check 'stratusd storage status %d'", id, id)
	}
	// A large deal comes in ranges from every holder at once, verified and
	// decrypted while it arrives; ranges are its owner's (or anyone's for a
	// public deal).
	if !d.Deal.Scheme().Erasure() && d.Deal.Size_ >= parallelMin && (d.Deal.Public || c.Account() == d.Deal.Owner) {
		err := c.getParallel(ctx, d.Deal, holders, root, outPath, o)
		if err == nil || ctx.Err() != nil {
			return err
		}
		c.linef("the download in ranges failed (%v); downloading whole from one provider at a time", err)
	}

	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".stratus-download-*")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)

	if d.Deal.Scheme().Erasure() {
		if err := c.getShards(ctx, d.Deal, d.Replicas, root, tmpPath, outPath, o); err != nil {
			return fmt.Errorf("deal %d: %w", id, err)
		}
		return nil
	}

	if _, err := c.FetchVerified(ctx, holders, func(ctx context.Context, t providerapi.Target, w io.Writer) error {
		return c.api.Download(ctx, t, id, w)
	}, root, d.Deal.Size_, int(d.Deal.ChunkSize), tmpPath); err != nil {
		return fmt.Errorf("deal %d: %w", id, err)
	}
	return c.finishGet(tmpPath, outPath)
}

// finishGet moves the verified download at tmpPath to outPath, decrypting
// it unless it was stored public.
func (c *Client) finishGet(tmpPath, outPath string) error {
	sealed, err := IsSealed(tmpPath)
	if err != nil {
		return err
	}
	if !sealed {
		// Stored with --public: the verified bytes are the file.
		if err := os.Rename(tmpPath, outPath); err != nil {
			return err
		}
		c.linef("verified against the deal's root into %s (stored unencrypted)", outPath)
		return nil
	}
	key, err := LoadIdentity(c.Home)
	if err != nil {
		return err
	}
	if err := Unseal(tmpPath, outPath, key); err != nil {
		return err
	}
	c.linef("verified against the deal's root and decrypted into %s", outPath)
	return nil
}

// Deal reads a deal and its replicas from the chain.
func (c *Client) Deal(ctx context.Context, id uint64) (storagetypes.Deal, []storagetypes.Replica, error) {
	res, err := storagetypes.NewQueryClient(c.cctx).Deal(ctx, &storagetypes.QueryDealRequest{DealId: id})
	if err != nil {
		return storagetypes.Deal{}, nil, err
	}
	return res.Deal, res.Replicas, nil
}

// Deals lists every deal of the client's account, oldest first, page by
// page (ended and cancelled deals included: their status says so).
func (c *Client) Deals(ctx context.Context) ([]storagetypes.Deal, error) {
	return DealsOf(ctx, c.cctx, c.Account())
}

// DealsOf lists every deal of owner through conn (a client context), page
// by page.
func DealsOf(ctx context.Context, conn gogogrpc.ClientConn, owner string) ([]storagetypes.Deal, error) {
	q := storagetypes.NewQueryClient(conn)
	var out []storagetypes.Deal
	var key []byte
	for {
		res, err := q.DealsByOwner(ctx, &storagetypes.QueryDealsByOwnerRequest{
			Owner: owner, Pagination: &query.PageRequest{Key: key, Limit: 200},
		})
		if err != nil {
			return nil, fmt.Errorf("listing the deals of %s: %w", owner, err)
		}
		out = append(out, res.Deals...)
		if res.Pagination == nil || len(res.Pagination.NextKey) == 0 {
			return out, nil
		}
		key = res.Pagination.NextKey
	}
}

// getParallel downloads deal d in ranges from holders, verified and (for
// a private deal) decrypted while they arrive, into a temporary file beside
// outPath, renamed to outPath once the whole matched the deal's root.
func (c *Client) getParallel(ctx context.Context, d storagetypes.Deal, holders []string, root merkle.Hash, outPath string, o GetOptions) error {
	var targets []providerapi.Target
	for _, h := range holders {
		t, err := c.Target(ctx, h)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	var key age.Identity
	if !d.Public {
		id, err := LoadIdentity(c.Home)
		if err != nil {
			return err
		}
		key = id
	}
	err := replaceAtomically(outPath, func(f *os.File) error {
		var partial func(int64)
		if o.Partial != nil && key != nil {
			o.Partial(f.Name(), 0)
			partial = func(done int64) { o.Partial(f.Name(), done) }
		}
		return c.getRanges(ctx, targets, d.Id, d.Size_, int(d.ChunkSize), root, key, f, partial)
	})
	if err != nil {
		return err
	}
	if d.Public {
		c.linef("verified against the deal's root into %s (stored unencrypted)", outPath)
	} else {
		c.linef("verified against the deal's root and decrypted into %s", outPath)
	}
	return nil
}

// decryptInto decrypts, with the storage key, the ciphertext that produce
// writes (verifying it as it goes) into outPath, in the same pass: outPath
// appears only once produce succeeded and every byte decrypted.
func (c *Client) decryptInto(outPath string, o GetOptions, produce func(w io.Writer) error) error {
	key, err := LoadIdentity(c.Home)
	if err != nil {
		return err
	}
	err = replaceAtomically(outPath, func(plain *os.File) error {
		out := writeback.NewWriter(plain, 0)
		var dst io.Writer = out
		if o.Partial != nil {
			// Someone reads the output while it grows (the gateway streams
			// it to its S3 client): keep what it may still be reading.
			out.Keeping(writeback.Keep)
			o.Partial(plain.Name(), 0)
			dst = &partialWriter{w: dst, path: plain.Name(), report: o.Partial}
		}
		// Buffers between verifying and decrypting let the two use two cores.
		pipe := newBufPipe(pipeDepth, pipeBuffer)
		decrypted := make(chan error, 1)
		go func() {
			err := decryptTo(dst, pipe, key)
			if err != nil {
				err = fmt.Errorf("decrypting (is this your key?): %w", err)
			}
			pipe.CloseReader(err) // a failed decryption stops the download
			decrypted <- err
		}()
		err := produce(pipe)
		pipe.CloseWithError(err)
		if derr := <-decrypted; err == nil {
			err = derr
		}
		if err == nil && o.Partial == nil {
			out.Finish() // written out and dropped from the page cache
		}
		return err
	})
	if err != nil {
		return err
	}
	c.linef("verified against the deal's root and decrypted into %s", outPath)
	return nil
}

// Cancel ends deal id now: what its providers earned so far is paid and
// the rest of the escrow comes back to the owner.
func (c *Client) Cancel(ctx context.Context, id uint64) error {
	if _, err := c.send(ctx, &storagetypes.MsgCancelDeal{Owner: c.Account(), DealId: id}); err != nil {
		return fmt.Errorf("cancelling deal %d: %w", id, err)
	}
	return nil
}

// partialWriter reports each write's new total to GetOptions.Partial.
type partialWriter struct {
	w      io.Writer
	path   string
	done   int64
	report func(path string, done int64)
}

func (p *partialWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.report(p.path, p.done)
	return n, err
}
