package interop

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A real softphone: baresip (Debian package baresip-core), driven through
// its ctrl_tcp module, which takes commands as netstring-framed JSON and
// reports every call event the same way. Nothing in it needs a sound card:
// the microphone is a WAV file the test writes (aufile) and the speaker is
// an aubridge device nobody listens to.

// baresip commands and event names below are those of baresip 1.0.0 (its
// menu module registers dial, hangup and transfer; ctrl_tcp sends events
// such as CALL_ESTABLISHED and CALL_CLOSED).

// baresipModules is where Debian's baresip-core puts its modules.
const baresipModules = "/usr/lib/baresip/modules"

func requireBaresip(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Skip("baresip not installed (apt-get install baresip-core): no real softphone to drive")
	}
	for _, m := range []string{"ctrl_tcp.so", "menu.so", "account.so", "g711.so", "aufile.so", "aubridge.so"} {
		if _, err := os.Stat(filepath.Join(baresipModules, m)); err != nil {
			t.Skipf("baresip is installed but its module %s is not in %s (not Debian's baresip-core?)", m, baresipModules)
		}
	}
	return bin
}

// baresipEvent is one event line of ctrl_tcp.
type baresipEvent struct {
	Type      string `json:"type"`
	Class     string `json:"class"`
	Direction string `json:"direction"`
	PeerURI   string `json:"peeruri"`
	ID        string `json:"id"` // the call's SIP Call-ID
	Param     string `json:"param"`
}

// baresipResponse answers one command.
type baresipResponse struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// softphone is one running baresip with one account, sip:user@127.0.0.1,
// that answers incoming calls by itself.
type softphone struct {
	t       *testing.T
	user    string
	sipPort int
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	ctrl    net.Conn

	events    chan baresipEvent
	responses chan baresipResponse
	mu        sync.Mutex
	seen      []baresipEvent // every event so far, for failure messages
	nextToken int
}

// startSoftphone writes a config directory for baresip in a temp dir, runs
// it with -v -s (its log, with a SIP trace, is in logPath) and connects to
// its control port. It is stopped when the test ends.
func startSoftphone(t *testing.T, user string) *softphone {
	t.Helper()
	bin := requireBaresip(t)
	dir := t.TempDir()
	sp := &softphone{
		t: t, user: user, logPath: filepath.Join(dir, "baresip.log"),
		exited: make(chan struct{}), events: make(chan baresipEvent, 100), responses: make(chan baresipResponse, 10),
	}
	sp.sipPort = freeSIPPortPair(t)
	ctrlPort := freeTCPPort(t)
	tone := filepath.Join(dir, "tone.wav")
	if err := writeToneWAV(tone, 440, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// net_interface 127.0.0.1 keeps the SDP on loopback (by default baresip
	// offers the address of the default route's interface); sip_listen puts
	// the UDP and TCP listeners on sipPort and TLS on sipPort+1.
	config := strings.Join([]string{
		"poll_method epoll",
		"net_interface 127.0.0.1",
		"sip_listen 127.0.0.1:" + strconv.Itoa(sp.sipPort),
		"sip_trans_def udp",
		"module_path " + baresipModules,
		"module g711.so",
		"module aufile.so",
		"module aubridge.so",
		"module_app account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		"ctrl_tcp_listen 127.0.0.1:" + strconv.Itoa(ctrlPort),
		"audio_source aufile," + tone,
		"audio_player aubridge,speaker",
		"audio_alert aubridge,speaker",
		"rtp_ports 43000-43999",
		"rtp_timeout 0",
		"",
	}, "\n")
	account := fmt.Sprintf("<sip:%s@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU\n", user)
	for name, body := range map[string]string{"config": config, "accounts": account, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logFile, err := os.Create(sp.logPath)
	if err != nil {
		t.Fatal(err)
	}
	sp.cmd = exec.Command(bin, "-f", dir, "-v", "-s")
	sp.cmd.Dir = dir
	sp.cmd.Stdout, sp.cmd.Stderr = logFile, logFile
	if err := sp.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting baresip: %v", err)
	}
	go func() {
		sp.cmd.Wait()
		logFile.Close()
		close(sp.exited)
	}()
	t.Cleanup(sp.stop)

	deadline := time.Now().Add(10 * time.Second)
	for sp.ctrl == nil {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(ctrlPort), time.Second)
		if err == nil {
			sp.ctrl = c
			break
		}
		select {
		case <-sp.exited:
			t.Fatalf("baresip exited at start:\n%s", sp.logTail(40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip's ctrl_tcp never accepted a connection: %v\n%s", err, sp.logTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	go sp.read()
	return sp
}

// uri is the softphone's own address, e.g. for a Referred-By.
func (sp *softphone) uri() string {
	return fmt.Sprintf("sip:%s@127.0.0.1:%d", sp.user, sp.sipPort)
}

// read splits ctrl_tcp's stream into events and command responses.
func (sp *softphone) read() {
	defer close(sp.events)
	r := bufio.NewReader(sp.ctrl)
	for {
		msg, err := readNetstring(r)
		if err != nil {
			return
		}
		var kind struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
		}
		if json.Unmarshal(msg, &kind) != nil {
			continue
		}
		switch {
		case kind.Event:
			var ev baresipEvent
			if json.Unmarshal(msg, &ev) == nil {
				sp.mu.Lock()
				sp.seen = append(sp.seen, ev)
				sp.mu.Unlock()
				select {
				case sp.events <- ev:
				default: // nobody waits for this many: keep only the history
				}
			}
		case kind.Response:
			var res baresipResponse
			if json.Unmarshal(msg, &res) == nil {
				select {
				case sp.responses <- res:
				default:
				}
			}
		}
	}
}

// readNetstring reads one "len:payload," frame, up to 64 KiB.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > 64<<10 {
		return nil, fmt.Errorf("bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("netstring without its trailing comma")
	}
	return buf[:n], nil
}

// do sends one command (as typed at baresip's prompt, without the slash:
// "dial sip:700@...", "transfer sip:700@...", "hangup") and fails the test
// unless baresip accepts it.
func (sp *softphone) do(command string) {
	sp.t.Helper()
	name, params, _ := strings.Cut(command, " ")
	sp.nextToken++
	token := strconv.Itoa(sp.nextToken)
	msg, _ := json.Marshal(map[string]string{"command": name, "params": params, "token": token})
	frame := append([]byte(strconv.Itoa(len(msg))+":"), msg...)
	if _, err := sp.ctrl.Write(append(frame, ',')); err != nil {
		sp.t.Fatalf("baresip command %q: %v", command, err)
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case res := <-sp.responses:
			if res.Token != token {
				continue
			}
			if !res.OK {
				sp.t.Fatalf("baresip refused %q: %s\n%s", command, res.Data, sp.logTail(30))
			}
			return
		case <-timeout:
			sp.t.Fatalf("baresip never answered %q\n%s", command, sp.logTail(30))
		}
	}
}

// waitEvent waits for the next event of type typ (earlier events of other
// types are passed over) and fails the test if none comes in time.
func (sp *softphone) waitEvent(typ string, timeout time.Duration) baresipEvent {
	sp.t.Helper()
	ev, ok := sp.nextEvent(typ, timeout)
	if !ok {
		sp.t.Fatalf("baresip reported no %s within %s; its events: %s\n%s", typ, timeout, sp.eventTypes(), sp.logTail(60))
	}
	return ev
}

// waitEvents waits until baresip has reported every one of these event
// types, in whatever order (the music can reach it before it has reported
// the call established), and returns the first of each.
func (sp *softphone) waitEvents(timeout time.Duration, types ...string) map[string]baresipEvent {
	sp.t.Helper()
	seen := map[string]baresipEvent{}
	deadline := time.After(timeout)
	for len(seen) < len(types) {
		select {
		case ev, ok := <-sp.events:
			if !ok {
				sp.t.Fatalf("baresip's events ended before %v; its events: %s", types, sp.eventTypes())
			}
			if _, dup := seen[ev.Type]; !dup && slices.Contains(types, ev.Type) {
				seen[ev.Type] = ev
			}
		case <-deadline:
			sp.t.Fatalf("baresip reported %d of %v within %s; its events: %s\n%s", len(seen), types, timeout, sp.eventTypes(), sp.logTail(60))
		}
	}
	return seen
}

func (sp *softphone) nextEvent(typ string, timeout time.Duration) (baresipEvent, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-sp.events:
			if !ok {
				return baresipEvent{}, false
			}
			if ev.Type == typ {
				return ev, true
			}
		case <-deadline:
			return baresipEvent{}, false
		}
	}
}

// waitClosed waits until baresip has reported every one of these calls
// closed.
func (sp *softphone) waitClosed(t *testing.T, timeout time.Duration, callIDs ...string) {
	t.Helper()
	open := map[string]bool{}
	for _, id := range callIDs {
		open[id] = true
	}
	deadline := time.Now().Add(timeout)
	for len(open) > 0 {
		ev, ok := sp.nextEvent("CALL_CLOSED", time.Until(deadline))
		if !ok {
			t.Fatalf("baresip did not report calls %v closed within %s; its events: %s\n%s", open, timeout, sp.eventTypes(), sp.logTail(80))
		}
		delete(open, ev.ID)
	}
}

// dialogTags are the tags of a call the softphone placed, read from its SIP
// trace: its own (the INVITE's From) and the far end's (the 200's To).
func (sp *softphone) dialogTags(t *testing.T, callID string) (local, remote string) {
	t.Helper()
	for _, m := range sp.sipTrace() {
		if m.header("Call-ID") != callID || !strings.HasSuffix(m.header("CSeq"), " INVITE") {
			continue
		}
		if m.sent && strings.HasPrefix(m.first, "INVITE ") && local == "" {
			local = tagOf(m.header("From"))
		}
		if !m.sent && strings.HasPrefix(m.first, "SIP/2.0 200 ") && remote == "" {
			remote = tagOf(m.header("To"))
		}
	}
	if local == "" || remote == "" {
		t.Fatalf("no dialog tags for call %s in baresip's SIP trace (local %q, remote %q)\n%s", callID, local, remote, sp.logTail(80))
	}
	return local, remote
}

// tagOf is the tag parameter of a From or To value.
func tagOf(header string) string {
	_, rest, ok := strings.Cut(header, ";tag=")
	if !ok {
		return ""
	}
	tag, _, _ := strings.Cut(rest, ";")
	return strings.TrimSpace(tag)
}

// eventTypes lists every event so far, for failure messages.
func (sp *softphone) eventTypes() string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var types []string
	for _, ev := range sp.seen {
		types = append(types, ev.Type+"("+ev.Param+")")
	}
	return strings.Join(types, " ")
}

func (sp *softphone) log() string {
	b, err := os.ReadFile(sp.logPath)
	if err != nil {
		return fmt.Sprintf("(reading baresip log: %v)", err)
	}
	// The verbose status line redraws itself with \r; keep the log readable.
	return strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(b))
}

func (sp *softphone) logTail(lines int) string {
	var kept []string
	for _, l := range strings.Split(sp.log(), "\n") {
		if !strings.Contains(l, "audio=") { // the status line
			kept = append(kept, l)
		}
	}
	return "--- baresip log (" + sp.logPath + ", last lines) ---\n" + tail(strings.Join(kept, "\n"), lines)
}

// stop ends baresip: SIGTERM (it hangs up its calls first), then SIGKILL if
// it lingers.
func (sp *softphone) stop() {
	if sp.ctrl != nil {
		sp.ctrl.Close()
	}
	select {
	case <-sp.exited:
		return
	default:
	}
	sp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-sp.exited:
	case <-time.After(5 * time.Second):
		sp.cmd.Process.Kill()
		<-sp.exited
	}
	if os.Getenv("PARKD_INTEROP_DUMP") != "" {
		sp.t.Logf("baresip log:\n%s", sp.logTail(100000))
	}
}

// sipTraceMsg is one SIP message of baresip's -s trace.
type sipTraceMsg struct {
	sent  bool   // by the softphone (else received)
	first string // the request or status line
	head  string // the header lines, \n-separated
	body  string
}

// header is the value of the first header called name ("" if none).
func (m sipTraceMsg) header(name string) string {
	for _, l := range strings.Split(m.head, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// sipTrace splits the SIP messages out of baresip's log. With -s it prints
// each one after a line "#" (in colour) and a line "UDP from -> to", ended
// by a colour reset; a blank line separates headers from body.
func (sp *softphone) sipTrace() []sipTraceMsg {
	own := "127.0.0.1:" + strconv.Itoa(sp.sipPort) + " ->"
	var msgs []sipTraceMsg
	lines := strings.Split(sp.log(), "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasSuffix(lines[i], "#") || i+2 >= len(lines) || !strings.Contains(lines[i+1], " -> ") {
			continue
		}
		m := sipTraceMsg{sent: strings.Contains(lines[i+1], own), first: lines[i+2]}
		var head, body []string
		inBody := false
		for i += 3; i < len(lines) && !strings.HasPrefix(lines[i], "\x1b[;m"); i++ {
			switch {
			case inBody:
				body = append(body, lines[i])
			case lines[i] == "":
				inBody = true
			default:
				head = append(head, lines[i])
			}
		}
		m.head, m.body = strings.Join(head, "\n"), strings.TrimSpace(strings.Join(body, "\n"))
		msgs = append(msgs, m)
	}
	return msgs
}

// freeSIPPortPair is a free UDP+TCP port p whose p+1 is free for TCP too:
// baresip listens for TLS on the port after sip_listen's.
func freeSIPPortPair(t *testing.T) int {
	t.Helper()
	for range 100 {
		p := freeSIPPort(t)
		l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no free port pair for baresip's SIP and TLS listeners")
	return 0
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeToneWAV writes a mono 8 kHz 16-bit sine: the softphone's microphone.
func writeToneWAV(path string, hz float64, d time.Duration) error {
	n := int(d.Seconds() * 8000)
	data := make([]byte, 44+2*n)
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1) // PCM
	binary.LittleEndian.PutUint16(data[22:], 1) // mono
	binary.LittleEndian.PutUint32(data[24:], 8000)
	binary.LittleEndian.PutUint32(data[28:], 16000)
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := range n {
		s := int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(s))
	}
	return os.WriteFile(path, data, 0o644)
}
