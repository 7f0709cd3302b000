package sipcore

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/parkd/parkd/sipcore/media"
)

func sdpText(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

var sdpHead = []string{"v=0", "o=- 1 1 IN IP4 10.1.2.3", "s=-", "c=IN IP4 10.1.2.3", "t=0 0"}

func offerOf(lines ...string) []byte {
	return sdpText(append(append([]string{}, sdpHead...), lines...)...)
}

func TestParseOffer(t *testing.T) {
	cases := []struct {
		name   string
		body   []byte
		format media.Format
		remote string
		dir    Direction
		hold   bool
		err    error
	}{
		{"pcmu first", offerOf("m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000"),
			media.Format{Codec: media.PCMU, AudioPT: 0, EventPT: 101}, "10.1.2.3:4000", SendRecv, false, nil},
		{"caller prefers alaw", offerOf("m=audio 4000 RTP/AVP 8 0"),
			media.Format{Codec: media.PCMA, AudioPT: 8}, "10.1.2.3:4000", SendRecv, false, nil},
		{"skips unknown codecs", offerOf("m=audio 4000 RTP/AVP 9 18 8", "a=rtpmap:9 G722/8000", "a=rtpmap:18 G729/8000"),
			media.Format{Codec: media.PCMA, AudioPT: 8}, "10.1.2.3:4000", SendRecv, false, nil},
		{"dynamic pcmu", offerOf("m=audio 4000 RTP/AVP 96 97", "a=rtpmap:96 PCMU/8000", "a=rtpmap:97 telephone-event/8000"),
			media.Format{Codec: media.PCMU, AudioPT: 96, EventPT: 97}, "10.1.2.3:4000", SendRecv, false, nil},
		{"media-level c= wins", offerOf("m=audio 5000 RTP/AVP 0", "c=IN IP4 192.0.2.9"),
			media.Format{Codec: media.PCMU}, "192.0.2.9:5000", SendRecv, false, nil},
		{"sendonly is hold", offerOf("m=audio 4000 RTP/AVP 0", "a=sendonly"),
			media.Format{Codec: media.PCMU}, "10.1.2.3:4000", SendOnly, true, nil},
		{"session-level inactive", sdpText("v=0", "o=- 1 1 IN IP4 10.1.2.3", "s=-", "c=IN IP4 10.1.2.3", "t=0 0", "a=inactive", "m=audio 4000 RTP/AVP 0"),
			media.Format{Codec: media.PCMU}, "10.1.2.3:4000", Inactive, true, nil},
		{"old-style hold c=0.0.0.0", sdpText("v=0", "o=- 1 1 IN IP4 10.1.2.3", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 0"),
			media.Format{Codec: media.PCMU}, "0.0.0.0:4000", SendRecv, true, nil},
		{"video then audio", offerOf("m=video 6000 RTP/AVP 96", "m=audio 4000 RTP/AVP 0"),
			media.Format{Codec: media.PCMU}, "10.1.2.3:4000", SendRecv, false, nil},
		{"g722 only", offerOf("m=audio 4000 RTP/AVP 9"), media.Format{}, "", "", false, ErrNoCommonCodec},
		{"srtp only", offerOf("m=audio 4000 RTP/SAVP 0"), media.Format{}, "", "", false, ErrNoCommonCodec},
		{"audio rejected", offerOf("m=audio 0 RTP/AVP 0"), media.Format{}, "", "", false, ErrNoCommonCodec},
		{"no media", offerOf(), media.Format{}, "", "", false, ErrNoCommonCodec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOffer(tc.body)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Format != tc.format || o.Remote.String() != tc.remote || o.Direction != tc.dir || o.OnHold() != tc.hold {
				t.Errorf("got %+v %s %s hold=%v, want %+v %s %s hold=%v", o.Format, o.Remote, o.Direction, o.OnHold(), tc.format, tc.remote, tc.dir, tc.hold)
			}
		})
	}
}

func TestParseOfferMalformed(t *testing.T) {
	for _, body := range []string{"garbage", "v=0\r\nm=audio x RTP/AVP 0\r\n", string(offerOf("m=audio 4000 RTP/AVP 0"))[:40]} {
		if _, err := ParseOffer([]byte(body)); err == nil {
			t.Errorf("ParseOffer(%q) accepted malformed SDP", body)
		}
	}
	noC := sdpText("v=0", "o=- 1 1 IN IP4 10.1.2.3", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 0")
	if _, err := ParseOffer(noC); err == nil || !strings.Contains(err.Error(), "c=") {
		t.Errorf("missing c= gave %v", err)
	}
}

// The answer mirrors the offer's m= lines, picks one codec, reverses the
// direction and keeps telephone-event with the offerer's payload type.
func TestAnswer(t *testing.T) {
	offer, err := ParseOffer(offerOf("m=video 6000 RTP/AVP 96", "m=audio 4000 RTP/AVP 8 0 96", "a=rtpmap:96 telephone-event/8000", "a=sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	local := LocalDescription{SessionID: 42, Version: 7, Address: netip.MustParseAddr("203.0.113.5"), Port: 20002}
	body, err := local.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	for _, want := range []string{
		"o=parkd 42 7 IN IP4 203.0.113.5", "c=IN IP4 203.0.113.5",
		"m=video 0 RTP/AVP 96", "m=audio 20002 RTP/AVP 8 96",
		"a=rtpmap:8 PCMA/8000", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-16",
		"a=ptime:20", "a=recvonly",
	} {
		if !strings.Contains(text, want+"\r\n") {
			t.Errorf("answer lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "m=video") > strings.Index(text, "m=audio") {
		t.Error("answer reorders m= lines")
	}
	// parkd's own answer parses back to the same choice.
	back, err := ParseOffer(body)
	if err != nil || back.Format != offer.Format {
		t.Errorf("answer re-parses as %+v, %v", back, err)
	}
}

func TestLateOffer(t *testing.T) {
	local := LocalDescription{SessionID: 1, Version: 1, Address: netip.MustParseAddr("127.0.0.1"), Port: 20000}
	body, err := local.Offer()
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseOffer(body)
	if err != nil {
		t.Fatal(err)
	}
	if o.Format != (media.Format{Codec: media.PCMU, AudioPT: 0, EventPT: 101}) || o.Direction != SendRecv {
		t.Errorf("our offer parses as %+v %s", o.Format, o.Direction)
	}
	if !strings.Contains(string(body), "a=rtpmap:8 PCMA/8000") {
		t.Errorf("offer lacks PCMA:\n%s", body)
	}
}

func TestParseReplaces(t *testing.T) {
	cases := []struct {
		in   string
		want Replaces
		ok   bool
	}{
		{"abc@host;to-tag=1;from-tag=2", Replaces{CallID: "abc@host", ToTag: "1", FromTag: "2"}, true},
		{"abc ; from-tag=2 ; to-tag=1 ; early-only", Replaces{CallID: "abc", ToTag: "1", FromTag: "2", EarlyOnly: true}, true},
		{"abc;to-tag=1", Replaces{}, false},
		{";to-tag=1;from-tag=2", Replaces{}, false},
		{"", Replaces{}, false},
	}
	for _, tc := range cases {
		got, err := parseReplaces(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseReplaces(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// FuzzParseOffer: no input panics, and an accepted offer always yields an
// answer that parses back to the same codec choice.
func FuzzParseOffer(f *testing.F) {
	f.Add(offerOf("m=audio 4000 RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000"))
	f.Add(offerOf("m=video 6000 RTP/AVP 96", "m=audio 4000 RTP/AVP 96", "a=rtpmap:96 PCMA/8000", "a=inactive"))
	f.Add(sdpText("v=0", "o=- 1 1 IN IP6 ::1", "s=-", "c=IN IP6 ::1", "t=0 0", "m=audio 1 RTP/AVP 0"))
	f.Add([]byte("v=0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		offer, err := ParseOffer(body)
		if err != nil {
			return
		}
		local := LocalDescription{SessionID: 1, Version: 1, Address: netip.MustParseAddr("127.0.0.1"), Port: 20000}
		answer, err := local.Answer(offer)
		if err != nil {
			t.Fatalf("accepted offer but cannot answer: %v", err)
		}
		back, err := ParseOffer(answer)
		if err != nil {
			t.Fatalf("our answer does not parse: %v\n%s", err, answer)
		}
		if back.Format.Codec != offer.Format.Codec {
			t.Fatalf("answer codec %v, offer chose %v", back.Format.Codec, offer.Format.Codec)
		}
	})
}

func FuzzParseReplaces(f *testing.F) {
	f.Add("abc@host;to-tag=1;from-tag=2;early-only")
	f.Add(";;=")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := parseReplaces(in)
		if err == nil && (r.CallID == "" || r.ToTag == "" || r.FromTag == "") {
			t.Fatalf("accepted %q with an empty part: %+v", in, r)
		}
	})
}
