package main

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// traffic counts what went out and what came back.
type traffic struct {
	mu        sync.Mutex
	sent      map[string]int // by transport
	bytesSent int64
	failed    map[string]int // sends that did not reach the daemon, by why
	received  map[string]int // what the daemon sent back, by classify
	statuses  map[string]int // its SIP/2.0 responses by status line ("400 Bad Request")
	toPhones  map[string]int // what it sent to the decoy phones, by classify
	// phoneTx is the distinct transactions (top Via branch) of those
	// requests, by method: toPhones counts retransmissions too.
	phoneTx   map[string]map[string]struct{}
	junk      []string     // the first few things it sent back that were not SIP
	tcpClosed atomic.Int64 // connections the daemon closed (EOF or reset) before we did
}

func newTraffic() *traffic {
	return &traffic{sent: map[string]int{}, failed: map[string]int{}, received: map[string]int{}, statuses: map[string]int{}, toPhones: map[string]int{}, phoneTx: map[string]map[string]struct{}{}}
}

func (t *traffic) count(m map[string]int, key string, n int) {
	t.mu.Lock()
	m[key] += n
	t.mu.Unlock()
}

// noteReceived counts one message from the daemon on a fuzz socket.
func (t *traffic) noteReceived(msg []byte) {
	kind := classify(msg)
	t.mu.Lock()
	t.received[kind]++
	if status := statusLine(msg); status != "" && (len(t.statuses) < maxStatuses || t.statuses[status] > 0) {
		t.statuses[status]++
	}
	if kind == "junk" && len(t.junk) < 5 {
		t.junk = append(t.junk, strconv.Quote(string(msg[:min(len(msg), 120)])))
	}
	t.mu.Unlock()
}

// maxStatuses bounds the distinct status lines kept.
const maxStatuses = 100

// statusLine is "486 Busy Here" for a SIP/2.0 response (the reason cut to
// 40 bytes and quoted if odd), "" for anything else.
func statusLine(msg []byte) string {
	line, _, _ := bytes.Cut(msg, []byte("\r\n"))
	rest, ok := bytes.CutPrefix(line, []byte("SIP/2.0 "))
	if !ok || len(rest) < 3 {
		return ""
	}
	rest = rest[:min(len(rest), 44)]
	s := string(rest)
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

// maxPhoneTx bounds the branches remembered per method.
const maxPhoneTx = 100000

// notePhone counts one message the daemon sent to a decoy phone.
func (t *traffic) notePhone(msg []byte) {
	kind := classify(msg)
	branch := topBranch(msg)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.toPhones[kind]++
	if kind == "junk" || strings.Contains(kind, "xx") || branch == "" {
		return
	}
	set := t.phoneTx[kind]
	if set == nil {
		set = map[string]struct{}{}
		t.phoneTx[kind] = set
	}
	if len(set) < maxPhoneTx {
		set[branch] = struct{}{}
	}
}

// topBranch is the branch parameter of a message's first Via.
func topBranch(msg []byte) string {
	lines, _ := splitMessage(msg)
	i := headerIndex(lines, "Via", "v")
	if i < 0 {
		return ""
	}
	_, rest, ok := bytes.Cut(lines[i], []byte("branch="))
	if !ok {
		return ""
	}
	end := bytes.IndexAny(rest, ";, ")
	if end < 0 {
		end = len(rest)
	}
	return string(rest[:end])
}

func (t *traffic) noteSent(transport string, n int) {
	t.mu.Lock()
	t.sent[transport]++
	t.bytesSent += int64(n)
	t.mu.Unlock()
}

// fill copies the counts into the report.
func (t *traffic) fill(r *Report) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.Sent, r.SendFailed, r.Received, r.BytesSent = t.sent, t.failed, t.received, t.bytesSent
	r.ToPhones, r.JunkSamples, r.Statuses = t.toPhones, t.junk, t.statuses
	r.ToPhonesTx = map[string]int{}
	for method, set := range t.phoneTx {
		r.ToPhonesTx[method] = len(set)
	}
	r.SentTotal = 0
	for _, v := range r.Sent {
		r.SentTotal += v
	}
	r.TCPClosed = t.tcpClosed.Load()
}
