package sipcore

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The published examples: RFC 2617 §3.5 (MD5) and RFC 7616 §3.9.1 (MD5
// and SHA-256 of the same request).
func TestDigestResponseRFCVectors(t *testing.T) {
	for _, tc := range []struct {
		name                                            string
		alg                                             digestAlgorithm
		user, realm, password, nonce, cnonce, uri, want string
	}{
		{"RFC 2617 Mufasa", digestMD5, "Mufasa", "testrealm@host.com", "Circle Of Life",
			"dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b", "/dir/index.html", "6629fae49393a05397450978507c4ef1"},
		{"RFC 7616 MD5", digestMD5, "Mufasa", "http-auth@example.org", "Circle of Life",
			"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "/dir/index.html",
			"8ca523f5e9506fed4657c9700eebdbec"},
		{"RFC 7616 SHA-256", digestSHA256, "Mufasa", "http-auth@example.org", "Circle of Life",
			"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "/dir/index.html",
			"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ha1 := tc.alg.HA1(tc.user, tc.realm, tc.password)
			got := tc.alg.response(ha1, tc.nonce, "00000001", tc.cnonce, "auth", "GET", tc.uri)
			if got != tc.want {
				t.Fatalf("response = %s, want %s", got, tc.want)
			}
			if !equalHex(strings.ToUpper(tc.want), got) {
				t.Error("equalHex must ignore the case of hex digits")
			}
			if equalHex(tc.want[:len(tc.want)-1]+"0", got) && !strings.HasSuffix(tc.want, "0") {
				t.Error("equalHex accepted a different digest")
			}
		})
	}
}

func TestParseDigestCredentials(t *testing.T) {
	const good = `Digest username="Mufasa", realm="parkd", nonce="abc", uri="sip:701@127.0.0.1:5060", ` +
		`response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001`
	c, err := parseDigestCredentials(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "Mufasa" || c.Realm != "parkd" || c.URI != "sip:701@127.0.0.1:5060" || c.NC != "00000001" || c.NCValue != 1 || c.QOP != "auth" || c.Cnonce != "0a4f113b" {
		t.Fatalf("parsed %+v", c)
	}
	for _, tc := range []struct {
		name, value, wantErr string
	}{
		{"basic scheme", `Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==`, "not digest"},
		{"too long", `Digest username="` + strings.Repeat("a", 3000) + `"`, "longer than"},
		{"repeated directive", `Digest username="a", username="b", realm="parkd", nonce="n", uri="sip:x@y", response="r"`, "twice"},
		{"too many directives", "Digest " + manyDirectives(30) + `username="a"`, "more than"},
		{"long value", `Digest username="a", realm="parkd", nonce="` + strings.Repeat("n", 600) + `", uri="sip:x@y", response="r"`, "longer than"},
		{"no response", `Digest username="a", realm="parkd", nonce="n", uri="sip:x@y"`, "need"},
		{"no username", `Digest realm="parkd", nonce="n", uri="sip:x@y", response="r"`, "need"},
		{"negative nc", `Digest username="a", realm="parkd", nonce="n", uri="sip:x@y", response="r", qop=auth, nc=-1`, "positive"},
		{"zero nc with qop", `Digest username="a", realm="parkd", nonce="n", uri="sip:x@y", response="r", qop=auth, nc=00000000`, "positive"},
		{"unterminated quote", `Digest username="a, realm="parkd"`, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseDigestCredentials(tc.value)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func manyDirectives(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "x%d=\"1\", ", i)
	}
	return b.String()
}

func TestDigestChallengeFormat(t *testing.T) {
	got := digestChallenge("parkd", "n0nce", digestSHA256, true)
	for _, want := range []string{`Digest realm="parkd"`, `nonce="n0nce"`, `algorithm=SHA-256`, `qop="auth"`, `stale=true`} {
		if !strings.Contains(got, want) {
			t.Errorf("challenge %q lacks %q", got, want)
		}
	}
	if strings.Contains(digestChallenge("parkd", "n", digestMD5, false), "stale") {
		t.Error("a fresh challenge must not say stale")
	}
}

// fakeNow is a settable clock for the nonce tests.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

func TestNonceLifecycle(t *testing.T) {
	clock := &fakeNow{t: time.Unix(1_700_000_000, 0)}
	n := newNonces(time.Minute)
	n.now = clock.now
	nonce := n.issue("192.0.2.1")

	issued, v := n.check(nonce, "192.0.2.1")
	if v != nonceValid {
		t.Fatalf("a fresh nonce is %v", v)
	}
	if _, v := n.check(nonce, "192.0.2.2"); v != nonceForeign {
		t.Errorf("a nonce used from another IP is %v, want foreign", v)
	}
	if _, v := n.check("x"+nonce[1:], "192.0.2.1"); v != nonceForeign {
		t.Errorf("a tampered nonce is %v, want foreign", v)
	}
	if _, v := newNonces(time.Minute).check(nonce, "192.0.2.1"); v != nonceForeign {
		t.Errorf("another boot's nonce is %v, want foreign", v)
	}
	if !n.use(nonce, issued, 1) || !n.use(nonce, issued, 2) {
		t.Fatal("increasing nc refused")
	}
	if n.use(nonce, issued, 2) || n.use(nonce, issued, 1) {
		t.Error("a replayed nc was accepted")
	}
	clock.t = clock.t.Add(61 * time.Second)
	if _, v := n.check(nonce, "192.0.2.1"); v != nonceStale {
		t.Errorf("an expired nonce is %v, want stale", v)
	}
}

func TestNonceMemoryIsBounded(t *testing.T) {
	clock := &fakeNow{t: time.Unix(1_700_000_000, 0)}
	n := newNonces(time.Hour)
	n.now = clock.now
	n.max = 3
	var issued []string
	var at []int64
	for range 5 {
		clock.t = clock.t.Add(time.Second)
		nonce := n.issue("192.0.2.1")
		ts, _ := n.check(nonce, "192.0.2.1")
		issued, at = append(issued, nonce), append(at, ts)
		if !n.use(nonce, ts, 1) {
			t.Fatal("first use refused")
		}
	}
	if len(n.used) != 3 {
		t.Fatalf("%d nonces remembered, want the bound 3", len(n.used))
	}
	// The forgotten ones cannot be replayed: they count as stale.
	if n.use(issued[0], at[0], 2) {
		t.Error("a forgotten nonce was accepted again")
	}
	if !n.use(issued[4], at[4], 2) {
		t.Error("a remembered nonce with a higher nc was refused")
	}
}

func FuzzParseDigestCredentials(f *testing.F) {
	f.Add(`Digest username="Mufasa", realm="parkd", nonce="abc", uri="sip:701@h", response="00", algorithm=MD5, cnonce="c", qop=auth, nc=00000001`)
	f.Add(`Digest username="a\"b", realm=""`)
	f.Add(`digest ,,,,`)
	f.Add(`Digest x=`)
	f.Fuzz(func(t *testing.T, value string) {
		c, err := parseDigestCredentials(value)
		if err != nil {
			return
		}
		if c.Username == "" || c.Realm == "" || c.Nonce == "" || c.URI == "" || c.Response == "" {
			t.Fatalf("accepted incomplete credentials %+v from %q", c, value)
		}
		if len(c.Username) > maxAuthorizationLen || len(value) > maxAuthorizationLen {
			t.Fatalf("accepted an oversized header")
		}
		if c.NC != "" && (len(c.NC) != 8 || c.NCValue == 0) {
			t.Fatalf("nc %q (%d) is not 8 hex digits of a positive count", c.NC, c.NCValue)
		}
	})
}
