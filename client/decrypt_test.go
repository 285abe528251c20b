package client

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// sealBytes encrypts plain to id with age itself.
func sealBytes(t testing.TB, id *age.X25519Identity, plain []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// payloadStart is where the sealed chunks of an age file begin.
func payloadStart(t *testing.T, sealed []byte) int {
	t.Helper()
	header, err := age.ExtractHeader(bytes.NewReader(sealed))
	if err != nil {
		t.Fatal(err)
	}
	return len(header) + streamNonce
}

// Every size around the chunk edges decrypts to what age encrypted, and
// to what age itself decrypts.
func TestDecryptMatchesAge(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{0, 1, payloadChunk - 1, payloadChunk, payloadChunk + 1, 2 * payloadChunk,
		2*payloadChunk + 7, 3 * payloadChunk, 16 * payloadChunk, 16*payloadChunk + 1, 17*payloadChunk - 1, 33*payloadChunk + 5}
	for _, size := range sizes {
		plain := randomBytes(uint64(size), size)
		sealed := sealBytes(t, id, plain)
		r, err := age.Decrypt(bytes.NewReader(sealed), id)
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(want, plain) {
			t.Fatalf("size %d: age itself does not round-trip: %v", size, err)
		}
		var got bytes.Buffer
		// Reads of odd sizes: the pipe hands out 1 MiB buffers, a
		// network any length.
		if err := decryptTo(&got, &oddReader{r: bytes.NewReader(sealed)}, id); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got.Bytes(), plain) {
			t.Fatalf("size %d: decrypted %d bytes that differ from the %d sealed", size, got.Len(), size)
		}
	}
}

// oddReader returns at most 1000 bytes per read.
type oddReader struct{ r io.Reader }

func (o *oddReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1000)]) }

// The attacks a provider could try on what it sends back: each is refused
// with ErrDecrypt, and no plaintext of a failed chunk is written.
func TestDecryptRefusesTamperedCiphertext(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	plain := randomBytes(7, 5*payloadChunk+100)
	sealed := sealBytes(t, id, plain)
	start := payloadStart(t, sealed)
	full := sealBytes(t, id, randomBytes(8, 3*payloadChunk)) // ends on a full chunk
	fullStart := payloadStart(t, full)
	other := sealBytes(t, id, randomBytes(9, len(plain)))
	otherStart := payloadStart(t, other)
	stranger, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}

	mutate := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	cases := []struct {
		name string
		data []byte
	}{
		{"a flipped payload byte", mutate(sealed, func(b []byte) []byte { b[start+3*sealedChunk+10] ^= 1; return b })},
		{"a flipped tag byte", mutate(sealed, func(b []byte) []byte { b[start+sealedChunk-1] ^= 0x80; return b })},
		{"a flipped nonce byte", mutate(sealed, func(b []byte) []byte { b[start-1] ^= 1; return b })},
		{"cut at a chunk boundary", sealed[:start+4*sealedChunk]},
		{"cut inside a chunk", sealed[:len(sealed)-5]},
		{"cut inside the last tag", sealed[:start+5*sealedChunk+10]},
		{"no payload", sealed[:start]},
		{"trailing bytes", append(bytes.Clone(sealed), 0)},
		{"a full last chunk with trailing bytes", append(bytes.Clone(full), 1, 2, 3)},
		{"a full last chunk dropped", full[:fullStart+2*sealedChunk]},
		{"an empty last chunk appended", append(bytes.Clone(full[:fullStart+3*sealedChunk]), full[len(full)-16:]...)},
		{"two chunks swapped", mutate(sealed, func(b []byte) []byte {
			a, c := b[start+sealedChunk:start+2*sealedChunk], b[start+2*sealedChunk:start+3*sealedChunk]
			tmp := bytes.Clone(a)
			copy(a, c)
			copy(c, tmp)
			return b
		})},
		{"another file's chunk", mutate(sealed, func(b []byte) []byte {
			copy(b[start+sealedChunk:start+2*sealedChunk], other[otherStart+sealedChunk:otherStart+2*sealedChunk])
			return b
		})},
		{"this file's header on another file's payload", append(bytes.Clone(sealed[:start]), other[otherStart:]...)},
		{"a forged header MAC", mutate(sealed, func(b []byte) []byte { b[start-streamNonce-2] ^= 1; return b })},
		{"a stranger's file", sealBytes(t, stranger, plain)},
		{"not age at all", randomBytes(10, 1000)},
		{"nothing", nil},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		err := decryptTo(&out, bytes.NewReader(tc.data), id)
		if !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: got %v, want ErrDecrypt", tc.name, err)
		}
		// Whatever was written before the failure is a prefix of the
		// plaintext, authenticated: never a forged byte.
		if !bytes.HasPrefix(plain, out.Bytes()) && !bytes.HasPrefix(randomBytes(8, 3*payloadChunk), out.Bytes()) {
			t.Errorf("%s: wrote %d bytes that are not the plaintext's", tc.name, out.Len())
		}
	}
}

// FuzzDecrypt: no input makes the decrypter panic or accept bytes that
// are not what was sealed.
func FuzzDecrypt(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	plain := randomBytes(3, 2*payloadChunk+3)
	sealed := sealBytes(f, id, plain)
	f.Add(sealed, 0, byte(0))
	f.Add(sealed, len(sealed)-1, byte(1))
	f.Add(sealed[:len(sealed)/2], 100, byte(0x40))
	f.Fuzz(func(t *testing.T, data []byte, at int, flip byte) {
		data = bytes.Clone(data)
		if len(data) > 0 {
			at = ((at % len(data)) + len(data)) % len(data)
			data[at] ^= flip
		}
		var out bytes.Buffer
		err := decryptTo(&out, bytes.NewReader(data), id)
		if err == nil && !bytes.Equal(out.Bytes(), plain) {
			// Only an untouched copy of the sealed file may decrypt (a
			// flip of 0 changes nothing).
			if !bytes.Equal(data, sealed) {
				t.Fatalf("accepted %d bytes that are not the sealed file", len(data))
			}
		}
	})
}

// An empty last chunk after full ones authenticates (the file key signs
// it) but is not how age ends a stream: refused, as age refuses it.
func TestDecryptRefusesAnEmptyLastChunk(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	plain := randomBytes(11, payloadChunk)
	sealed := sealBytes(t, id, plain)
	start := payloadStart(t, sealed)
	header, err := age.ExtractHeader(bytes.NewReader(sealed))
	if err != nil {
		t.Fatal(err)
	}
	fileKey, err := age.DecryptHeader(header, id)
	if err != nil {
		t.Fatal(err)
	}
	key, err := hkdf.Key(sha256.New, fileKey, sealed[start-streamNonce:start], "payload", chacha20poly1305.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		t.Fatal(err)
	}
	// Chunk 0 full and not last, chunk 1 empty and last.
	var nonce [chacha20poly1305.NonceSize]byte
	forged := aead.Seal(bytes.Clone(sealed[:start]), nonce[:], plain, nil)
	nonce[len(nonce)-2], nonce[len(nonce)-1] = 1, 1
	forged = aead.Seal(forged, nonce[:], nil, nil)

	if _, err := age.Decrypt(bytes.NewReader(forged), id); err == nil {
		r, _ := age.Decrypt(bytes.NewReader(forged), id)
		if _, err := io.ReadAll(r); err == nil {
			t.Fatal("age itself accepts the forged stream: the test is wrong")
		}
	}
	var out bytes.Buffer
	if err := decryptTo(&out, bytes.NewReader(forged), id); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("got %v, want ErrDecrypt", err)
	}
	// The same stream with the last flag on chunk 0 alone decrypts: the
	// forgery above differs only in its ending.
	nonce = [chacha20poly1305.NonceSize]byte{}
	nonce[len(nonce)-1] = 1
	good := aead.Seal(bytes.Clone(sealed[:start]), nonce[:], plain, nil)
	out.Reset()
	if err := decryptTo(&out, bytes.NewReader(good), id); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("the well-formed stream did not decrypt: %v", err)
	}
}
