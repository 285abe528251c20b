package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	sdkclient "github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/providerapi"
	providertypes "github.com/stratusnet/stratus/x/provider/types"
)

// Event is what a long operation reports as it goes: a line of status for
// a person, or the progress of a byte-counting stage.
type Event struct {
	// Message is a line of status ("deal 7 created: ..."); empty for
	// progress events.
	Message string
	// Stage names a byte-counting phase: "hash", "encrypt", "upload" or
	// "download". Done of Total bytes are through.
	Stage       string
	Done, Total uint64
}

// Client is the Stratus SDK: it stores files as deals and gets them back
// verified, runs compute jobs and fetches their output. The CLI is a thin
// layer of flags and printing over it; other Go programs (the S3 gateway,
// apps) use it the same way.
//
// It queries and signs through an SDK client context: the node, the codec,
// the keyring and the signing key (FromName/FromAddress). Requests to
// providers are signed with the same key, so private deals and jobs are
// served to their owner.
type Client struct {
	cctx sdkclient.Context
	txf  tx.Factory
	api  *providerapi.Client
	// OnEvent, when set, receives status lines and progress.
	OnEvent func(Event)
	// Home is where the storage key lives (default: the context's home).
	Home string
	// events serialises OnEvent: shards upload and download in parallel.
	events sync.Mutex
	// sender is shared by every send, so concurrent calls (a gateway's
	// requests) take turns and their sequences never collide.
	senderOnce sync.Once
	sender     *TxSender
}

// New returns a client over cctx and txf (used only to send transactions).
// With a signing key in cctx (FromName) requests to providers are signed.
func New(cctx sdkclient.Context, txf tx.Factory) *Client {
	var signer providerapi.Signer
	if cctx.FromName != "" && cctx.Keyring != nil {
		signer = providerapi.KeyringSigner{Keyring: cctx.Keyring, Name: cctx.FromName}
	}
	hc, _ := providerapi.HTTPClient("") // system roots only: cannot fail
	return &Client{cctx: cctx, txf: txf, api: providerapi.NewClient(hc, signer), Home: cctx.HomeDir}
}

// TrustCA makes the client accept provider certificates signed by the CA
// certificate (PEM) in file, besides the system's roots: a private
// network's CA, such as the localnet's.
func (c *Client) TrustCA(file string) error {
	hc, err := providerapi.HTTPClient(file)
	if err != nil {
		return err
	}
	c.api.HTTP = hc
	return nil
}

// Account is the signing account's address ("" when none).
func (c *Client) Account() string {
	if c.cctx.FromAddress.Empty() {
		return ""
	}
	return c.cctx.FromAddress.String()
}

// API is the providers' API client the SDK uses.
func (c *Client) API() *providerapi.Client { return c.api }

func (c *Client) linef(format string, args ...any) {
	c.emit(Event{Message: fmt.Sprintf(format, args...)})
}

func (c *Client) emit(e Event) {
	if c.OnEvent != nil {
		c.events.Lock()
		defer c.events.Unlock()
		c.OnEvent(e)
	}
}

// counting reports the bytes through r or w as stage events.
type counting struct {
	c     *Client
	stage string
	total uint64
	done  uint64
	r     io.Reader
	w     io.Writer
}

func (x *counting) add(n int) {
	x.done += uint64(n)
	if n > 0 {
		x.c.emit(Event{Stage: x.stage, Done: x.done, Total: x.total})
	}
}

func (x *counting) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	x.add(n)
	return n, err
}

func (x *counting) Write(p []byte) (int, error) {
	n, err := x.w.Write(p)
	x.add(n)
	return n, err
}

func (c *Client) reader(r io.Reader, total uint64, stage string) io.Reader {
	return c.readerFrom(r, 0, total, stage)
}

// readerFrom is reader for bytes that start at offset of the total.
func (c *Client) readerFrom(r io.Reader, offset, total uint64, stage string) io.Reader {
	if c.OnEvent == nil {
		return r
	}
	return &counting{c: c, stage: stage, total: total, done: offset, r: r}
}

func (c *Client) writer(w io.Writer, total uint64, stage string) io.Writer {
	if c.OnEvent == nil {
		return w
	}
	return &counting{c: c, stage: stage, total: total, w: w}
}

// Target looks a provider up on chain: its address, which requests are
// signed for, and its endpoint.
func (c *Client) Target(ctx context.Context, provider string) (providerapi.Target, error) {
	p, err := providertypes.NewQueryClient(c.cctx).Provider(ctx, &providertypes.QueryProviderRequest{Address: provider})
	if err != nil {
		return providerapi.Target{}, fmt.Errorf("looking up provider %s: %w", provider, err)
	}
	return providerapi.Target{Provider: provider, URL: p.Provider.Endpoint}, nil
}

// ErrPrivate is returned before any download of a private deal or job
// output when the client does not sign as its owner.
var ErrPrivate = errors.New("private to its owner")

// checkAccess refuses, before any request, to fetch a private resource of
// owner without the owner's key.
func (c *Client) checkAccess(what, owner string, public bool) error {
	me := c.Account()
	switch {
	case public || (me != "" && me == owner):
		return nil
	case me == "" || c.api.Signer == nil:
		return fmt.Errorf("%s is %w %s: providers serve it only to that account; give --from with its key", what, ErrPrivate, owner)
	default:
		return fmt.Errorf("%s is %w %s, and the signing key is %s: providers serve it only to its owner; give --from with the owner's key", what, ErrPrivate, owner, me)
	}
}

// Fetch downloads from one provider into w.
type Fetch func(ctx context.Context, from providerapi.Target, w io.Writer) error

// FetchVerified downloads the size bytes named by root into path (created
// or truncated; never the final name of anything) from the first of the
// providers that serves them intact: each download is hashed as it
// arrives, and a provider that fails or sends other bytes is skipped for
// the next. It returns the provider that served them.
func (c *Client) FetchVerified(ctx context.Context, providers []string, fetch Fetch, root merkle.Hash, size uint64, chunkSize int, path string) (string, error) {
	var errs []error
	for _, p := range providers {
		t, err := c.Target(ctx, p)
		if err == nil {
			err = c.fetchInto(ctx, t, fetch, root, size, chunkSize, path)
		}
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		c.linef("provider %s (%s) failed: %v; trying the next", p, t.URL, err)
		errs = append(errs, fmt.Errorf("%s: %w", p, err))
	}
	if len(errs) == 0 {
		return "", errors.New("no provider to download from")
	}
	return "", fmt.Errorf("no provider served the data intact: %w", errors.Join(errs...))
}

func (c *Client) fetchInto(ctx context.Context, t providerapi.Target, fetch Fetch, root merkle.Hash, size uint64, chunkSize int, path string) error {
	verifier, err := NewVerifier(root, size, chunkSize)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fetch(ctx, t, c.writer(io.MultiWriter(f, verifier), size, "download")); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return verifier.Check()
}

// decodeMsgResponse reads the first message response of a committed tx.
func (c *Client) decodeMsgResponse(res *sdk.TxResponse, into interface{ Unmarshal([]byte) error }) error {
	bz, err := hex.DecodeString(res.Data)
	if err != nil {
		return fmt.Errorf("decoding tx data: %w", err)
	}
	var data sdk.TxMsgData
	if err := c.cctx.Codec.Unmarshal(bz, &data); err != nil {
		return fmt.Errorf("decoding tx data: %w", err)
	}
	if len(data.MsgResponses) == 0 {
		return errors.New("the transaction returned no message response")
	}
	return into.Unmarshal(data.MsgResponses[0].Value)
}

// send signs and sends msgs with the client's key.
func (c *Client) send(ctx context.Context, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	if c.cctx.FromAddress.Empty() {
		return nil, errors.New("no signing key: give --from the key that signs and pays")
	}
	c.senderOnce.Do(func() { c.sender = NewTxSender(c.cctx, c.txf) })
	return c.sender.Send(ctx, msgs...)
}
