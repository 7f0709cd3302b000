package presence

import (
	"reflect"
	"strings"
	"testing"
)

func dialogInfoSeeds() []string {
	return []string{
		goldenDialogInfo,
		string(DialogInfoBody("sip:701@127.0.0.1", nil).Bytes(0)),
		string(DialogInfoBody(`sip:"x"@h`, []Dialog{
			{ID: "1", State: "confirmed", Local: &Identity{URI: "sip:a@h"}, Remote: &Identity{Display: "a\tb\n\"<&>\" Jürgen", URI: "sip:b@h"}},
			{ID: "2", State: "terminated", Direction: "initiator"},
		}).Bytes(4294967295)),
		diOpen + `<dialog id="d"><state> early </state><remote><target uri="sip:t@h"/></remote></dialog></dialog-info>`,
		`<d:dialog-info xmlns:d="urn:ietf:params:xml:ns:dialog-info" version="1" state="partial"><d:dialog id="&#xD;&#x7F;&#x85;"/></d:dialog-info>`,
		`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="x" state="full"/>`,
		`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="half"/>`,
		`<dialog-info xmlns="urn:example" version="1" state="full"/>`,
		goldenDialogInfo[:100],
		goldenPIDF,
		"",
	}
}

func pidfSeeds() []string {
	return []string{
		goldenPIDF,
		string(PIDFBody("sip:701@127.0.0.1", nil).Bytes(0)),
		string(PIDFBody(`sip:"x"@h`, []Tuple{
			{ID: "a", Open: true, Note: "a\tb\n\"<&>\" 😀"},
			{ID: "b", OnThePhone: true, Contact: "sip:b@h"},
		}).Bytes(0)),
		pidfOpen + `<tuple id="t"><status><basic> open </basic></status><note>x</note><note>y</note></tuple>` +
			`<person xmlns="urn:ietf:params:xml:ns:pidf:data-model"><activities xmlns="urn:ietf:params:xml:ns:pidf:rpid"><on-the-phone/></activities></person></presence>`,
		pidfOpen + `<tuple id="&#x7F;"/><tuple id="&#x80;"/><person xmlns="urn:ietf:params:xml:ns:pidf:data-model" id="p-&#x7F;"><activities xmlns="urn:ietf:params:xml:ns:pidf:rpid"><on-the-phone/></activities></person></presence>`,
		`<presence xmlns="urn:example"/>`,
		goldenPIDF[:80],
		goldenDialogInfo,
		"",
	}
}

// FuzzParseDialogInfo checks that the parser never panics on outside input
// and that whatever it accepts, the builder can send on unchanged, up to
// what the builder cannot represent.
func FuzzParseDialogInfo(f *testing.F) {
	for _, s := range dialogInfoSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		first, err := ParseDialogInfo(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dialog-info: ") {
				t.Errorf("error without prefix: %v", err)
			}
			return
		}
		want := normalizeDialogInfo(first)
		raw := DialogInfoBody(first.Entity, first.Dialogs).Bytes(first.Version)
		if len(raw) > maxBodySize {
			// Escaping and the elements the builder always writes can
			// grow a body past the parser's limit; nothing to compare.
			return
		}
		again, err := ParseDialogInfo(raw)
		if err != nil {
			t.Fatalf("rebuilt body does not parse: %v\n%s", err, raw)
		}
		if !reflect.DeepEqual(again, want) {
			t.Errorf("round trip changed the data:\n got %s\nwant %s\nbody:\n%s", dumpDialogInfo(again), dumpDialogInfo(want), raw)
		}
	})
}

// normalizeDialogInfo is what a parsed document becomes when rebuilt: text
// sanitized and the state full, because the builder only writes full state.
func normalizeDialogInfo(d *DialogInfo) *DialogInfo {
	n := &DialogInfo{Entity: sanitize(d.Entity), State: "full", Version: d.Version}
	for _, x := range d.Dialogs {
		n.Dialogs = append(n.Dialogs, Dialog{
			ID: sanitize(x.ID), CallID: sanitize(x.CallID), LocalTag: sanitize(x.LocalTag),
			RemoteTag: sanitize(x.RemoteTag), Direction: sanitize(x.Direction), State: sanitize(x.State),
			Local: normalizeIdentity(x.Local), Remote: normalizeIdentity(x.Remote),
		})
	}
	return n
}

func normalizeIdentity(id *Identity) *Identity {
	if id == nil {
		return nil
	}
	return &Identity{Display: sanitize(id.Display), URI: sanitize(id.URI)}
}

// FuzzParsePIDF is FuzzParseDialogInfo for PIDF.
func FuzzParsePIDF(f *testing.F) {
	for _, s := range pidfSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		first, err := ParsePIDF(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "pidf: ") {
				t.Errorf("error without prefix: %v", err)
			}
			return
		}
		want := normalizePIDF(first)
		raw := PIDFBody(first.Entity, first.Tuples).Bytes(0)
		if len(raw) > maxBodySize {
			// Escaping and the elements the builder always writes can
			// grow a body past the parser's limit; nothing to compare.
			return
		}
		again, err := ParsePIDF(raw)
		if err != nil {
			t.Fatalf("rebuilt body does not parse: %v\n%s", err, raw)
		}
		if !reflect.DeepEqual(again, want) {
			t.Errorf("round trip changed the data:\n got %+v\nwant %+v\nbody:\n%s", *again, *want, raw)
		}
	})
}

// normalizePIDF is what a parsed document becomes when rebuilt: text
// sanitized, and since the builder ties a person to its tuple by id, every
// tuple whose id is that of a tuple on the phone is on the phone too.
func normalizePIDF(p *PIDF) *PIDF {
	n := &PIDF{Entity: sanitize(p.Entity)}
	onPhone := map[string]bool{}
	for _, t := range p.Tuples {
		t.ID, t.Note, t.Contact = sanitize(t.ID), sanitize(t.Note), sanitize(t.Contact)
		n.Tuples = append(n.Tuples, t)
		if t.OnThePhone {
			onPhone[t.ID] = true
		}
	}
	for i := range n.Tuples {
		n.Tuples[i].OnThePhone = onPhone[n.Tuples[i].ID]
	}
	return n
}
