package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name of the API token's file in the data directory;
// clients on the same machine read it from there.
const TokenFile = "token"

// LoadOrCreateToken returns the token in DIR/token, creating DIR (0700) and
// the file (32 random bytes, base64url without padding, mode 0600) on
// first use. It refuses an existing file that group or others may read or
// write, or that is empty: a token others can read is no secret, and an
// empty one would admit anybody.
func LoadOrCreateToken(dataDir string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	path := filepath.Join(dataDir, TokenFile)
	tok, err := readToken(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	tok, err = createToken(path)
	if errors.Is(err, fs.ErrExist) {
		// Another parkd created it first; use that one.
		return readToken(path)
	}
	return tok, err
}

func readToken(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("api token file %s is not a regular file; remove it and parkd creates a new token", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("api token file %s is readable or writable by group or others (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("api token file %s is empty; remove it and parkd creates a new token", path)
	}
	return tok, nil
}

// createToken writes a new token to a temporary file and links it into
// place: the link fails if the file exists, so two daemons starting at
// once agree on one token, and nobody ever reads a half-written one.
func createToken(path string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(tok)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	switch {
	case err == nil:
		return tok, nil
	case errors.Is(err, fs.ErrExist):
		return "", err
	}
	return "", fmt.Errorf("api token: %w", err)
}
