package presence

import (
	"reflect"
	"strings"
	"testing"
)

func TestPIDFGolden(t *testing.T) {
	got := string(PIDFBody("sip:701@127.0.0.1", exampleTuples()).Bytes(0))
	if got != goldenPIDF {
		t.Errorf("got\n%s\nwant\n%s", got, goldenPIDF)
	}
}

func TestPIDFRoundTrip(t *testing.T) {
	const entity = "sip:701@127.0.0.1"
	tests := []struct {
		name   string
		entity string
		tuples []Tuple
		want   []Tuple // nil: same as tuples
	}{
		{name: "no tuples", entity: entity},
		{name: "open", entity: entity, tuples: []Tuple{{ID: "slot-701", Open: true}}},
		{name: "closed", entity: entity, tuples: []Tuple{{ID: "slot-701", Contact: "sip:701@127.0.0.1"}}},
		{name: "on the phone", entity: entity, tuples: exampleTuples()},
		{
			name: "several, one on the phone", entity: entity,
			tuples: []Tuple{
				{ID: "a", Open: true, Note: "Idle"},
				{ID: "b", Note: "Parked: Bob", OnThePhone: true, Contact: "sip:702@h"},
				{ID: "c"},
			},
		},
		{
			name: "nasty notes", entity: `sip:"<&>"@h`,
			tuples: []Tuple{{ID: `x"y`, Note: `Parked: "Eve" <eve@h> & ]]> Jürgen 😀` + "\t\n", OnThePhone: true, Contact: "sip:a@h;x=\"<>\""}},
		},
		{
			name: "control characters", entity: "sip:\x01@h",
			tuples: []Tuple{{ID: "t", Note: "a\x00b\rc\x7f", Contact: "sip:\x1f@h"}},
			want:   []Tuple{{ID: "t", Note: "a\ufffdb\ufffdc\ufffd", Contact: "sip:\ufffd@h"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := PIDFBody(tt.entity, tt.tuples).Bytes(0)
			checkXMLText(t, raw)
			got, err := ParsePIDF(raw)
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, raw)
			}
			want := &PIDF{Entity: sanitize(tt.entity), Tuples: tt.tuples}
			if tt.want != nil {
				want.Tuples = tt.want
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v\nbody:\n%s", *got, *want, raw)
			}
		})
	}
}

func TestPIDFPersonsFollowTuples(t *testing.T) {
	raw := string(PIDFBody("sip:x@h", []Tuple{{ID: "a", OnThePhone: true}, {ID: "b"}}).Bytes(0))
	if strings.LastIndex(raw, "<tuple") > strings.Index(raw, "<dm:person") {
		t.Errorf("a tuple follows a person:\n%s", raw)
	}
}
