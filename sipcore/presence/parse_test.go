package presence

import (
	"reflect"
	"strings"
	"testing"
)

const (
	diOpen   = `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:701@h">`
	pidfOpen = `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:701@h">`
)

func TestParseDialogInfoErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", "", "dialog-info: no root element"},
		{"only a declaration", xmlDecl, "dialog-info: no root element"},
		{"text before root", "junk" + diOpen + "</dialog-info>", "dialog-info: text before the root element"},
		{"wrong root", goldenPIDF, `dialog-info: root element is <presence> in namespace "urn:ietf:params:xml:ns:pidf", want <dialog-info>`},
		{"wrong namespace", `<dialog-info xmlns="urn:example:dialog-info" version="1" state="full"/>`, `dialog-info: root element is <dialog-info> in namespace "urn:example:dialog-info"`},
		{"no namespace", `<dialog-info version="1" state="full"/>`, "dialog-info: root element is <dialog-info> in no namespace"},
		{"missing version", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" state="full"/>`, "dialog-info: missing version attribute"},
		{"prefixed version only", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" xmlns:x="urn:x" x:version="1" state="full"/>`, "dialog-info: missing version attribute"},
		{"version not a number", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="seven" state="full"/>`, `dialog-info: version "seven" is not an unsigned 32-bit integer`},
		{"negative version", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="-1" state="full"/>`, `dialog-info: version "-1" is not`},
		{"version over uint32", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="4294967296" state="full"/>`, `dialog-info: version "4294967296" is not`},
		{"empty version", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="" state="full"/>`, `dialog-info: version "" is not`},
		{"missing state", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1"/>`, "dialog-info: missing state attribute"},
		{"bad state", `<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="half"/>`, `dialog-info: state "half" is neither "full" nor "partial"`},
		{"truncated", goldenDialogInfo[:len(goldenDialogInfo)/2], "dialog-info: malformed XML: XML syntax error"},
		{"truncated in root tag", goldenDialogInfo[:60], "dialog-info: malformed XML"},
		{"mismatched tags", diOpen + "<dialog id='1'></dialog-info>", "dialog-info: malformed XML"},
		{"undefined entity", diOpen + "<dialog id='&foo;'/></dialog-info>", "dialog-info: malformed XML"},
		{"non-UTF-8 encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + diOpen + "</dialog-info>", "dialog-info: malformed XML"},
		{"too big", diOpen + "<!--" + strings.Repeat("x", maxBodySize) + "--></dialog-info>", "dialog-info: body is 262265 bytes, more than the limit of 262144"},
		{"too many dialogs", diOpen + strings.Repeat(`<dialog id="x"/>`, maxDialogs+1) + "</dialog-info>", "dialog-info: 10001 dialogs, more than the limit of 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDialogInfo([]byte(tt.body))
			if err == nil {
				t.Fatalf("no error; parsed %s", dumpDialogInfo(got))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseDialogInfoLimitsAreInclusive(t *testing.T) {
	body := diOpen + strings.Repeat(`<dialog id="x"/>`, maxDialogs) + "</dialog-info>"
	info, err := ParseDialogInfo([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Dialogs) != maxDialogs {
		t.Errorf("%d dialogs", len(info.Dialogs))
	}
	pad := maxBodySize - len(diOpen) - len("<!---->") - len("</dialog-info>")
	body = diOpen + "<!--" + strings.Repeat("x", pad) + "--></dialog-info>"
	if len(body) != maxBodySize {
		t.Fatalf("test body is %d bytes", len(body))
	}
	if _, err := ParseDialogInfo([]byte(body)); err != nil {
		t.Errorf("body of exactly the limit: %v", err)
	}
}

// Bodies as other vendors write them: prefixes, pretty-printing, partial
// state, extension elements and attributes, target without identity.
func TestParseDialogInfoLenient(t *testing.T) {
	const body = `<?xml version="1.0"?>
<!-- a comment -->
<di:dialog-info xmlns:di="urn:ietf:params:xml:ns:dialog-info" xmlns:sa="urn:vendor:sa"
    version=" 42 " state="partial" entity="sip:702@pbx" sa:extra="1">
  <sa:note>ignored</sa:note>
  <di:dialog id="d1" call-id="cid" local-tag="lt" remote-tag="rt" direction="initiator" sa:line="2">
    <di:state event="remote-bye" code="200">
      terminated
    </di:state>
    <di:duration>12</di:duration>
    <di:local>
      <di:identity display="Park &amp; Ride">
        sip:702@pbx
      </di:identity>
      <di:target uri="sip:702@10.0.0.9"><di:param pname="+sip.rendering" pval="no"/></di:target>
    </di:local>
    <di:remote>
      <di:target uri=" sip:bob@10.0.0.2 "/>
    </di:remote>
  </di:dialog>
  <dialog xmlns="urn:vendor:other" id="not-a-dialog"/>
  <di:dialog id="d2"><di:state>confirmed</di:state><di:remote/></di:dialog>
</di:dialog-info>
`
	got, err := ParseDialogInfo([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := &DialogInfo{
		Entity: "sip:702@pbx", State: "partial", Version: 42,
		Dialogs: []Dialog{
			{
				ID: "d1", CallID: "cid", LocalTag: "lt", RemoteTag: "rt", Direction: "initiator", State: "terminated",
				Local:  &Identity{Display: "Park & Ride", URI: "sip:702@pbx"},
				Remote: &Identity{URI: "sip:bob@10.0.0.2"},
			},
			{ID: "d2", State: "confirmed", Remote: &Identity{}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %s\nwant %s", dumpDialogInfo(got), dumpDialogInfo(want))
	}
}

func TestParsePIDFErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", "", "pidf: no root element"},
		{"wrong root", goldenDialogInfo, `pidf: root element is <dialog-info> in namespace "urn:ietf:params:xml:ns:dialog-info", want <presence> in namespace "urn:ietf:params:xml:ns:pidf"`},
		{"wrong namespace", `<presence xmlns="urn:ietf:params:xml:ns:cpim-pidf"/>`, `pidf: root element is <presence> in namespace "urn:ietf:params:xml:ns:cpim-pidf"`},
		{"no namespace", `<presence entity="sip:a@h"/>`, "pidf: root element is <presence> in no namespace"},
		{"truncated", goldenPIDF[:len(goldenPIDF)-20], "pidf: malformed XML: XML syntax error"},
		{"too big", pidfOpen + "<!--" + strings.Repeat("x", maxBodySize) + "--></presence>", "pidf: body is 262227 bytes, more than the limit of 262144"},
		{"too many tuples", pidfOpen + strings.Repeat(`<tuple id="x"/>`, maxTuples+1) + "</presence>", "pidf: 10001 tuples, more than the limit of 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePIDF([]byte(tt.body))
			if err == nil {
				t.Fatalf("no error; parsed %+v", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParsePIDFLenient(t *testing.T) {
	tests := []struct {
		name, body string
		want       *PIDF
	}{
		{
			name: "vendor person without tuple reference marks every tuple",
			body: `<?xml version="1.0" encoding="UTF-8"?>
<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid"
    xmlns:d="urn:ietf:params:xml:ns:pidf:data-model" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="sip:703@pbx">
  <p:tuple id="t1">
    <p:status><p:basic> open </p:basic><r:activities><r:busy/></r:activities></p:status>
    <c:display-name>Slot 703</c:display-name>
    <p:contact priority="0.8"> sip:703@pbx </p:contact>
    <p:note xml:lang="en">Parked</p:note>
    <p:note xml:lang="de">Geparkt</p:note>
    <p:timestamp>2024-01-01T00:00:00Z</p:timestamp>
  </p:tuple>
  <p:tuple id="t2"/>
  <p:note>presence-level note, ignored</p:note>
  <d:person id="someone"><r:activities><r:meeting/><r:on-the-phone/></r:activities></d:person>
</p:presence>`,
			want: &PIDF{Entity: "sip:703@pbx", Tuples: []Tuple{
				{ID: "t1", Open: true, Note: "Parked", OnThePhone: true, Contact: "sip:703@pbx"},
				{ID: "t2", OnThePhone: true},
			}},
		},
		{
			name: "person naming a tuple marks only that one",
			body: pidfOpen + `<tuple id="a"/><tuple id="b"/><tuple id="c"/>
<person xmlns="urn:ietf:params:xml:ns:pidf:data-model" id="p-b"><activities xmlns="urn:ietf:params:xml:ns:pidf:rpid"><on-the-phone/></activities></person>
<person xmlns="urn:ietf:params:xml:ns:pidf:data-model" id="p-c"><activities xmlns="urn:ietf:params:xml:ns:pidf:rpid"><away/></activities></person>
<person xmlns="urn:other" id="p-a"><activities xmlns="urn:ietf:params:xml:ns:pidf:rpid"><on-the-phone/></activities></person>
</presence>`,
			want: &PIDF{Entity: "sip:701@h", Tuples: []Tuple{{ID: "a"}, {ID: "b", OnThePhone: true}, {ID: "c"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePIDF([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, *tt.want)
			}
		})
	}
}
