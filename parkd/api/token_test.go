package api

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "parkd")
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Errorf("token %q: %d bytes, %v", tok, len(raw), err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "token"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", path, fi.Mode().Perm(), want, err)
		}
	}
	again, err := LoadOrCreateToken(dir)
	if err != nil || again != tok {
		t.Errorf("second load %q, %v; want %q", again, err, tok)
	}
	// A hand-written token with a newline is read without it.
	os.WriteFile(filepath.Join(dir, "token"), []byte("hand-made\n"), 0o600)
	if got, err := LoadOrCreateToken(dir); got != "hand-made" || err != nil {
		t.Errorf("hand-made token: %q, %v", got, err)
	}
}

func TestLoadOrCreateTokenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    []string
	}{
		{"readable by others", "abc", 0o644, []string{"chmod 600", "0644", "token"}},
		{"writable by group", "abc", 0o620, []string{"chmod 600", "0620"}},
		{"readable by group", "abc", 0o640, []string{"chmod 600"}},
		{"empty", "", 0o600, []string{"empty", "remove it"}},
		{"blank", " \n", 0o600, []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tt.mode)
			_, err := LoadOrCreateToken(dir)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestLoadOrCreateTokenOnce(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Go(func() {
			tok, err := LoadOrCreateToken(dir)
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		})
	}
	wg.Wait()
	for _, tok := range toks {
		if tok != toks[0] || tok == "" {
			t.Fatalf("different tokens: %q", toks)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".token-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
