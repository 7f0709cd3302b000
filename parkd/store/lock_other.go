//go:build !unix

package store

import "os"

// tryLock has no flock to take here: the data directory is not guarded.
func tryLock(*os.File) (bool, error) { return true, nil }
