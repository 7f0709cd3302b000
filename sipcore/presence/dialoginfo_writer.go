package presence

// DialogInfoWriter assembles a dialog-info document from <dialog>
// elements rendered once each by AppendDialog: a lot-wide resource lists
// up to a thousand slots, and a change of one of them then costs that
// slot's element and a copy of the others, not a render of them all. Its
// buffer is reused from one document to the next; the zero value is ready.
type DialogInfoWriter struct {
	buf   []byte
	split int
}

// Start begins a full-state document for entity (a SIP URI), dropping
// whatever the writer held.
func (w *DialogInfoWriter) Start(entity string) {
	buf := append(w.buf[:0], xmlDecl...)
	buf = append(buf, `<dialog-info xmlns="`+nsDialogInfo+`" version="`...)
	w.split = len(buf)
	buf = append(buf, `" state="full" entity="`...)
	buf = appendEscaped(buf, entity)
	w.buf = append(buf, "\">\n"...)
}

// Append adds one element made by AppendDialog.
func (w *DialogInfoWriter) Append(dialog []byte) { w.buf = append(w.buf, dialog...) }

// Body ends the document: the same bytes DialogInfoBody gives for the same
// dialogs, in one allocation.
func (w *DialogInfoWriter) Body() Body {
	w.buf = append(w.buf, "</dialog-info>"...)
	s := string(w.buf)
	return Body{contentType: DialogInfoType, prefix: s[:w.split], suffix: s[w.split:], versioned: true}
}

// AppendDialog appends d as one <dialog> element, as DialogInfoBody
// writes it, for a DialogInfoWriter.
func AppendDialog(dst []byte, d *Dialog) []byte { return appendDialog(dst, d) }
