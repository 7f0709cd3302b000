package presence

import (
	"fmt"
	"strings"
)

// sanitize is what the builders do to text before escaping it, so tests can
// say what a round trip of arbitrary text gives back.
func sanitize(s string) string { return strings.Map(xmlRune, s) }

// exampleDialogs is the slot state from the package's golden example.
func exampleDialogs() []Dialog {
	return []Dialog{{
		ID:        "701-abc",
		CallID:    "c1@host",
		LocalTag:  "t1",
		RemoteTag: "t2",
		Direction: "recipient",
		State:     "early",
		Local:     &Identity{Display: "Park 701", URI: "sip:701@127.0.0.1"},
		Remote:    &Identity{Display: "Alice", URI: "sip:alice@10.0.0.1"},
	}}
}

const goldenDialogInfo = `<?xml version="1.0" encoding="UTF-8"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="7" state="full" entity="sip:701@127.0.0.1">
<dialog id="701-abc" call-id="c1@host" local-tag="t1" remote-tag="t2" direction="recipient">
<state>early</state>
<local><identity display="Park 701">sip:701@127.0.0.1</identity><target uri="sip:701@127.0.0.1"/></local>
<remote><identity display="Alice">sip:alice@10.0.0.1</identity><target uri="sip:alice@10.0.0.1"/></remote>
</dialog>
</dialog-info>`

func exampleTuples() []Tuple {
	return []Tuple{{ID: "slot-701", Open: false, Note: "Parked: Alice", OnThePhone: true, Contact: "sip:701@127.0.0.1"}}
}

const goldenPIDF = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:701@127.0.0.1">
<tuple id="slot-701"><status><basic>closed</basic></status><contact>sip:701@127.0.0.1</contact><note>Parked: Alice</note></tuple>
<dm:person id="p-slot-701"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>
</presence>`

func dumpDialogInfo(d *DialogInfo) string {
	if d == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{Entity:%q State:%q Version:%d Dialogs:[", d.Entity, d.State, d.Version)
	for _, x := range d.Dialogs {
		fmt.Fprintf(&b, "{ID:%q CallID:%q LocalTag:%q RemoteTag:%q Direction:%q State:%q Local:%s Remote:%s}",
			x.ID, x.CallID, x.LocalTag, x.RemoteTag, x.Direction, x.State, dumpIdentity(x.Local), dumpIdentity(x.Remote))
	}
	b.WriteString("]}")
	return b.String()
}

func dumpIdentity(id *Identity) string {
	if id == nil {
		return "nil"
	}
	return fmt.Sprintf("&{Display:%q URI:%q}", id.Display, id.URI)
}
