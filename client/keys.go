// Package client is the Go library behind `stratusd storage` and
// `stratusd compute`: it encrypts and hashes files before they leave the
// user's machine, talks to providers, and verifies and decrypts what comes
// back. Providers only ever hold ciphertext.
package client

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"
)

// KeyFile is the age identity's path relative to the client home.
const KeyFile = "storage/age-identity.txt"

// LoadOrCreateIdentity returns the age identity in home, creating it (mode
// 0600, in a 0700 directory) on first use. created says whether it is new,
// so the CLI can tell the user to back it up: without it, stored files
// cannot be decrypted.
func LoadOrCreateIdentity(home string) (id *age.X25519Identity, created bool, err error) {
	path := filepath.Join(home, KeyFile)
	bz, err := os.ReadFile(path)
	switch {
	case err == nil:
		ids, err := age.ParseIdentities(bytes.NewReader(bz))
		if err != nil {
			return nil, false, fmt.Errorf("reading %s: %w", path, err)
		}
		x, ok := ids[0].(*age.X25519Identity)
		if len(ids) != 1 || !ok {
			return nil, false, fmt.Errorf("%s must hold exactly one X25519 age identity", path)
		}
		return x, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, err
	}

	id, err = age.GenerateX25519Identity()
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	content := fmt.Sprintf("# Stratus storage key. Files you stored cannot be read without it: back it up.\n# public key: %s\n%s\n",
		id.Recipient(), id)
	// O_EXCL: never overwrite a key another process created meanwhile.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, false, err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, err
	}
	return id, true, f.Close()
}

// ErrNoIdentity is returned when the client home has no storage key.
var ErrNoIdentity = errors.New("no storage key in the client home")

// LoadIdentity returns the existing age identity in home; it never creates
// one, so reading files on a machine without the key fails clearly.
func LoadIdentity(home string) (*age.X25519Identity, error) {
	path := filepath.Join(home, KeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is missing; copy the key you stored the file with there", ErrNoIdentity, path)
	}
	id, _, err := LoadOrCreateIdentity(home)
	return id, err
}
