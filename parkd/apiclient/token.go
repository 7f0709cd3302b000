package apiclient

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/parkd/parkd/parkd"
)

// TokenEnv is the environment variable FindToken reads.
const TokenEnv = "PARKD_TOKEN"

// FindToken picks the API token as README ("parkd ctl") orders it: the --token flag,
// else $PARKD_TOKEN, else the file `token` that the daemon writes in its
// data directory (dataDir, default parkd.DefaultDataDir()).
func FindToken(flagToken, dataDir string) (string, error) {
	if t := strings.TrimSpace(flagToken); t != "" {
		return t, nil
	}
	if t := strings.TrimSpace(os.Getenv(TokenEnv)); t != "" {
		return t, nil
	}
	if dataDir == "" {
		dataDir = parkd.DefaultDataDir()
	}
	path := filepath.Join(dataDir, "token")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("no API token: %s does not exist (pass --token, set %s, or point --data at the daemon's data directory)", path, TokenEnv)
	case err != nil:
		return "", fmt.Errorf("reading the API token: %v", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("no API token: %s is empty", path)
	}
	return t, nil
}
