package config

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// What a key left out of the file means (docs/CONFIG.md).

// DefaultConfig is a fresh start with no config file (docs/CONFIG.md).
func DefaultConfig() Config {
	return Config{
		SIP: SIPConfig{
			Listen:            []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"},
			Allow:             []string{"127.0.0.0/8"},
			RecallAlertInfo:   DefaultRecallAlertInfo,
			Auth:              DefaultAuth(),
			TCP:               DefaultTCPLimits(),
			RateLimit:         DefaultRateLimit(),
			MaxTransactions:   DefaultMaxTransactions,
			MaxPendingInvites: DefaultMaxPendingInvites,
		},
		RTP: RTPConfig{Address: "127.0.0.1", Ports: "20000-20999", Timeout: Duration(60 * time.Second), Latch: LatchSignalling,
			MaxRelayDelay: Duration(DefaultMaxRelayDelay)},
		API:      APIConfig{Listen: "127.0.0.1:7080"},
		BLF:      DefaultBLF(),
		Data:     DefaultDataDir(),
		MOH:      MOHBuiltin,
		Defaults: BuiltinPolicy(),
		Lots:     []LotConfig{DefaultLot()},
	}
}

// DefaultLot is the lot `main` that exists when the config lists no lots.
func DefaultLot() LotConfig {
	l := listedLotDefaults()
	l.Name = "main"
	l.Extension = "700"
	l.RetrieveExtension = "*700"
	l.Slots = "701-720"
	l.AttendantExtension = "0"
	return l
}

// listedLotDefaults fills the keys a listed lot may leave out. Extension and
// slots are deliberately absent: a lot without them is a mistake to report.
func listedLotDefaults() LotConfig {
	return LotConfig{
		FindSlot:           FindSlotFirst,
		SlotAction:         SlotActionAuto,
		QueueMax:           DefaultQueueMax,
		QueueTimeout:       Duration(DefaultQueueTimeout),
		QueueOverflow:      QueueOverflowHangup,
		WhenFull:           WhenFullReject,
		TransferToOccupied: TransferReject,
		NotifyParker:       NotifyParkerMessage,
		AnnounceSlot:       ptr(true),
		AttendedTimeout:    Duration(DefaultAttendedTimeout),
		EmptySlot:          EmptySlotReject,
		RecallPrompt:       ptr(true),
	}
}

// DefaultDataDir is $XDG_STATE_HOME/parkd, else ~/.local/state/parkd. The
// XDG spec says to ignore a relative XDG_STATE_HOME. With no home directory
// either (a bare service account) it is ".parkd" in the working directory
// rather than a shared place like /tmp, since it holds the API token.
func DefaultDataDir() string {
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "parkd")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "parkd")
	}
	return ".parkd"
}

// ExpandHome turns a leading "~" or "~/" into the home directory. "~user"
// is left alone: it is rare and needs a user database lookup.
func ExpandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return p
	}
	return filepath.Join(home, p[1:])
}
