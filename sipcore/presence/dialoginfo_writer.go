package presence

// DialogInfoWriter assembles a dialog-info document from <dialog>
// elements rendered once each by AppendDialog: a lot-wide resource lists
// up to a thousand slots, and a change of one of them then costs that
// slot's element and a copy of the others, not a render of them all. Its
// buffer is reused from one document to the next; the zero value is ready.
type DialogInfoWriter struct {
	buf    []byte
	split  int
	header int   // where the first dialog starts
	ends   []int // where each dialog ends, for the datagram variant
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
	w.header, w.ends = len(w.buf), w.ends[:0]
}

// Append adds one element made by AppendDialog.
func (w *DialogInfoWriter) Append(dialog []byte) {
	w.buf = append(w.buf, dialog...)
	w.ends = append(w.ends, len(w.buf))
}

// Body ends the document: the same bytes DialogInfoBody gives for the same
// dialogs, in one allocation.
func (w *DialogInfoWriter) Body() Body {
	return finishDialogInfo(w.buf, w.split, w.header, w.ends)
}

// AppendDialog appends d as one <dialog> element, as DialogInfoBody
// writes it, for a DialogInfoWriter.
func AppendDialog(dst []byte, d *Dialog) []byte { return appendDialog(dst, d) }
