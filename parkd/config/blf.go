package config

import "time"

// BLFConfig is the `blf:` section: what a subscription may ask for and
// how many a phone (or all phones) may hold, so a runaway phone cannot eat
// the daemon.
type BLFConfig struct {
	MinExpires     Duration `yaml:"min_expires" json:"min_expires"`         // shorter SUBSCRIBEs get 423
	MaxExpires     Duration `yaml:"max_expires" json:"max_expires"`         // longer ones are granted this
	DefaultExpires Duration `yaml:"default_expires" json:"default_expires"` // a SUBSCRIBE without Expires
	MaxPerSource   int      `yaml:"max_per_source" json:"max_per_source"`   // subscriptions from one IP address
	MaxTotal       int      `yaml:"max_total" json:"max_total"`             // subscriptions in all
	NotifyTimeout  Duration `yaml:"notify_timeout" json:"notify_timeout"`   // an unanswered NOTIFY ends its subscription
}

// Bounds of the blf: keys.
const (
	minMinExpires    = time.Second
	maxMaxExpires    = 24 * time.Hour
	maxBLFPerSource  = 1_000_000
	minNotifyTimeout = 500 * time.Millisecond
	maxNotifyTimeout = 5 * time.Minute
)

// DefaultBLF: RFC 4235's hour as the default and the longest grant, a
// minute as the shortest (Asterisk's minexpiry), and room for a sidecar of
// a few hundred keys per phone.
func DefaultBLF() BLFConfig {
	return BLFConfig{
		MinExpires:     Duration(60 * time.Second),
		MaxExpires:     Duration(time.Hour),
		DefaultExpires: Duration(time.Hour),
		MaxPerSource:   500,
		MaxTotal:       50_000,
		NotifyTimeout:  Duration(32 * time.Second),
	}
}

func (c Config) checkBLF(ck *checker) {
	b := c.BLF
	if d := b.MinExpires.D(); d < minMinExpires || d > maxMaxExpires {
		ck.add("blf.min_expires", "must be between %s and %s (got %s)", Duration(minMinExpires), Duration(maxMaxExpires), b.MinExpires)
	}
	if d := b.MaxExpires.D(); d < b.MinExpires.D() || d > maxMaxExpires {
		ck.add("blf.max_expires", "must be between blf.min_expires (%s) and %s (got %s)", b.MinExpires, Duration(maxMaxExpires), b.MaxExpires)
	}
	if d := b.DefaultExpires.D(); d < b.MinExpires.D() || d > b.MaxExpires.D() {
		ck.add("blf.default_expires", "must be between blf.min_expires (%s) and blf.max_expires (%s) (got %s)", b.MinExpires, b.MaxExpires, b.DefaultExpires)
	}
	if b.MaxPerSource < 1 || b.MaxPerSource > maxBLFPerSource {
		ck.add("blf.max_per_source", "must be between 1 and %d (got %d)", maxBLFPerSource, b.MaxPerSource)
	}
	if b.MaxTotal < 1 || b.MaxTotal > maxBLFPerSource {
		ck.add("blf.max_total", "must be between 1 and %d (got %d)", maxBLFPerSource, b.MaxTotal)
	}
	if d := b.NotifyTimeout.D(); d < minNotifyTimeout || d > maxNotifyTimeout {
		ck.add("blf.notify_timeout", "must be between %s and %s (got %s)", Duration(minNotifyTimeout), Duration(maxNotifyTimeout), b.NotifyTimeout)
	}
}
