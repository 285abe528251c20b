package providerapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keys/ed25519"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"
)

const audience = "stratus1provider"

func signed(t *testing.T, key *secp256k1.PrivKey, method, target string, length int64, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "http://127.0.0.1:1"+target, nil)
	require.NoError(t, err)
	req.ContentLength = length
	require.NoError(t, SignRequest(req, PrivKeySigner{Key: key}, audience, at))
	return req
}

func TestSignAndVerifyRoundTrip(t *testing.T) {
	key := secp256k1.GenPrivKey()
	now := time.Unix(1_800_000_000, 0)
	clock := now.Add(-2 * MaxClockSkew) // started well before
	v := NewVerifier(audience, func() time.Time { return clock })
	clock = now

	req := signed(t, key, http.MethodPut, "/v1/deals/7", 4096, now)
	c, err := v.Verify(req)
	require.NoError(t, err)
	require.Equal(t, sdk.AccAddress(key.PubKey().Address()), c.Signer())
	require.NoError(t, v.Consume(c))
	// The same request again is a replay, however often it verifies.
	c, err = v.Verify(req)
	require.NoError(t, err)
	require.ErrorIs(t, v.Consume(c), ErrReplayed)

	// Within the skew either way it verifies; beyond it, it is expired.
	for _, d := range []time.Duration{-MaxClockSkew, MaxClockSkew} {
		_, err := v.Verify(signed(t, key, http.MethodGet, "/v1/deals/7", 0, now.Add(d)))
		require.NoError(t, err, d)
	}
	for _, d := range []time.Duration{-MaxClockSkew - time.Second, MaxClockSkew + time.Second} {
		_, err := v.Verify(signed(t, key, http.MethodGet, "/v1/deals/7", 0, now.Add(d)))
		require.ErrorIs(t, err, ErrExpired, d)
	}
	// A query string is covered.
	_, err = v.Verify(signed(t, key, http.MethodGet, "/v1/deals/7?job=3", 0, now))
	require.NoError(t, err)
}

// Every part of a request is covered: change one and the signature fails.
func TestSignatureCoversTheRequest(t *testing.T) {
	key := secp256k1.GenPrivKey()
	now := time.Unix(1_800_000_000, 0)
	v := NewVerifier(audience, func() time.Time { return now })
	for name, change := range map[string]func(r *http.Request){
		"method": func(r *http.Request) { r.Method = http.MethodDelete },
		"path":   func(r *http.Request) { r.URL.Path = "/v1/deals/8" },
		"query":  func(r *http.Request) { r.URL.RawQuery = "job=4" },
		"length": func(r *http.Request) { r.ContentLength = 4097 },
		"range":  func(r *http.Request) { r.Header.Set("Content-Range", "bytes 1-4095/4096") },
		"ts": func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ts=1800000000", "ts=1800000001", 1))
		},
		"nonce": func(r *http.Request) {
			h := r.Header.Get("Authorization")
			i := strings.Index(h, "nonce=") + len("nonce=")
			flip := byte('0')
			if h[i] == '0' {
				flip = '1'
			}
			r.Header.Set("Authorization", h[:i]+string(flip)+h[i+1:])
		},
		"key": func(r *http.Request) {
			other := secp256k1.GenPrivKey().PubKey().Bytes()
			h := r.Header.Get("Authorization")
			i := strings.Index(h, "key=") + len("key=")
			j := strings.Index(h, ",ts=")
			r.Header.Set("Authorization", h[:i]+encode(other)+h[j:])
		},
	} {
		req := signed(t, key, http.MethodPut, "/v1/deals/7?job=3", 4096, now)
		_, err := v.Verify(req)
		require.NoError(t, err, name)
		change(req)
		_, err = v.Verify(req)
		require.ErrorIs(t, err, ErrBadCredentials, name)
	}
	// Another provider's verifier refuses a request signed for this one.
	_, err := NewVerifier("stratus1other", func() time.Time { return now }).Verify(signed(t, key, http.MethodGet, "/v1/deals/7", 0, now))
	require.ErrorIs(t, err, ErrBadCredentials)
}

func TestUnsignedAndNonSecp256k1(t *testing.T) {
	v := NewVerifier(audience, nil)
	req, err := http.NewRequest(http.MethodGet, "http://x/v1/deals/1", nil)
	require.NoError(t, err)
	_, err = v.Verify(req)
	require.ErrorIs(t, err, ErrNoCredentials)

	err = SignRequest(req, ed25519Signer{ed25519.GenPrivKey()}, audience, time.Now())
	require.ErrorContains(t, err, "secp256k1")
	require.Empty(t, req.Header.Get("Authorization"))
}

type ed25519Signer struct{ k *ed25519.PrivKey }

func (s ed25519Signer) Sign(msg []byte) ([]byte, cryptotypes.PubKey, error) {
	sig, err := s.k.Sign(msg)
	return sig, s.k.PubKey(), err
}

func TestParseAuthorizationRefusesMalformed(t *testing.T) {
	key := secp256k1.GenPrivKey()
	good := signed(t, key, http.MethodGet, "/", 0, time.Now()).Header.Get("Authorization")
	_, err := ParseAuthorization(good)
	require.NoError(t, err)
	params := strings.TrimPrefix(good, AuthScheme+" ")
	for _, h := range []string{
		"",
		"Basic dXNlcjpwYXNz",
		AuthScheme,
		AuthScheme + " " + params + ",extra=1",
		AuthScheme + " " + params + ",ts=1", // repeated
		AuthScheme + " " + strings.Replace(params, "ts=", "ts=-", 1),
		AuthScheme + " " + strings.Replace(params, "nonce=", "nonce=AB", 1),
		AuthScheme + " " + strings.Replace(params, "sig=", "sig=AAAA", 1),
		AuthScheme + " " + strings.Replace(params, "key=", "key=AAAA", 1),
		AuthScheme + " " + params[:strings.Index(params, ",sig=")], // no sig
	} {
		_, err := ParseAuthorization(h)
		require.ErrorIs(t, err, ErrBadCredentials, h)
	}
	// An uncompressed-looking key prefix is refused.
	c, _ := ParseAuthorization(good)
	bad := append([]byte{4}, c.PubKey.Key[1:]...)
	_, err = ParseAuthorization(strings.Replace(good, encode(c.PubKey.Key), encode(bad), 1))
	require.ErrorIs(t, err, ErrBadCredentials)
}

// The replay cache forgets entries once their signatures have expired and
// refuses new ones, rather than growing, when full.
func TestNonceCacheBounded(t *testing.T) {
	n := newNonceCache(2)
	now := time.Unix(1_800_000_000, 0)
	require.NoError(t, n.add("k", "a", now.Add(time.Minute), now))
	require.NoError(t, n.add("k", "b", now.Add(time.Minute), now))
	require.ErrorIs(t, n.add("k", "a", now.Add(time.Minute), now), ErrReplayed)
	require.ErrorIs(t, n.add("k", "c", now.Add(time.Minute), now), ErrTooManyNonces)
	later := now.Add(2 * time.Minute)
	require.NoError(t, n.add("k", "c", later.Add(time.Minute), later))
	require.NoError(t, n.add("k", "a", later.Add(time.Minute), later), "an expired entry was forgotten")
	require.Len(t, n.seen, 2)
}

// A nonce whose signature expired between Verify and Consume is refused:
// otherwise the cache could already have forgotten the first use, and a
// replay timed at the last moment would pass (found in review).
func TestReplayAtTheLastMomentIsRefused(t *testing.T) {
	key := secp256k1.GenPrivKey()
	now := time.Unix(1_800_000_000, 0)
	clock := now
	v := NewVerifier(audience, func() time.Time { return clock })
	req := signed(t, key, http.MethodGet, "/v1/deals/7", 0, now)
	c, err := v.Verify(req)
	require.NoError(t, err)
	require.NoError(t, v.Consume(c))

	// The replay verifies at the last second of its life, and the lookups
	// before Consume take it past expiry.
	clock = now.Add(MaxClockSkew)
	c, err = v.Verify(req)
	require.NoError(t, err)
	clock = clock.Add(2 * time.Second)
	require.ErrorIs(t, v.Consume(c), ErrExpired)
	_, err = v.Verify(req)
	require.ErrorIs(t, err, ErrExpired)
}

// Requests signed before the verifier started are refused: the replay
// cache does not survive a restart.
func TestSignedBeforeStartIsRefused(t *testing.T) {
	key := secp256k1.GenPrivKey()
	now := time.Unix(1_800_000_000, 0)
	v := NewVerifier(audience, func() time.Time { return now })
	_, err := v.Verify(signed(t, key, http.MethodGet, "/v1/deals/7", 0, now.Add(-time.Second)))
	require.ErrorIs(t, err, ErrExpired)
}

// One signer cannot fill the cache for everyone (found in review: a key
// needs no account, so the cap is per key and the cache stays bounded).
func TestNonceCachePerSignerCap(t *testing.T) {
	n := newNonceCache(1 << 20)
	now := time.Unix(1_800_000_000, 0)
	for i := range maxNoncesPerKey {
		require.NoError(t, n.add("greedy", fmt.Sprint(i), now.Add(time.Minute), now))
	}
	require.ErrorIs(t, n.add("greedy", "x", now.Add(time.Minute), now), ErrTooManyNonces)
	require.NoError(t, n.add("other", "x", now.Add(time.Minute), now))
	// Expiry frees the greedy signer's share.
	later := now.Add(2 * time.Minute)
	require.NoError(t, n.add("greedy", "x", later.Add(time.Minute), later))
	require.Len(t, n.perKey, 1)
}

func FuzzParseAuthorization(f *testing.F) {
	// A fixed key: the fuzzing workers must agree on it.
	key := secp256k1.GenPrivKeyFromSecret([]byte("fuzz"))
	req, _ := http.NewRequest(http.MethodGet, "http://x/v1/deals/1", nil)
	_ = SignRequest(req, PrivKeySigner{Key: key}, audience, time.Unix(1_800_000_000, 0))
	f.Add(req.Header.Get("Authorization"))
	f.Add(AuthScheme + " key=,ts=,nonce=,sig=")
	f.Add("Basic x")
	v := NewVerifier(audience, func() time.Time { return time.Unix(1_800_000_000, 0) })
	f.Fuzz(func(t *testing.T, h string) {
		c, err := ParseAuthorization(h)
		if err != nil {
			require.ErrorIs(t, err, ErrBadCredentials)
			return
		}
		require.Len(t, c.PubKey.Key, secp256k1.PubKeySize)
		require.Len(t, c.Signature, 64)
		require.Len(t, c.Nonce, 2*nonceLen)
		require.Positive(t, c.Timestamp)
		// Verifying never panics, and nothing but a signature by the key
		// verifies.
		r, _ := http.NewRequest(http.MethodGet, "http://x/v1/deals/1", nil)
		r.Header.Set("Authorization", h)
		if got, err := v.Verify(r); err == nil {
			require.Equal(t, sdk.AccAddress(key.PubKey().Address()), got.Signer())
		}
	})
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestParseContentRange(t *testing.T) {
	n, err := ParseContentRange("bytes 100-999/1000", 1000)
	require.NoError(t, err)
	require.EqualValues(t, 100, n)
	n, err = ParseContentRange("bytes 0-0/1", 1)
	require.NoError(t, err)
	require.Zero(t, n)
	for _, h := range []string{
		"", "bytes", "bytes 1-2", "bytes */1000", "bytes 100-998/1000", "bytes 100-999/999",
		"bytes 1000-999/1000", "bytes -1-999/1000", "items 1-999/1000", "bytes 1-999/1000 ", "bytes 0x1-999/1000",
	} {
		_, err := ParseContentRange(h, 1000)
		require.Error(t, err, h)
	}
}

func FuzzParseContentRange(f *testing.F) {
	f.Add("bytes 100-999/1000", uint64(1000))
	f.Add("bytes 0-0/1", uint64(1))
	f.Add("bytes 5-4/5", uint64(5))
	f.Fuzz(func(t *testing.T, h string, size uint64) {
		n, err := ParseContentRange(h, size)
		if err != nil {
			return
		}
		// Whatever parses names a start inside the deal and runs to its end.
		require.Positive(t, size)
		require.Less(t, n, size)
		require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", n, size-1, size), h)
	})
}
