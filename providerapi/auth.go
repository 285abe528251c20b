package providerapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
)

// A signed request carries
//
//	Authorization: Stratus-Secp256k1 key=<base64 compressed public key>,
//	    ts=<unix seconds>, nonce=<32 hex digits>, sig=<base64 64-byte r‖s>
//
// where sig is the account key's secp256k1 signature (over SHA-256, low-S,
// as the chain verifies transactions) of SigningBytes: a domain label, the
// provider addressed (so a request cannot be replayed to another
// provider), the method, the path and query, the Content-Length (the body
// itself is bound by the deal's Merkle root, which the provider checks
// while it streams in), the timestamp and the nonce. The signer's account
// is the address of the key, as on chain; it needs no on-chain record.
//
// A provider accepts a timestamp within MaxClockSkew of its clock and each
// (signer, nonce) once within that time, so a captured request cannot be
// sent again.

// AuthScheme is the Authorization scheme of signed requests.
const AuthScheme = "Stratus-Secp256k1"

// MaxClockSkew is how far a signature's timestamp may be from the
// provider's clock; it is also how long a signed request stays valid.
const MaxClockSkew = 60 * time.Second

// authDomain separates data-plane signatures from every other use of an
// account key: no transaction's sign bytes start with it.
const authDomain = "stratus/data-plane/v1"

// nonceLen is the nonce's length in bytes (hex encoded on the wire).
const nonceLen = 16

// Errors of Verify; the server maps each to a 401 code.
var (
	// ErrNoCredentials: the request carries no Authorization header.
	ErrNoCredentials = errors.New("providerapi: request is not signed")
	// ErrBadCredentials: the header is malformed or the signature does not verify.
	ErrBadCredentials = errors.New("providerapi: bad request signature")
	// ErrExpired: the timestamp is outside MaxClockSkew.
	ErrExpired = errors.New("providerapi: request signature expired")
	// ErrReplayed: the nonce was already used by this signer.
	ErrReplayed = errors.New("providerapi: request already used")
	// ErrTooManyNonces: the replay cache is full; retry shortly.
	ErrTooManyNonces = errors.New("providerapi: too many signed requests in flight")
)

// Signer signs data-plane requests with an account's secp256k1 key.
type Signer interface {
	// Sign signs msg (the key hashes it with SHA-256) and returns the
	// signature and the public key.
	Sign(msg []byte) ([]byte, cryptotypes.PubKey, error)
}

// KeyringSigner signs with a key of an SDK keyring: the CLI's --from key or
// the provider daemon's key.
type KeyringSigner struct {
	Keyring keyring.Keyring
	Name    string
}

// Sign implements Signer.
func (k KeyringSigner) Sign(msg []byte) ([]byte, cryptotypes.PubKey, error) {
	return k.Keyring.Sign(k.Name, msg, signing.SignMode_SIGN_MODE_DIRECT)
}

// PrivKeySigner signs with a secp256k1 private key held in memory.
type PrivKeySigner struct{ Key *secp256k1.PrivKey }

// Sign implements Signer.
func (p PrivKeySigner) Sign(msg []byte) ([]byte, cryptotypes.PubKey, error) {
	sig, err := p.Key.Sign(msg)
	return sig, p.Key.PubKey(), err
}

// SigningBytes is what a request's signature covers. contentRange is the
// Content-Range header of a resumed upload ("" for none).
func SigningBytes(audience, method, pathAndQuery string, contentLength int64, contentRange string, ts int64, nonce string) []byte {
	var b strings.Builder
	for _, s := range []string{
		authDomain, audience, method, pathAndQuery,
		strconv.FormatInt(contentLength, 10), contentRange, strconv.FormatInt(ts, 10), nonce,
	} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// requestTarget is the path and query a signature covers, as sent.
func requestTarget(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return r.URL.EscapedPath()
	}
	return r.URL.EscapedPath() + "?" + r.URL.RawQuery
}

// SignRequest adds an Authorization header to req, signed by s for the
// provider audience at time now. Set req.ContentLength first.
func SignRequest(req *http.Request, s Signer, audience string, now time.Time) error {
	var n [nonceLen]byte
	if _, err := rand.Read(n[:]); err != nil {
		return err
	}
	nonce := hex.EncodeToString(n[:])
	ts := now.Unix()
	sig, pub, err := s.Sign(SigningBytes(audience, req.Method, requestTarget(req), req.ContentLength, req.Header.Get("Content-Range"), ts, nonce))
	if err != nil {
		return fmt.Errorf("signing the request: %w", err)
	}
	if _, ok := pub.(*secp256k1.PubKey); !ok {
		return fmt.Errorf("signing the request: the key is %s; the data plane needs a secp256k1 account key", pub.Type())
	}
	req.Header.Set("Authorization", fmt.Sprintf("%s key=%s,ts=%d,nonce=%s,sig=%s", AuthScheme,
		base64.StdEncoding.EncodeToString(pub.Bytes()), ts, nonce, base64.StdEncoding.EncodeToString(sig)))
	return nil
}

// Credentials are the parts of an Authorization header.
type Credentials struct {
	PubKey    *secp256k1.PubKey
	Timestamp int64
	Nonce     string
	Signature []byte
}

// Signer is the account that signed.
func (c Credentials) Signer() sdk.AccAddress { return sdk.AccAddress(c.PubKey.Address()) }

// ParseAuthorization parses an Authorization header value of AuthScheme.
// It checks the form of every part, not the signature.
func ParseAuthorization(h string) (Credentials, error) {
	var c Credentials
	scheme, params, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || scheme != AuthScheme {
		return c, fmt.Errorf("%w: want %q credentials", ErrBadCredentials, AuthScheme)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || seen[k] {
			return c, fmt.Errorf("%w: malformed or repeated parameter %q", ErrBadCredentials, part)
		}
		seen[k] = true
		switch k {
		case "key":
			b, err := base64.StdEncoding.Strict().DecodeString(v)
			if err != nil || len(b) != secp256k1.PubKeySize {
				return c, fmt.Errorf("%w: key is not a base64 %d-byte compressed secp256k1 public key", ErrBadCredentials, secp256k1.PubKeySize)
			}
			if b[0] != 2 && b[0] != 3 {
				return c, fmt.Errorf("%w: key is not a compressed secp256k1 public key", ErrBadCredentials)
			}
			c.PubKey = &secp256k1.PubKey{Key: b}
		case "ts":
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ts <= 0 {
				return c, fmt.Errorf("%w: ts is not a positive unix time in seconds", ErrBadCredentials)
			}
			c.Timestamp = ts
		case "nonce":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != nonceLen || strings.ToLower(v) != v {
				return c, fmt.Errorf("%w: nonce is not %d lower-case hex digits", ErrBadCredentials, 2*nonceLen)
			}
			c.Nonce = v
		case "sig":
			b, err := base64.StdEncoding.Strict().DecodeString(v)
			if err != nil || len(b) != 64 {
				return c, fmt.Errorf("%w: sig is not a base64 64-byte signature", ErrBadCredentials)
			}
			c.Signature = b
		default:
			return c, fmt.Errorf("%w: unknown parameter %q", ErrBadCredentials, k)
		}
	}
	if c.PubKey == nil || c.Timestamp == 0 || c.Nonce == "" || c.Signature == nil {
		return c, fmt.Errorf("%w: key, ts, nonce and sig are all required", ErrBadCredentials)
	}
	return c, nil
}

// Verifier checks signed requests addressed to one provider and refuses
// replays. It is safe for concurrent use.
type Verifier struct {
	audience string
	now      func() time.Time
	nonces   *nonceCache
	started  int64 // unix second the verifier was made: older signatures are refused
}

// NewVerifier verifies requests addressed to provider audience. now is the
// clock (nil: time.Now).
func NewVerifier(audience string, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{audience: audience, now: now, nonces: newNonceCache(defaultMaxNonces), started: now().Unix()}
}

// Verify checks r's signature and freshness and returns the signer. It
// does not use up the nonce: call Consume once the request is authorized,
// so requests that are refused cannot fill the replay cache.
func (v *Verifier) Verify(r *http.Request) (Credentials, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Credentials{}, ErrNoCredentials
	}
	c, err := ParseAuthorization(h)
	if err != nil {
		return c, err
	}
	now := v.now()
	if d := now.Sub(time.Unix(c.Timestamp, 0)); d > MaxClockSkew || d < -MaxClockSkew {
		return c, fmt.Errorf("%w: signed at %s, %s from the provider's clock (at most %s)",
			ErrExpired, time.Unix(c.Timestamp, 0).UTC().Format(time.RFC3339), d.Round(time.Second), MaxClockSkew)
	}
	if c.Timestamp < v.started {
		// The replay cache does not survive a restart: a request signed
		// before this process started could have been used already.
		return c, fmt.Errorf("%w: signed before the provider started; sign the request again", ErrExpired)
	}
	if !c.PubKey.VerifySignature(SigningBytes(v.audience, r.Method, requestTarget(r), r.ContentLength, r.Header.Get("Content-Range"), c.Timestamp, c.Nonce), c.Signature) {
		return c, fmt.Errorf("%w: the signature does not match the request (method, path, length, range) sent to provider %s", ErrBadCredentials, v.audience)
	}
	return c, nil
}

// Consume records c's nonce as used; a second use is ErrReplayed. A nonce
// whose signature has expired in the meantime (the chain lookups between
// Verify and Consume took time) is refused too, so that the cache can
// forget it.
func (v *Verifier) Consume(c Credentials) error {
	return v.nonces.add(string(c.PubKey.Key), c.Nonce, time.Unix(c.Timestamp, 0).Add(MaxClockSkew), v.now())
}

// Bounds of the replay cache: at about 100 bytes an entry, 100 MiB at most,
// and no signer may hold more than a small share of it.
const (
	defaultMaxNonces = 1 << 20
	maxNoncesPerKey  = 1 << 14
)

// nonceCache remembers used nonces until their signatures expire. Entries
// are grouped by the second they expire in, so forgetting costs only what
// is forgotten, never a scan of the whole cache.
type nonceCache struct {
	mu      sync.Mutex
	max     int
	seen    map[string]int64   // key+nonce → expiry second
	buckets map[int64][]string // expiry second → keys
	perKey  map[string]int     // signer key → live entries
	keyOf   map[string]string  // key+nonce → signer key
	oldest  int64              // every bucket before it is gone
}

func newNonceCache(max int) *nonceCache {
	return &nonceCache{max: max, seen: map[string]int64{}, buckets: map[int64][]string{}, perKey: map[string]int{}, keyOf: map[string]string{}}
}

func (n *nonceCache) add(signer, nonce string, forgetAt, now time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if now.After(forgetAt) {
		return fmt.Errorf("%w: the signature expired while the request was checked; sign it again", ErrExpired)
	}
	n.forget(now.Unix())
	entry := signer + nonce
	if _, ok := n.seen[entry]; ok {
		return ErrReplayed
	}
	if len(n.seen) >= n.max || n.perKey[signer] >= maxNoncesPerKey {
		return ErrTooManyNonces
	}
	exp := forgetAt.Unix()
	n.seen[entry] = exp
	n.buckets[exp] = append(n.buckets[exp], entry)
	n.perKey[signer]++
	n.keyOf[entry] = signer
	return nil
}

// forget drops the entries that expired before second now.
func (n *nonceCache) forget(now int64) {
	if n.oldest == 0 {
		n.oldest = now - int64(2*MaxClockSkew/time.Second)
	}
	for ; n.oldest < now; n.oldest++ {
		for _, entry := range n.buckets[n.oldest] {
			signer := n.keyOf[entry]
			if n.perKey[signer]--; n.perKey[signer] <= 0 {
				delete(n.perKey, signer)
			}
			delete(n.keyOf, entry)
			delete(n.seen, entry)
		}
		delete(n.buckets, n.oldest)
	}
}
