package parkd

import (
	"github.com/parkd/parkd/parkd/config"
)

// The config file is read and checked by package config; these aliases
// keep its names where the console, parkd ctl and tests have always found
// them. Add a name here only when a user of package parkd needs it.

// Types of the config file and of recall policies.
type (
	AuthConfig      = config.AuthConfig
	AuthUser        = config.AuthUser
	BLFConfig       = config.BLFConfig
	Duration        = config.Duration
	ConfigError     = config.ConfigError
	KazooPark       = config.KazooPark
	PolicySource    = config.PolicySource
	EffectivePolicy = config.EffectivePolicy
	TCPLimits       = config.TCPLimits
	RateLimit       = config.RateLimit
	Rate            = config.Rate
	Policy          = config.Policy
	PolicyError     = config.PolicyError
	Config          = config.Config
	SIPConfig       = config.SIPConfig
	RTPConfig       = config.RTPConfig
	APIConfig       = config.APIConfig
	APITLS          = config.APITLS
	LotConfig       = config.LotConfig
	ListenAddr      = config.ListenAddr
)

// Values and defaults of config keys, and policy layers and scopes.
const (
	DefaultAuthRealm         = config.DefaultAuthRealm
	DefaultNonceLifetime     = config.DefaultNonceLifetime
	LayerBuiltin             = config.LayerBuiltin
	LayerDefaults            = config.LayerDefaults
	LayerLot                 = config.LayerLot
	LayerSlot                = config.LayerSlot
	LayerOverride            = config.LayerOverride
	ScopeDefaults            = config.ScopeDefaults
	DefaultTCPMaxConnections = config.DefaultTCPMaxConnections
	DefaultTCPMaxPerSource   = config.DefaultTCPMaxPerSource
	DefaultTCPIdleTimeout    = config.DefaultTCPIdleTimeout
	DefaultTCPMessageTimeout = config.DefaultTCPMessageTimeout
	DefaultRatePerSource     = config.DefaultRatePerSource
	DefaultRateBurst         = config.DefaultRateBurst
	DefaultMaxTransactions   = config.DefaultMaxTransactions
	DefaultMaxPendingInvites = config.DefaultMaxPendingInvites
	RecallParkerOnly         = config.RecallParkerOnly
	RecallParkerThenGroup    = config.RecallParkerThenGroup
	RecallGroupOnly          = config.RecallGroupOnly
	FailureRepark            = config.FailureRepark
	FailureHangup            = config.FailureHangup
	FailureForward           = config.FailureForward
	PresenceEarly            = config.PresenceEarly
	PresenceConfirmed        = config.PresenceConfirmed
	PresenceTerminated       = config.PresenceTerminated
	EmptySlotReject          = config.EmptySlotReject
	EmptySlotPrompt          = config.EmptySlotPrompt
	DefaultAttendedTimeout   = config.DefaultAttendedTimeout
	DefaultRecallAlertInfo   = config.DefaultRecallAlertInfo
	LatchSDP                 = config.LatchSDP
	LatchSignalling          = config.LatchSignalling
	LatchAny                 = config.LatchAny
	FindSlotFirst            = config.FindSlotFirst
	FindSlotNext             = config.FindSlotNext
	SlotActionPark           = config.SlotActionPark
	SlotActionDirectPark     = config.SlotActionDirectPark
	SlotActionRetrieve       = config.SlotActionRetrieve
	SlotActionAuto           = config.SlotActionAuto
	WhenFullReject           = config.WhenFullReject
	WhenFullOverflow         = config.WhenFullOverflow
	WhenFullForward          = config.WhenFullForward
	QueueOverflowHangup      = config.QueueOverflowHangup
	QueueOverflowForward     = config.QueueOverflowForward
	DefaultQueueMax          = config.DefaultQueueMax
	DefaultQueueTimeout      = config.DefaultQueueTimeout
	TransferReject           = config.TransferReject
	TransferNextFree         = config.TransferNextFree
	NotifyParkerMessage      = config.NotifyParkerMessage
	NotifyParkerNone         = config.NotifyParkerNone
	MOHBuiltin               = config.MOHBuiltin
	ParkAlias                = config.ParkAlias
)

// DefaultAuth is sip.auth on a fresh start.
func DefaultAuth() AuthConfig { return config.DefaultAuth() }

// DefaultBLF is the blf: section on a fresh start.
func DefaultBLF() BLFConfig { return config.DefaultBLF() }

// CheckConfig lists every problem of a config file's text.
func CheckConfig(data []byte) []*ConfigError { return config.CheckConfig(data) }

// CheckConfigFile is CheckConfig on the file at path.
func CheckConfigFile(path string) ([]*ConfigError, error) { return config.CheckConfigFile(path) }

// DefaultConfig is a fresh start with no config file.
func DefaultConfig() Config { return config.DefaultConfig() }

// DefaultLot is the lot `main` of a config that lists no lots.
func DefaultLot() LotConfig { return config.DefaultLot() }

// DefaultDataDir is $XDG_STATE_HOME/parkd, else ~/.local/state/parkd.
func DefaultDataDir() string { return config.DefaultDataDir() }

// ExampleConfig is `parkd config example`: every key at its default.
func ExampleConfig() string { return config.ExampleConfig() }

// ParseKazoo maps a Kazoo park data object onto parkd's settings.
func ParseKazoo(data map[string]any, path string, inLot func(slot string) bool) (KazooPark, []*PolicyError) {
	return config.ParseKazoo(data, path, inLot)
}

// LotScope names the override scope of a lot.
func LotScope(name string) string { return config.LotScope(name) }

// SlotScope names the override scope of a slot.
func SlotScope(name string) string { return config.SlotScope(name) }

// DefaultTCPLimits are the sip.tcp values of a fresh start.
func DefaultTCPLimits() TCPLimits { return config.DefaultTCPLimits() }

// DefaultRateLimit is the sip.rate_limit of a fresh start.
func DefaultRateLimit() RateLimit { return config.DefaultRateLimit() }

// LoadConfig reads and parses the config file at path.
func LoadConfig(path string) (Config, error) { return config.LoadConfig(path) }

// ParseConfig reads and validates a config file's text.
func ParseConfig(data []byte) (Config, error) { return config.ParseConfig(data) }

// BuiltinPolicy is the bottom policy layer, every field set.
func BuiltinPolicy() Policy { return config.BuiltinPolicy() }
