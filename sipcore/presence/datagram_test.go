package presence

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
)

func busyLot(n int) []Dialog {
	var ds []Dialog
	for i := range n {
		ds = append(ds, Dialog{
			ID: fmt.Sprintf("%d-tag%d", 10000+i, i), CallID: fmt.Sprintf("call-%d@pbx.example.com", i),
			LocalTag: fmt.Sprintf("tag%d", i), RemoteTag: fmt.Sprintf("rtag%d", i), Direction: "recipient", State: "confirmed",
			Local:  &Identity{Display: fmt.Sprintf("Park %d", 10000+i), URI: fmt.Sprintf("sip:%d@10.0.0.1", 10000+i)},
			Remote: &Identity{Display: fmt.Sprintf("Caller number %d", i), URI: fmt.Sprintf("sip:+4412345%05d@carrier.example.net", i)},
		})
	}
	return ds
}

// A busy lot's document does not fit one UDP datagram: its datagram
// variant is a well-formed full-state document of the first dialogs that
// fit, and says how many it leaves out. A document that fits is its own.
func TestDialogInfoDatagramVariant(t *testing.T) {
	cases := []struct {
		name    string
		dialogs int
		whole   bool
	}{
		{"one slot", 1, true},
		{"a quiet lot", 20, true},
		{"a busy lot", 400, false},
		{"a full lot", 1000, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := busyLot(tc.dialogs)
			var w DialogInfoWriter
			w.Start("sip:700@10.0.0.1")
			for i := range ds {
				w.Append(AppendDialog(nil, &ds[i]))
			}
			for from, body := range map[string]Body{"DialogInfoBody": DialogInfoBody("sip:700@10.0.0.1", ds), "DialogInfoWriter": w.Body()} {
				small, omitted := body.ForDatagram()
				doc := string(small.Bytes(4294967295)) // the longest version number
				if tc.whole {
					if omitted != 0 || doc != string(body.Bytes(4294967295)) {
						t.Fatalf("%s: the document fits a datagram but its variant differs (%d omitted)", from, omitted)
					}
					return
				}
				if len(doc) > MaxDatagramBody {
					t.Fatalf("%s: the datagram variant is %d bytes, over %d", from, len(doc), MaxDatagramBody)
				}
				var parsed struct {
					State   string `xml:"state,attr"`
					Dialogs []struct {
						ID string `xml:"id,attr"`
					} `xml:"dialog"`
				}
				if err := xml.Unmarshal([]byte(doc), &parsed); err != nil {
					t.Fatalf("%s: the datagram variant is not well-formed: %v\n%s", from, err, doc[len(doc)-200:])
				}
				kept := len(parsed.Dialogs)
				if kept == 0 || kept+omitted != tc.dialogs || parsed.State != "full" {
					t.Errorf("%s: kept %d + omitted %d of %d dialogs (state %q)", from, kept, omitted, tc.dialogs, parsed.State)
				}
				if kept > 0 && parsed.Dialogs[kept-1].ID != ds[kept-1].ID {
					t.Errorf("%s: the variant's last dialog is %s, want the first ones in order (%s)", from, parsed.Dialogs[kept-1].ID, ds[kept-1].ID)
				}
				if next := string(AppendDialog(nil, &ds[kept])); len(doc)+len(next) <= MaxDatagramBody && !strings.Contains(doc, next) {
					t.Errorf("%s: dialog %d would still have fit", from, kept)
				}
			}
		})
	}
}
