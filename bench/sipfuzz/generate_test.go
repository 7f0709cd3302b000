package main

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

var testTarget = Target{
	Host: "127.0.0.1", Port: 5060, ParkExt: "700", Retrieve: "*700",
	Slots:     []string{"701", "702", "703"},
	SourceIPs: []string{"127.0.0.2", "127.0.0.3"},
}

// A campaign is reproducible: message i of a seed is the same bytes,
// transport and source every time, whatever was generated before it.
func TestGenerateIsDeterministicPerSeed(t *testing.T) {
	for _, seed := range []uint64{1, 2, 42} {
		forward := make([]Message, 300)
		for i := range forward {
			forward[i] = Generate(seed, i, testTarget)
		}
		for i := len(forward) - 1; i >= 0; i-- { // the other order
			again := Generate(seed, i, testTarget)
			if !bytes.Equal(again.Bytes, forward[i].Bytes) || again.Transport != forward[i].Transport ||
				again.Source != forward[i].Source || !slices.Equal(again.Mutations, forward[i].Mutations) {
				t.Fatalf("seed %d message %d differs between two generations", seed, i)
			}
		}
	}
}

func TestGenerateSeedsDiffer(t *testing.T) {
	same := 0
	for i := range 100 {
		if bytes.Equal(Generate(1, i, testTarget).Bytes, Generate(2, i, testTarget).Bytes) {
			same++
		}
	}
	if same > 5 {
		t.Errorf("seeds 1 and 2 gave %d identical messages of 100", same)
	}
}

// Every seed kind, mutation and transport turns up in a campaign of
// ordinary length, and UDP messages fit in a datagram.
func TestGenerateCoversCorpus(t *testing.T) {
	kinds, muts, transports := map[string]int{}, map[string]int{}, map[string]int{}
	unmutated := 0
	for i := range 5000 {
		m := Generate(7, i, testTarget)
		kinds[m.Kind]++
		transports[m.Transport]++
		if len(m.Mutations) == 0 {
			unmutated++
		}
		for _, name := range m.Mutations {
			muts[name]++
		}
		if m.Transport == viaUDP && len(m.Bytes) > maxUDPPayload {
			t.Fatalf("message %d: %d bytes over UDP", i, len(m.Bytes))
		}
		if m.Source < 0 || m.Source >= len(testTarget.SourceIPs) {
			t.Fatalf("message %d: source %d", i, m.Source)
		}
	}
	for _, k := range seedKinds {
		if kinds[k.name] == 0 {
			t.Errorf("seed kind %q never generated", k.name)
		}
	}
	for _, mu := range mutations {
		if muts[mu.name] == 0 {
			t.Errorf("mutation %q never applied", mu.name)
		}
	}
	for _, tr := range []string{viaUDP, viaTCPNew, viaTCPReuse} {
		if transports[tr] == 0 {
			t.Errorf("transport %q never chosen", tr)
		}
	}
	if unmutated == 0 {
		t.Error("no message went out intact")
	}
}

// The seed corpus is realistic: before mutation every message is valid
// SIP that sipgo parses, with a Content-Length that matches its body, and
// it never names the canary's lot.
func TestSeedCorpusParses(t *testing.T) {
	p := sip.NewParser()
	for _, invalid := range []bool{false, true} {
		for _, k := range seedKinds {
			g := &gen{r: rand.New(rand.NewPCG(1, 2)), t: testTarget, invalidHosts: invalid, src: "127.0.0.2"}
			text := k.build(g)
			msg, err := p.ParseSIP([]byte(text))
			if err != nil {
				t.Errorf("%s (invalid hosts %v): %v\n%s", k.name, invalid, err, text)
				continue
			}
			if cl := msg.ContentLength(); cl == nil || int(*cl) != len(msg.Body()) {
				t.Errorf("%s: Content-Length does not match the body", k.name)
			}
			if invalid && !strings.Contains(text, ".invalid") {
				t.Errorf("%s: invalid-hosts message names no .invalid host", k.name)
			}
			if strings.Contains(text, "9990") || strings.Contains(text, "9991") {
				t.Errorf("%s names the canary's lot", k.name)
			}
		}
	}
}

// Each mutation is a pure function of its random source and input, and
// leaves its input alone.
func TestMutationsAreDeterministicAndPure(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(3, 4)), t: testTarget, src: "127.0.0.2"}
	base := []byte(g.invite("700", g.sdp(), ""))
	orig := bytes.Clone(base)
	for _, mu := range mutations {
		for s := range uint64(20) {
			a := mu.apply(rand.New(rand.NewPCG(s, 9)), base)
			b := mu.apply(rand.New(rand.NewPCG(s, 9)), base)
			if !bytes.Equal(a, b) {
				t.Fatalf("%s with seed %d is not deterministic", mu.name, s)
			}
			if !bytes.Equal(base, orig) {
				t.Fatalf("%s modified its input", mu.name)
			}
		}
	}
}

// Table: what specific mutations must produce.
func TestMutationEffects(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(5, 6)), t: testTarget, src: "127.0.0.2"}
	invite := []byte(g.invite("700", g.sdp(), ""))
	tests := []struct {
		mutation string
		check    func(out []byte) bool
		want     string
	}{
		{"bad-version", func(out []byte) bool {
			line, _, _ := bytes.Cut(out, crlf)
			return !bytes.HasSuffix(line, []byte(" SIP/2.0"))
		}, "the request line's version is not SIP/2.0"},
		{"cseq-mismatch", func(out []byte) bool { return !bytes.Contains(out, []byte("CSeq: ")) || !cseqMatches(out) }, "CSeq no longer matches the method or number"},
		{"deep-sdp", func(out []byte) bool {
			lines, body := splitMessage(out)
			n, ok := contentLength(bytes.Join(lines, crlf))
			return ok && n == len(body) && bytes.HasPrefix(body, []byte("v=0"))
		}, "a new SDP body with a matching Content-Length"},
		{"huge-header", func(out []byte) bool { return len(out) >= len(invite)+1024 }, "at least 1 KiB more"},
		{"truncate", func(out []byte) bool { return len(out) < len(invite) }, "shorter"},
		{"many-vias", func(out []byte) bool {
			return bytes.Count(out, []byte("\r\nVia: ")) >= 10 || bytes.Count(out, []byte("\r\nRecord-Route: ")) >= 10
		}, "at least 10 Via or Record-Route headers"},
	}
	for _, tc := range tests {
		mu, ok := mutationByName(tc.mutation)
		if !ok {
			t.Fatalf("no mutation %q", tc.mutation)
		}
		for s := range uint64(30) {
			out := mu.apply(rand.New(rand.NewPCG(s, 1)), invite)
			if !tc.check(out) {
				t.Errorf("%s (seed %d): want %s, got\n%.400s", tc.mutation, s, tc.want, out)
				break
			}
		}
	}
}

// cseqMatches says whether the CSeq is "<positive number> INVITE".
func cseqMatches(msg []byte) bool {
	lines, _ := splitMessage(msg)
	i := headerIndex(lines, "CSeq")
	if i < 0 {
		return false
	}
	f := strings.Fields(strings.TrimPrefix(string(lines[i]), "CSeq:"))
	if len(f) != 2 || f[1] != "INVITE" {
		return false
	}
	for _, c := range f[0] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return f[0] != "0" && len(f[0]) < 10
}
