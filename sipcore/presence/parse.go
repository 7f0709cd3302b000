package presence

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on outside input. Real BLF bodies are a few KiB; the limits only
// keep a hostile or broken peer from making a parse cost much memory.
const (
	maxBodySize = 256 << 10
	maxDialogs  = 10000
	maxTuples   = 10000
)

// DialogInfo is a parsed dialog-info document, for reading bodies that
// come from other devices and for checking the ones this package builds.
type DialogInfo struct {
	Entity  string
	State   string // "full" | "partial"
	Version uint32
	Dialogs []Dialog
}

// PIDF is a parsed PIDF document, for reading bodies that come from other
// devices and for checking the ones this package builds.
type PIDF struct {
	Entity string
	// Tuples have Open from <basic>, and the first <contact> and <note>.
	// OnThePhone is set on the tuple whose id a person's id "p-<id>" names
	// (the form PIDFBody writes) and, when a person with the on-the-phone
	// activity names no tuple, as other vendors' persons do, on every tuple.
	Tuples []Tuple
}

// The shapes encoding/xml decodes into. Attributes go through attrs and
// attr so that only unprefixed ones count: a vendor's x:version or
// xmlns:state must not be taken for version or state.

type xmlDialogInfo struct {
	Attrs   []xml.Attr  `xml:",any,attr"`
	Dialogs []xmlDialog `xml:"urn:ietf:params:xml:ns:dialog-info dialog"`
}

type xmlDialog struct {
	Attrs  []xml.Attr      `xml:",any,attr"`
	State  string          `xml:"urn:ietf:params:xml:ns:dialog-info state"`
	Local  *xmlParticipant `xml:"urn:ietf:params:xml:ns:dialog-info local"`
	Remote *xmlParticipant `xml:"urn:ietf:params:xml:ns:dialog-info remote"`
}

type xmlParticipant struct {
	Identity *xmlText  `xml:"urn:ietf:params:xml:ns:dialog-info identity"`
	Target   *xmlAttrs `xml:"urn:ietf:params:xml:ns:dialog-info target"`
}

type xmlPresence struct {
	Attrs   []xml.Attr  `xml:",any,attr"`
	Tuples  []xmlTuple  `xml:"urn:ietf:params:xml:ns:pidf tuple"`
	Persons []xmlPerson `xml:"urn:ietf:params:xml:ns:pidf:data-model person"`
}

type xmlTuple struct {
	Attrs   []xml.Attr `xml:",any,attr"`
	Status  *xmlStatus `xml:"urn:ietf:params:xml:ns:pidf status"`
	Contact []string   `xml:"urn:ietf:params:xml:ns:pidf contact"`
	Note    []string   `xml:"urn:ietf:params:xml:ns:pidf note"`
}

type xmlStatus struct {
	Basic string `xml:"urn:ietf:params:xml:ns:pidf basic"`
}

type xmlPerson struct {
	Attrs      []xml.Attr      `xml:",any,attr"`
	Activities []xmlActivities `xml:"urn:ietf:params:xml:ns:pidf:rpid activities"`
}

type xmlActivities struct {
	OnThePhone *struct{} `xml:"urn:ietf:params:xml:ns:pidf:rpid on-the-phone"`
}

type xmlText struct {
	Attrs []xml.Attr `xml:",any,attr"`
	Text  string     `xml:",chardata"`
}

type xmlAttrs struct {
	Attrs []xml.Attr `xml:",any,attr"`
}

// attr returns the value of the first unprefixed attribute called name.
func attr(attrs []xml.Attr, name string) (string, bool) {
	for _, a := range attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// ParseDialogInfo parses an RFC 4235 dialog-info document. It refuses what
// would make the document meaningless or costly (a body over 256 KiB,
// another root element or namespace, a missing or non-uint32 version, a
// state other than full or partial, more than 10,000 dialogs) and ignores
// elements and attributes it does not know. The dialog state and URIs are
// trimmed of surrounding white space, which pretty-printing phones add.
func ParseDialogInfo(b []byte) (*DialogInfo, error) {
	const kind = "dialog-info"
	var x xmlDialogInfo
	if err := decodeRoot(b, kind, nsDialogInfo, "dialog-info", &x); err != nil {
		return nil, err
	}
	version, ok := attr(x.Attrs, "version")
	if !ok {
		return nil, errors.New("dialog-info: missing version attribute")
	}
	v, err := strconv.ParseUint(strings.TrimSpace(version), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("dialog-info: version %q is not an unsigned 32-bit integer", version)
	}
	state, ok := attr(x.Attrs, "state")
	if !ok {
		return nil, errors.New("dialog-info: missing state attribute")
	}
	if state != "full" && state != "partial" {
		return nil, fmt.Errorf("dialog-info: state %q is neither \"full\" nor \"partial\"", state)
	}
	if len(x.Dialogs) > maxDialogs {
		return nil, fmt.Errorf("dialog-info: %d dialogs, more than the limit of %d", len(x.Dialogs), maxDialogs)
	}
	info := &DialogInfo{State: state, Version: uint32(v)}
	info.Entity, _ = attr(x.Attrs, "entity")
	if len(x.Dialogs) > 0 {
		info.Dialogs = make([]Dialog, len(x.Dialogs))
	}
	for i := range x.Dialogs {
		xd := &x.Dialogs[i]
		d := &info.Dialogs[i]
		d.ID, _ = attr(xd.Attrs, "id")
		d.CallID, _ = attr(xd.Attrs, "call-id")
		d.LocalTag, _ = attr(xd.Attrs, "local-tag")
		d.RemoteTag, _ = attr(xd.Attrs, "remote-tag")
		d.Direction, _ = attr(xd.Attrs, "direction")
		d.State = strings.TrimSpace(xd.State)
		d.Local = xd.Local.identity()
		d.Remote = xd.Remote.identity()
	}
	return info, nil
}

// identity takes the URI from <identity> and falls back to <target uri>,
// since RFC 4235 makes both optional and phones send either.
func (p *xmlParticipant) identity() *Identity {
	if p == nil {
		return nil
	}
	id := new(Identity)
	if p.Identity != nil {
		id.Display, _ = attr(p.Identity.Attrs, "display")
		id.URI = strings.TrimSpace(p.Identity.Text)
	}
	if id.URI == "" && p.Target != nil {
		uri, _ := attr(p.Target.Attrs, "uri")
		id.URI = strings.TrimSpace(uri)
	}
	return id
}

// ParsePIDF parses an RFC 3863 PIDF document, with the RFC 4480
// on-the-phone activity. It refuses a body over 256 KiB, another root
// element or namespace and more than 10,000 tuples, and ignores elements
// and attributes it does not know. <basic> and <contact> are trimmed of
// surrounding white space; notes are kept as they are.
func ParsePIDF(b []byte) (*PIDF, error) {
	const kind = "pidf"
	var x xmlPresence
	if err := decodeRoot(b, kind, nsPIDF, "presence", &x); err != nil {
		return nil, err
	}
	if len(x.Tuples) > maxTuples {
		return nil, fmt.Errorf("pidf: %d tuples, more than the limit of %d", len(x.Tuples), maxTuples)
	}
	p := &PIDF{}
	p.Entity, _ = attr(x.Attrs, "entity")
	if len(x.Tuples) > 0 {
		p.Tuples = make([]Tuple, len(x.Tuples))
	}
	for i := range x.Tuples {
		xt := &x.Tuples[i]
		t := &p.Tuples[i]
		t.ID, _ = attr(xt.Attrs, "id")
		t.Open = xt.Status != nil && strings.TrimSpace(xt.Status.Basic) == "open"
		if len(xt.Contact) > 0 {
			t.Contact = strings.TrimSpace(xt.Contact[0])
		}
		if len(xt.Note) > 0 {
			t.Note = xt.Note[0]
		}
	}
	for i := range x.Persons {
		xp := &x.Persons[i]
		if !xp.onThePhone() {
			continue
		}
		id, _ := attr(xp.Attrs, "id")
		matched := false
		for j := range p.Tuples {
			if "p-"+p.Tuples[j].ID == id {
				p.Tuples[j].OnThePhone = true
				matched = true
			}
		}
		if !matched {
			for j := range p.Tuples {
				p.Tuples[j].OnThePhone = true
			}
		}
	}
	return p, nil
}

func (p *xmlPerson) onThePhone() bool {
	for _, a := range p.Activities {
		if a.OnThePhone != nil {
			return true
		}
	}
	return false
}

// decodeRoot checks the size and the root element before decoding the
// document into v, so that a body of the wrong kind is reported as such
// instead of as whatever fails first inside it. kind prefixes the errors.
func decodeRoot(b []byte, kind, space, local string, v any) error {
	if len(b) > maxBodySize {
		return fmt.Errorf("%s: body is %d bytes, more than the limit of %d", kind, len(b), maxBodySize)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return fmt.Errorf("%s: no root element", kind)
		}
		if err != nil {
			return fmt.Errorf("%s: malformed XML: %w", kind, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%s: text before the root element", kind)
			}
		case xml.StartElement:
			if t.Name.Space != space || t.Name.Local != local {
				return fmt.Errorf("%s: root element is <%s> in %s, want <%s> in namespace %q",
					kind, t.Name.Local, describeNS(t.Name.Space), local, space)
			}
			if err := d.DecodeElement(v, &t); err != nil {
				return fmt.Errorf("%s: malformed XML: %w", kind, err)
			}
			return nil
		}
	}
}

func describeNS(space string) string {
	if space == "" {
		return "no namespace"
	}
	return fmt.Sprintf("namespace %q", space)
}
