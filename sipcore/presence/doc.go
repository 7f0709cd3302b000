// Package presence builds and parses the NOTIFY bodies that light the BLF
// (busy lamp field) keys phones have for parking slots: RFC 4235
// dialog-info and RFC 3863 PIDF, the latter with the RFC 4480
// on-the-phone activity.
//
// A slot changes state rarely but may be watched by thousands of phones, so
// a body is rendered once per slot state into a Body and then stamped per
// subscriber. The only part that differs between subscribers is the
// dialog-info version attribute, which RFC 4235 §4.1 makes a
// per-subscription counter; a Body therefore keeps the document as a prefix
// and a suffix around that number, and stamping it costs two copies and a
// decimal conversion, with no allocation when the destination has room.
//
// The parsers read bodies written by other vendors' devices. They are
// strict about what says which document this is and how large it may get
// (size, root element and namespace, version, state, element counts) and
// lenient about the rest: unknown elements and attributes are ignored.
package presence
