package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/stratusnet/stratus/merkle"
	"github.com/stratusnet/stratus/writeback"
)

// Sealed is an encrypted file ready to upload: the ciphertext in a temp
// file, and the Merkle root and size that name it on chain.
type Sealed struct {
	Path string
	Root merkle.Hash
	Size uint64
}

// Remove deletes the ciphertext.
func (s Sealed) Remove() error { return os.Remove(s.Path) }

// Seal encrypts src to recipient into a temp file in dir, hashing the
// ciphertext in the same pass (one read of the plaintext, one write).
// Encrypting and hashing run on every core: the ciphertext goes through a
// buffered pipe to a goroutine that writes it and hashes it in segments
// (merkle.ParallelBuilder).
func Seal(src io.Reader, recipient age.Recipient, chunkSize int, dir string) (Sealed, error) {
	b, err := merkle.NewParallelBuilder(chunkSize, 0)
	if err != nil {
		return Sealed{}, err
	}
	f, err := os.CreateTemp(dir, "stratus-put-*.age")
	if err != nil {
		return Sealed{}, err
	}
	ok := false
	defer func() {
		f.Close()
		if !ok {
			os.Remove(f.Name())
		}
	}()
	pipe := newBufPipe(pipeDepth, pipeBuffer)
	hashed := make(chan error, 1)
	go func() {
		w := writeback.NewWriter(f, 0)
		_, err := io.CopyBuffer(io.MultiWriter(w, b), pipe, make([]byte, pipeBuffer))
		w.Finish()            // read next from its start, to upload or encode it
		pipe.CloseReader(err) // a failed write stops the encryption
		hashed <- err
	}()
	err = encryptTo(pipe, src, recipient)
	pipe.CloseWithError(err)
	if herr := <-hashed; err == nil && herr != nil {
		err = fmt.Errorf("writing the ciphertext: %w", herr)
	}
	if err != nil {
		return Sealed{}, err
	}
	if err := f.Close(); err != nil {
		return Sealed{}, err
	}
	ok = true
	return Sealed{Path: f.Name(), Root: b.Root(), Size: b.Size()}, nil
}

// encryptTo writes src encrypted to recipient into w.
func encryptTo(w io.Writer, src io.Reader, recipient age.Recipient) error {
	enc, err := age.Encrypt(w, recipient)
	if err != nil {
		return err
	}
	if _, err := io.Copy(enc, src); err != nil {
		return fmt.Errorf("encrypting: %w", err)
	}
	return enc.Close()
}

// ErrVerify is returned when downloaded bytes do not match the deal.
var ErrVerify = errors.New("downloaded data does not match the deal's merkle root")

// Unseal decrypts the verified ciphertext at path into outPath, through a
// temp file renamed into place only once decryption succeeded, so the
// output name never holds unverified or partial bytes.
func Unseal(path, outPath string, id age.Identity) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	return replaceAtomically(outPath, func(f *os.File) error {
		if err := decryptTo(f, in, id); err != nil {
			return fmt.Errorf("decrypting (is this your key?): %w", err)
		}
		return nil
	})
}

// replaceAtomically makes outPath through a temp file beside it: fill
// writes the temp file, which is synced and renamed to outPath only once
// fill succeeded. On failure it is emptied (a reader following it, told
// its name by GetOptions.Partial, reaches its end instead of stale bytes
// or holes) and removed.
func replaceAtomically(outPath string, fill func(f *os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(outPath), ".stratus-get-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = f.Truncate(0)
			os.Remove(f.Name())
		}
		f.Close()
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), outPath); err != nil {
		return err
	}
	ok = true
	return nil
}

// Verifier hashes bytes as they stream past (a download) so no second
// read is needed to check them against a deal's root and size.
type Verifier struct {
	b    *merkle.Builder
	root merkle.Hash
	size uint64
}

// NewVerifier checks a stream against root and size.
func NewVerifier(root merkle.Hash, size uint64, chunkSize int) (*Verifier, error) {
	// One goroutine: a get's verifying pass already shares the cores with
	// decrypting and writing, and hashing it in parallel made it no faster.
	b, err := merkle.NewBuilder(chunkSize)
	if err != nil {
		return nil, err
	}
	return &Verifier{b: b, root: root, size: size}, nil
}

// Write hashes p; it never fails.
func (v *Verifier) Write(p []byte) (int, error) { return v.b.Write(p) }

// Check reports whether everything written has the expected size and root.
func (v *Verifier) Check() error {
	if n := v.b.Size(); n != v.size {
		return fmt.Errorf("%w: %d bytes, the deal has %d", ErrVerify, n, v.size)
	}
	if got := v.b.Root(); got != v.root {
		return fmt.Errorf("%w: root %s, the deal has %s", ErrVerify, got, v.root)
	}
	return nil
}

// VerifyFile checks that the file at path has the deal's size and root.
func VerifyFile(path string, root merkle.Hash, size uint64, chunkSize int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	v, err := NewVerifier(root, size, chunkSize)
	if err != nil {
		return err
	}
	if _, err := io.Copy(v, f); err != nil {
		return err
	}
	return v.Check()
}

// HashFile names a file that is stored as it is (unencrypted): it reads src
// (the file at path) once for its Merkle root and size. The returned
// Sealed points at path itself; do not Remove it.
func HashFile(src io.Reader, path string, chunkSize int) (Sealed, error) {
	b, err := merkle.NewParallelBuilder(chunkSize, 0)
	if err != nil {
		return Sealed{}, err
	}
	if _, err := io.Copy(b, src); err != nil {
		return Sealed{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	return Sealed{Path: path, Root: b.Root(), Size: b.Size()}, nil
}

// ageHeader starts every age file.
const ageHeader = "age-encryption.org/v1\n"

// IsSealed reports whether the file at path is age-encrypted (stored by
// put without --public) rather than stored as it is.
func IsSealed(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, len(ageHeader))
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return string(buf[:n]) == ageHeader, nil
}
