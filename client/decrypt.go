package client

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// Decrypting a private deal (ADR 017). age reads the header and unwraps
// the file key with the storage key (age.ExtractHeader, age.DecryptHeader:
// stanzas and the header's MAC stay age's). The payload after it is age's
// STREAM (the age v1 format): 64 KiB chunks, each sealed with
// ChaCha20-Poly1305 under a key derived from the file key and the 16-byte
// nonce after the header, the chunk's nonce an 11-byte counter and a flag
// byte set on the last chunk only. decryptTo opens that stream itself
// because age's reader allocates a fresh 64 KiB buffer for every chunk and
// copies each chunk twice: a 1 GiB get made 1 GiB of garbage, and the
// collector cost a fifth of its CPU. decryptTo opens the chunks from one
// input buffer into one output buffer, both allocated once.

const (
	// payloadChunk is the plaintext of a full STREAM chunk, and
	// sealedChunk the same sealed.
	payloadChunk = 64 << 10
	sealedChunk  = payloadChunk + chacha20poly1305.Overhead
	// streamNonce is the size of the nonce that follows the header.
	streamNonce = 16
	// maxHeader bounds the header decryptTo reads (one recipient's is
	// about 200 bytes).
	maxHeader = 64 << 10
	// decryptBatch is how many chunks decryptTo opens per write. One
	// (64 KiB in, 64 KiB out) keeps both buffers in the core's cache: a
	// 1 GiB decrypt took 1.51 s with 1, 1.60 s with 4 and 2.08 s with 16
	// (BenchmarkFloorGet).
	decryptBatch = 1
)

// ErrDecrypt says the ciphertext is not what the storage key sealed:
// corrupted, truncated, extended, reordered or another file's chunks.
var ErrDecrypt = errors.New("the ciphertext does not decrypt with your storage key (corrupted, truncated or not yours)")

// decryptTo decrypts the age file read from src with id into dst.
func decryptTo(dst io.Writer, src io.Reader, id age.Identity) error {
	return decryptBatches(dst, src, id, decryptBatch)
}

// decryptBatches is decryptTo opening batch chunks per write.
func decryptBatches(dst io.Writer, src io.Reader, id age.Identity, batch int) error {
	aead, payload, err := openHeader(src, id)
	if err != nil {
		return err
	}
	return decryptPayload(dst, payload, aead, batch)
}

// openHeader reads the age header and the stream nonce from src and
// returns the payload's AEAD and a reader of the payload.
func openHeader(src io.Reader, id age.Identity) (cipher.AEAD, io.Reader, error) {
	br := bufio.NewReaderSize(src, maxHeader+streamNonce)
	head, err := br.Peek(maxHeader + streamNonce)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, nil, err
	}
	start, aead, err := payloadKey(head, id)
	if err != nil {
		return nil, nil, err
	}
	if _, err := br.Discard(start); err != nil {
		return nil, nil, err
	}
	return aead, br, nil
}

// payloadKey reads the age header and the stream nonce at the start of
// head (the file's first bytes, up to maxHeader+streamNonce of them),
// unwraps the file key with id, and returns where the payload starts
// and its AEAD.
func payloadKey(head []byte, id age.Identity) (start int, aead cipher.AEAD, err error) {
	header, err := age.ExtractHeader(bytes.NewReader(head))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: reading the header: %w", ErrDecrypt, err)
	}
	// The header is read back as age writes it: it must be the bytes the
	// file starts with, or the payload would be read from the wrong place.
	if !bytes.HasPrefix(head, header) || len(head) < len(header)+streamNonce {
		return 0, nil, fmt.Errorf("%w: the header is not followed by a payload", ErrDecrypt)
	}
	fileKey, err := age.DecryptHeader(header, id)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	nonce := head[len(header) : len(header)+streamNonce]
	key, err := hkdf.Key(sha256.New, fileKey, nonce, "payload", chacha20poly1305.KeySize)
	if err != nil {
		return 0, nil, err
	}
	aead, err = chacha20poly1305.New(key)
	if err != nil {
		return 0, nil, err
	}
	return len(header) + streamNonce, aead, nil
}

// decryptPayload opens the STREAM chunks read from src in batches of
// batch chunks and writes their plaintext to dst. Every chunk is
// authenticated before any of its batch is written; the last chunk must
// carry the last-chunk flag and nothing may follow it.
func decryptPayload(dst io.Writer, src io.Reader, aead cipher.AEAD, batch int) error {
	// One byte past the batch tells whether more follows: a full batch
	// with more after it holds no last chunk.
	in := make([]byte, batch*sealedChunk+1)
	out := make([]byte, batch*payloadChunk)
	var nonce [chacha20poly1305.NonceSize]byte
	carried := 0 // the look-ahead byte, kept at in[0]
	first := true
	for {
		n, err := io.ReadFull(src, in[carried:])
		n += carried
		more := err == nil // the batch is full and a byte follows it
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return err
		}
		end := n
		if more {
			end = n - 1
		}
		if end == 0 {
			return fmt.Errorf("%w: it ends without its last chunk", ErrDecrypt)
		}
		plain := 0
		for off := 0; off < end; off += sealedChunk {
			// Every chunk but the stream's last is full: only the last
			// batch (nothing more follows) ends short.
			chunk := in[off:min(off+sealedChunk, end)]
			last := !more && off+sealedChunk >= end
			if len(chunk) < chacha20poly1305.Overhead || (last && len(chunk) == chacha20poly1305.Overhead && !first) {
				return fmt.Errorf("%w: it ends inside a chunk", ErrDecrypt)
			}
			if last {
				nonce[len(nonce)-1] = 1
			}
			p, err := aead.Open(out[plain:plain], nonce[:], chunk, nil)
			if err != nil {
				return fmt.Errorf("%w: chunk %d fails authentication", ErrDecrypt, counter(&nonce))
			}
			plain += len(p)
			first = false
			if !incCounter(&nonce) {
				return fmt.Errorf("%w: too many chunks", ErrDecrypt)
			}
		}
		if _, err := dst.Write(out[:plain]); err != nil {
			return err
		}
		if !more {
			return nil
		}
		in[0], carried = in[n-1], 1
	}
}

// incCounter adds one to the 88-bit big-endian chunk counter in the
// nonce's first 11 bytes; false when it wraps.
func incCounter(nonce *[chacha20poly1305.NonceSize]byte) bool {
	for i := len(nonce) - 2; i >= 0; i-- {
		nonce[i]++
		if nonce[i] != 0 {
			return true
		}
	}
	return false
}

// counter is the chunk counter's low 64 bits, for errors.
func counter(nonce *[chacha20poly1305.NonceSize]byte) uint64 {
	var c uint64
	for _, b := range nonce[3 : len(nonce)-1] {
		c = c<<8 | uint64(b)
	}
	return c
}
