package parkd

import (
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/parkd/parkd/parkd/config"
	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/media/prompts"
)

// The config turned into the runtime objects of sipcore and media. They
// live here rather than in package config so that config, which only reads
// and checks the file, does not depend on the SIP stack.

// sipAuth is sip.auth for sipcore: the inline users, then users_file's
// (read by New at start, see Config.AuthFileUsers).
func sipAuth(c Config, fileUsers []AuthUser) sipcore.AuthConfig {
	a := sipcore.AuthConfig{Realm: c.SIP.Auth.Realm, NonceLifetime: c.SIP.Auth.NonceLifetime.D()}
	if a.Realm == "" {
		a.Realm = DefaultAuthRealm
	}
	for _, u := range append(append([]AuthUser(nil), c.SIP.Auth.Users...), fileUsers...) {
		if a.Users == nil {
			a.Users = map[string]sipcore.DigestUser{}
		}
		d := a.Users[u.Name]
		d.Name = u.Name
		if u.HA1 != "" {
			d.HA1MD5 = strings.ToLower(u.HA1)
		}
		if u.HA1SHA256 != "" {
			d.HA1SHA256 = strings.ToLower(u.HA1SHA256)
		}
		a.Users[u.Name] = d
	}
	return a
}

// endpointIdleTimeout is sip.tcp.idle_timeout as sipcore takes it: there
// zero means the default, so "0 (never)" becomes sipcore.NoIdleTimeout.
func endpointIdleTimeout(t TCPLimits) time.Duration {
	if d := t.IdleTimeout.D(); d != 0 {
		return d
	}
	return sipcore.NoIdleTimeout
}

// loadPrompts builds a lot's prompt set: the built-in recordings with the
// lot's own WAV files in their place. key is the lot's key path
// (config.LotKey) for errors.
func loadPrompts(l LotConfig, key string) (*prompts.Set, error) {
	set := prompts.Builtin()
	for _, name := range slices.Sorted(maps.Keys(l.Prompts)) {
		path := config.ExpandHome(l.Prompts[name])
		if _, err := os.Stat(path); err != nil {
			return nil, &ConfigError{Key: key + ".prompts." + name, Msg: err.Error()}
		}
		clip, err := media.LoadWAVClip(path)
		if err != nil {
			return nil, &ConfigError{Key: key + ".prompts." + name, Msg: err.Error()}
		}
		if set, err = set.With(name, clip); err != nil {
			return nil, err
		}
	}
	return set, nil
}
