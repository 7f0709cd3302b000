package presence

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDialogInfoGolden(t *testing.T) {
	got := string(DialogInfoBody("sip:701@127.0.0.1", exampleDialogs()).Bytes(7))
	if got != goldenDialogInfo {
		t.Errorf("got\n%s\nwant\n%s", got, goldenDialogInfo)
	}
}

func TestDialogInfoIdle(t *testing.T) {
	const want = `<?xml version="1.0" encoding="UTF-8"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:701@127.0.0.1">
</dialog-info>`
	if got := string(DialogInfoBody("sip:701@127.0.0.1", nil).Bytes(0)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestDialogInfoEscaping(t *testing.T) {
	d := []Dialog{{ID: `a"b`, State: "early", Remote: &Identity{Display: `"Bob" <&> 'x'`, URI: "sip:b@h;x=<1>"}}}
	got := string(DialogInfoBody(`sip:"e"@h`, d).Bytes(1))
	for _, want := range []string{
		`entity="sip:&quot;e&quot;@h"`,
		`<dialog id="a&quot;b">`,
		`<identity display="&quot;Bob&quot; &lt;&amp;&gt; 'x'">sip:b@h;x=&lt;1&gt;</identity>`,
		`<target uri="sip:b@h;x=&lt;1&gt;"/>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %s:\n%s", want, got)
		}
	}
}

func TestDialogInfoRoundTrip(t *testing.T) {
	const entity = "sip:701@127.0.0.1"
	tests := []struct {
		name    string
		entity  string
		version uint32
		dialogs []Dialog
		want    []Dialog // nil: same as dialogs
	}{
		{name: "idle", entity: entity},
		{name: "example", entity: entity, version: 7, dialogs: exampleDialogs()},
		{
			name: "one early dialog, minimal", entity: entity, version: 1,
			dialogs: []Dialog{{ID: "701", State: "early"}},
		},
		{
			name: "two dialogs", entity: entity, version: math.MaxUint32,
			dialogs: []Dialog{
				{ID: "d1", CallID: "a@h", Direction: "initiator", State: "confirmed",
					Local: &Identity{URI: "sip:701@127.0.0.1"}, Remote: &Identity{Display: "Bob", URI: "sip:bob@h"}},
				{ID: "d2", CallID: "b@h", LocalTag: "x", State: "terminated", Remote: &Identity{URI: "sip:carol@h"}},
			},
		},
		{
			name: "nasty display names", entity: `sip:"x"&<y>@h`, version: 3,
			dialogs: []Dialog{{
				ID: `id"<&>'`, CallID: `c"&<`, LocalTag: "]]>", RemoteTag: "'", Direction: "recipient", State: "early",
				Local:  &Identity{Display: `"Park" <701> & co`, URI: "sip:701@h"},
				Remote: &Identity{Display: `Eve "the <evil> & 'bad'" ]]> &amp;`, URI: `sip:eve@h;p="<&>"`},
			}},
		},
		{
			name: "unicode", entity: "sip:зал@h", version: 2,
			dialogs: []Dialog{{ID: "ü", State: "early", Remote: &Identity{Display: "Jürgen Müller 日本語 😀 \u200d", URI: "sip:jürgen@h"}}},
		},
		{
			name: "tab and newline survive", entity: entity,
			dialogs: []Dialog{{ID: "1", State: "early", Remote: &Identity{Display: "a\tb\nc", URI: "sip:a@h"}}},
		},
		{
			name: "control characters become U+FFFD", entity: "sip:\x00@h", version: 5,
			dialogs: []Dialog{{
				ID: "a\x01", State: "early",
				Remote: &Identity{Display: "x\x00y\x1bz\r\x7f\u0085\ufffe\uffff\xff!", URI: "sip:\x08@h"},
			}},
			want: []Dialog{{
				ID: "a\ufffd", State: "early",
				Remote: &Identity{Display: "x\ufffdy\ufffdz\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd!", URI: "sip:\ufffd@h"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := DialogInfoBody(tt.entity, tt.dialogs)
			raw := body.Bytes(tt.version)
			checkXMLText(t, raw)
			got, err := ParseDialogInfo(raw)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, raw)
			}
			want := &DialogInfo{Entity: sanitize(tt.entity), State: "full", Version: tt.version, Dialogs: tt.dialogs}
			if tt.want != nil {
				want.Dialogs = tt.want
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %s\nwant %s\nbody:\n%s", dumpDialogInfo(got), dumpDialogInfo(want), raw)
			}
		})
	}
}

// checkXMLText asserts a built body is UTF-8 with no raw control characters
// other than the newlines between elements.
func checkXMLText(t *testing.T, raw []byte) {
	t.Helper()
	if !utf8.Valid(raw) {
		t.Errorf("body is not UTF-8: %q", raw)
	}
	for _, r := range string(raw) {
		if r != '\n' && xmlRune(r) != r {
			t.Errorf("body contains %U: %q", r, raw)
		}
	}
}

// The writer that reuses rendered elements gives the bytes DialogInfoBody
// gives, with and without dialogs, and a reused writer forgets the last
// document.
func TestDialogInfoWriterMatchesDialogInfoBody(t *testing.T) {
	dialogs := []Dialog{
		{ID: "701-a", CallID: "c@pbx", LocalTag: "l", RemoteTag: "r", Direction: "recipient", State: "early",
			Local: &Identity{Display: "Park 701", URI: "sip:701@h"}, Remote: &Identity{Display: `A & "B"`, URI: "sip:a@h"}},
		{ID: "702-b", State: "confirmed", Local: &Identity{URI: "sip:702@h"}},
	}
	var w DialogInfoWriter
	for _, n := range []int{2, 0, 1} {
		w.Start("sip:700@h<x>")
		for i := range dialogs[:n] {
			w.Append(AppendDialog(nil, &dialogs[i]))
		}
		got, want := w.Body(), DialogInfoBody("sip:700@h<x>", dialogs[:n])
		if string(got.Bytes(7)) != string(want.Bytes(7)) || got.ContentType() != want.ContentType() {
			t.Errorf("%d dialogs:\n%s\nwant\n%s", n, got.Bytes(7), want.Bytes(7))
		}
	}
}
