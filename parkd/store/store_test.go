package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenCreatesPrivateDirAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "parkd")
	s := openDir(t, dir)

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode = %v, want 0700", perm)
	}
	if want := filepath.Join(dir, FileName); s.Path() != want {
		t.Errorf("Path() = %q, want %q", s.Path(), want)
	}
	if _, err := os.Stat(s.Path()); err != nil {
		t.Errorf("database file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".parkd-probe-") {
			t.Errorf("writability probe %s left behind", e.Name())
		}
	}
}

// A data directory whose name would be URI syntax must still work.
func TestOpenOddDirectoryName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%20d e")
	s := openDir(t, dir)
	if err := s.PutOverride(context.Background(), Override{Scope: "defaults", Policy: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("database not where expected: %v", err)
	}
}

// Every pooled connection must carry the DSN pragmas, not just the first.
func TestPragmas(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	// Hold two connections so that the second is a fresh one.
	var conns []*sql.Conn
	for range 2 {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"busy_timeout", "5000"},
		{"foreign_keys", "1"},
		{"user_version", "1"},
		{"application_id", "1885434475"}, // "park"
	} {
		for i, c := range conns {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, tc.pragma, err)
			}
			if !strings.EqualFold(got, tc.want) {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, tc.pragma, got, tc.want)
			}
		}
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string) // dir does not exist yet
		wantErr error                          // nil: only check the words
		words   []string
	}{
		{
			name: "file is not a database",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir)
				writeFile(t, filepath.Join(dir, FileName), strings.Repeat("call parked in slot 701\n", 200))
			},
			wantErr: ErrNotDatabase,
			words:   []string{FileName, "not an SQLite database", "move it aside"},
		},
		{
			name: "another program's database",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir)
				db := rawDB(t, filepath.Join(dir, FileName))
				if _, err := db.Exec("CREATE TABLE contacts (name TEXT)"); err != nil {
					t.Fatal(err)
				}
				db.Close()
			},
			wantErr: ErrNotDatabase,
			words:   []string{FileName, "some other program"},
		},
		{
			name: "another program's application_id",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir)
				db := rawDB(t, filepath.Join(dir, FileName))
				if _, err := db.Exec("PRAGMA application_id = 42"); err != nil {
					t.Fatal(err)
				}
				db.Close()
			},
			wantErr: ErrNotDatabase,
			words:   []string{FileName, "another program", "0x2a"},
		},
		{
			name: "newer schema",
			setup: func(t *testing.T, dir string) {
				s, err := Open(context.Background(), dir)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				db := rawDB(t, filepath.Join(dir, FileName))
				if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
					t.Fatal(err)
				}
				db.Close()
			},
			wantErr: ErrTooNew,
			words:   []string{FileName, "schema version 99", "newer"},
		},
		{
			name: "parkd.db is a directory",
			setup: func(t *testing.T, dir string) {
				mkdir(t, filepath.Join(dir, FileName))
			},
			wantErr: ErrNotDatabase,
			words:   []string{FileName, "not a regular file"},
		},
		{
			name: "data directory is a file",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "")
			},
			words: []string{"cannot create data directory", "not a directory"},
		},
		{
			name: "data directory not writable",
			setup: func(t *testing.T, dir string) {
				if os.Geteuid() == 0 {
					t.Skip("root ignores directory permissions")
				}
				mkdir(t, dir)
				if err := os.Chmod(dir, 0o500); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Chmod(dir, 0o700) })
			},
			wantErr: ErrNotWritable,
			words:   []string{"not writable", "permission denied"},
		},
		{
			name: "database file read-only",
			setup: func(t *testing.T, dir string) {
				if os.Geteuid() == 0 {
					t.Skip("root ignores file permissions")
				}
				s, err := Open(context.Background(), dir)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				if err := os.Chmod(filepath.Join(dir, FileName), 0o400); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: ErrNotWritable,
			words:   []string{FileName, "permissions"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			tc.setup(t, dir)
			s, err := Open(context.Background(), dir)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error is not %v", tc.wantErr)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error does not name the path %s", dir)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q", w)
				}
			}
		})
	}
}

// Refusing a file must not change it: the admin may want it back.
func TestOpenLeavesForeignFileAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	const garbage = "not a database at all, but long enough to have a header......"
	writeFile(t, path, garbage)
	s, err := Open(context.Background(), dir)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded")
	}
	if !errors.Is(err, ErrNotDatabase) {
		t.Errorf("Open = %v, want ErrNotDatabase", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != garbage {
		t.Errorf("file changed to %q", got)
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		s, err := Open(context.Background(), dir)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
