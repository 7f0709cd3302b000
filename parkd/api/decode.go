package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/parkd/parkd/parkd"
)

// maxBody bounds every request body: the largest real one (a policy patch
// with a ring group) is a few KiB.
const maxBody = 64 << 10

// readBody reads r's body, refusing more than maxBody with too_large.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &parkd.Error{Code: codeTooLarge, Message: fmt.Sprintf("the request body is over %d KiB", maxBody>>10)}
		}
		return nil, invalid("body", "the request body could not be read")
	}
	return b, nil
}

func invalid(field, format string, args ...any) *parkd.Error {
	return &parkd.Error{Code: parkd.CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Bodies of the actions that take more than the path says.
type (
	moveBody struct {
		To string `json:"to"`
	}
	transferBody struct {
		To string `json:"to,omitempty"`
	}
)

func decodePark(b []byte) (parkd.ParkRequest, error) {
	var v parkd.ParkRequest
	return v, decodeObject(b, &v, nil)
}

func decodeRetrieve(b []byte) (parkd.RetrieveRequest, error) {
	var v parkd.RetrieveRequest
	return v, decodeObject(b, &v, nil)
}

func decodeMove(b []byte) (string, error) {
	var v moveBody
	if err := decodeObject(b, &v, nil); err != nil {
		return "", err
	}
	if v.To == "" {
		return "", invalid("to", "is required: the free slot to move the call to")
	}
	return v.To, nil
}

func decodeTransfer(b []byte) (string, error) {
	var v transferBody
	return v.To, decodeObject(b, &v, nil)
}

// member is one name/value pair of a JSON object, in the order sent.
type member struct {
	key string
	raw json.RawMessage
}

// members splits a JSON object into its members. An empty body (or null)
// is the empty object, so actions without options need no body; a name
// given twice is refused because which one wins is not obvious.
func members(b []byte) ([]member, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	if tok == nil {
		return nil, atEnd(dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("body", "must be a JSON object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key := tok.(string) // inside an object the decoder only yields names here
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err)
		}
		if slices.ContainsFunc(out, func(m member) bool { return m.key == key }) {
			return nil, invalid(key, "is given twice")
		}
		out = append(out, member{key, raw})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, malformed(err)
	}
	if err := atEnd(dec); err != nil {
		return nil, err
	}
	return out, nil
}

// atEnd refuses anything after the one value a body may hold.
func atEnd(dec *json.Decoder) error {
	switch _, err := dec.Token(); err {
	case io.EOF:
		return nil
	case nil:
		return invalid("body", "must hold one JSON object and nothing after it")
	default:
		return malformed(err)
	}
}

func malformed(err error) *parkd.Error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return invalid("body", "malformed JSON: unexpected end of input")
	}
	return invalid("body", "malformed JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
}

// decodeObject fills the struct *dst from a JSON object, member by member,
// so every error names the member at fault: an unknown name, a value of
// the wrong type, a bad duration. A null member is left at its zero
// value, or handed to onNull when the caller gives it a meaning.
func decodeObject(b []byte, dst any, onNull func(key string)) error {
	ms, err := members(b)
	if err != nil {
		return err
	}
	fields := jsonFields(dst)
	for _, m := range ms {
		f, ok := fields[m.key]
		if !ok {
			return invalid(m.key, "is not a known field (known: %s)", strings.Join(sortedKeys(fields), ", "))
		}
		if string(bytes.TrimSpace(m.raw)) == "null" {
			if onNull != nil {
				onNull(m.key)
			}
			continue
		}
		if err := decodeValue(m.raw, f.Addr().Interface()); err != nil {
			return invalid(m.key, "%s", valueError(err, f.Type()))
		}
	}
	return nil
}

// decodeValue decodes one member strictly: a nested object may not carry
// unknown names either.
func decodeValue(raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

// jsonFields maps each JSON name of the struct *dst to its field.
func jsonFields(dst any) map[string]reflect.Value {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	out := make(map[string]reflect.Value, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = v.Field(i)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// valueError says what a member should have been, in the words of the
// config file rather than Go's type names.
func valueError(err error, t reflect.Type) string {
	if _, ok := errors.AsType[*json.UnmarshalTypeError](err); !ok {
		if _, ok := errors.AsType[*json.SyntaxError](err); !ok {
			return strings.TrimPrefix(err.Error(), "json: ")
		}
	}
	return "must be " + describe(t)
}

var durationType = reflect.TypeFor[parkd.Duration]()

func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return `a duration like "45s"`
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(describe(t.Elem()), "a "), "an ") + "s"
	}
	return "a " + t.Kind().String()
}

// decodeEmpty accepts an empty body or {}: hangup takes no options yet,
// and refusing unknown ones keeps adding some later safe.
func decodeEmpty(b []byte) (struct{}, error) {
	var v struct{}
	return v, decodeObject(b, &v, nil)
}
