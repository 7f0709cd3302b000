package parkd

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/parkd/parkd/sipcore"
)

func TestParkedMessage(t *testing.T) {
	tests := []struct {
		name   string
		caller sipcore.Party
		want   string
	}{
		{"name and URI", sipcore.Party{Display: "Alice", URI: "sip:alice@pbx"}, "Parked Alice <sip:alice@pbx> on 703 (main)"},
		{"no name", sipcore.Party{URI: "sip:2001@pbx"}, "Parked sip:2001@pbx on 703 (main)"},
		{"line breaks and escapes", sipcore.Party{Display: "Eve\r\nX-Evil: 1\x1b[31m", URI: "sip:eve@pbx"}, "Parked Eve  X-Evil: 1 [31m <sip:eve@pbx> on 703 (main)"},
		{"long name keeps the slot", sipcore.Party{Display: strings.Repeat("é", 100), URI: "sip:x@pbx"}, "Parked " + strings.Repeat("é", 64) + "… <sip:x@pbx> on 703 (main)"},
	}
	for _, tt := range tests {
		if got := parkedMessage(tt.caller, "703", "main"); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// FuzzParkedMessage: whatever the caller's headers hold, the text is one
// line of printable UTF-8 of bounded length that names the slot.
func FuzzParkedMessage(f *testing.F) {
	f.Add("Alice", "sip:alice@pbx")
	f.Add("\xff\xfe\u202e", "sip:\r\n@x")
	f.Fuzz(func(t *testing.T, display, uri string) {
		got := parkedMessage(sipcore.Party{Display: display, URI: uri}, "703", "main")
		if !utf8.ValidString(got) {
			t.Fatalf("not UTF-8: %q", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
		if !strings.HasSuffix(got, " on 703 (main)") {
			t.Fatalf("the slot is missing: %q", got)
		}
		if n := utf8.RuneCountInString(got); n > maxMessageName+maxMessageURI+40 {
			t.Fatalf("%d runes", n)
		}
	})
}
