package presence

const (
	nsPIDF      = "urn:ietf:params:xml:ns:pidf"
	nsDataModel = "urn:ietf:params:xml:ns:pidf:data-model"
	nsRPID      = "urn:ietf:params:xml:ns:pidf:rpid"
)

// Tuple is one PIDF tuple, for phones that subscribe to presence rather
// than dialog state for their BLF keys.
type Tuple struct {
	ID   string
	Open bool   // <basic>open</basic>, else closed
	Note string // <note>, omitted if ""
	// OnThePhone adds a <dm:person id="p-ID"> with the RFC 4480
	// on-the-phone activity, which phones that ignore <basic> use to light
	// the key as busy.
	OnThePhone bool
	Contact    string // <contact>, omitted if ""
}

// PIDFBody renders a PIDF document for entity (a SIP URI) with one <tuple>
// per element of tuples, in order. The <dm:person> elements come after all
// tuples because the PIDF schema only allows foreign-namespace elements
// after the last tuple.
func PIDFBody(entity string, tuples []Tuple) Body {
	buf := make([]byte, 0, 320+256*len(tuples))
	buf = append(buf, xmlDecl...)
	buf = append(buf, `<presence xmlns="`+nsPIDF+`" xmlns:dm="`+nsDataModel+`" xmlns:rpid="`+nsRPID+`" entity="`...)
	buf = appendEscaped(buf, entity)
	buf = append(buf, "\">\n"...)
	for i := range tuples {
		t := &tuples[i]
		buf = append(buf, `<tuple id="`...)
		buf = appendEscaped(buf, t.ID)
		buf = append(buf, `"><status><basic>`...)
		if t.Open {
			buf = append(buf, "open"...)
		} else {
			buf = append(buf, "closed"...)
		}
		buf = append(buf, "</basic></status>"...)
		buf = appendOptElem(buf, "contact", t.Contact)
		buf = appendOptElem(buf, "note", t.Note)
		buf = append(buf, "</tuple>\n"...)
	}
	for i := range tuples {
		if !tuples[i].OnThePhone {
			continue
		}
		// "p-" keeps the person id distinct from the tuple id and makes it
		// a valid xs:ID even when the tuple id starts with a digit.
		buf = append(buf, `<dm:person id="p-`...)
		buf = appendEscaped(buf, tuples[i].ID)
		buf = append(buf, `"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>`+"\n"...)
	}
	buf = append(buf, "</presence>"...)
	return Body{contentType: PIDFType, prefix: string(buf)}
}

// appendOptElem writes <name>text</name>, or nothing when text is empty.
func appendOptElem(buf []byte, name, text string) []byte {
	if text == "" {
		return buf
	}
	buf = append(buf, '<')
	buf = append(buf, name...)
	buf = append(buf, '>')
	buf = appendEscaped(buf, text)
	buf = append(buf, "</"...)
	buf = append(buf, name...)
	return append(buf, '>')
}
