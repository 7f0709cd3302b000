package presence

const nsDialogInfo = "urn:ietf:params:xml:ns:dialog-info"

// Identity is one party of a dialog as a phone shows it on a BLF key.
type Identity struct{ Display, URI string }

// Dialog is one <dialog> element of RFC 4235. Empty optional fields are
// left out of the document rather than sent as empty attributes: RFC 4235
// makes them optional, and an empty call-id or tag is not a valid one that
// a phone could use for call pickup.
type Dialog struct {
	ID        string    // required id attribute
	CallID    string    // call-id attribute ("" omitted)
	LocalTag  string    // local-tag attribute ("" omitted)
	RemoteTag string    // remote-tag attribute ("" omitted)
	Direction string    // "initiator" | "recipient" | "" (omitted)
	State     string    // trying | proceeding | early | confirmed | terminated
	Local     *Identity // <local> with identity and target; nil omitted
	Remote    *Identity // <remote>, same shape; nil omitted
}

// DialogInfoBody renders a full-state dialog-info document for entity (a
// SIP URI) with one <dialog> per element of dialogs, in order. With no
// dialogs the document is empty, which phones show as idle. Every
// subscriber gets a full-state document, so a phone that missed a NOTIFY
// never needs partial-state bookkeeping to recover.
func DialogInfoBody(entity string, dialogs []Dialog) Body {
	buf := make([]byte, 0, 256+320*len(dialogs))
	buf = append(buf, xmlDecl...)
	buf = append(buf, `<dialog-info xmlns="`+nsDialogInfo+`" version="`...)
	split := len(buf)
	buf = append(buf, `" state="full" entity="`...)
	buf = appendEscaped(buf, entity)
	buf = append(buf, "\">\n"...)
	header := len(buf)
	var ends []int // only a document of many dialogs can outgrow a datagram
	for i := range dialogs {
		buf = appendDialog(buf, &dialogs[i])
		if len(dialogs) > 1 {
			ends = append(ends, len(buf))
		}
	}
	return finishDialogInfo(buf, split, header, ends)
}

const dialogInfoEnd = "</dialog-info>"

// finishDialogInfo closes a document whose version goes at split, whose
// dialogs start at header and whose i-th dialog ends at ends[i], and adds
// the datagram variant when the document is too long for one.
func finishDialogInfo(buf []byte, split, header int, ends []int) Body {
	buf = append(buf, dialogInfoEnd...)
	// One string for both halves: they share memory and cost one allocation.
	s := string(buf)
	b := Body{contentType: DialogInfoType, prefix: s[:split], suffix: s[split:], versioned: true}
	const versionDigits = 10
	if len(s)+versionDigits <= MaxDatagramBody || len(ends) == 0 {
		return b
	}
	kept, end := 0, header
	for _, e := range ends {
		if e+len(dialogInfoEnd)+versionDigits > MaxDatagramBody {
			break
		}
		kept, end = kept+1, e
	}
	short := s[:end] + dialogInfoEnd
	b.datagram = &Body{contentType: DialogInfoType, prefix: short[:split], suffix: short[split:], versioned: true}
	b.omitted = len(ends) - kept
	return b
}

func appendDialog(buf []byte, d *Dialog) []byte {
	buf = append(buf, `<dialog id="`...)
	buf = appendEscaped(buf, d.ID)
	buf = append(buf, '"')
	buf = appendOptAttr(buf, "call-id", d.CallID)
	buf = appendOptAttr(buf, "local-tag", d.LocalTag)
	buf = appendOptAttr(buf, "remote-tag", d.RemoteTag)
	buf = appendOptAttr(buf, "direction", d.Direction)
	buf = append(buf, ">\n<state>"...)
	buf = appendEscaped(buf, d.State)
	buf = append(buf, "</state>\n"...)
	buf = appendParticipant(buf, "local", d.Local)
	buf = appendParticipant(buf, "remote", d.Remote)
	return append(buf, "</dialog>\n"...)
}

// appendParticipant writes the URI both as <identity> and as <target>:
// readers of RFC 4235 bodies differ in which one they use, and for a
// parked call both are the same address.
func appendParticipant(buf []byte, elem string, id *Identity) []byte {
	if id == nil {
		return buf
	}
	buf = append(buf, '<')
	buf = append(buf, elem...)
	buf = append(buf, "><identity"...)
	buf = appendOptAttr(buf, "display", id.Display)
	buf = append(buf, '>')
	buf = appendEscaped(buf, id.URI)
	buf = append(buf, `</identity><target uri="`...)
	buf = appendEscaped(buf, id.URI)
	buf = append(buf, `"/></`...)
	buf = append(buf, elem...)
	return append(buf, ">\n"...)
}

// appendOptAttr writes ` name="value"`, or nothing when value is empty.
func appendOptAttr(buf []byte, name, value string) []byte {
	if value == "" {
		return buf
	}
	buf = append(buf, ' ')
	buf = append(buf, name...)
	buf = append(buf, `="`...)
	buf = appendEscaped(buf, value)
	return append(buf, '"')
}
