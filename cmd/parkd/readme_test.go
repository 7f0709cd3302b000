package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// readmeScript is the first ```sh block after the heading in README.md.
func readmeScript(t *testing.T, heading string) string {
	t.Helper()
	return readmeBlock(t, heading, "sh")
}

// readmeBlock is the first fenced block of the given language after the
// heading in README.md.
func readmeBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	_, rest, ok = strings.Cut(rest, "```"+lang+"\n")
	if !ok {
		t.Fatalf("README.md %q has no %s block", heading, lang)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("unterminated %s block", lang)
	}
	return block
}

// The config the README shows is a config parkd accepts, with every
// default it documents: a key renamed in code cannot leave the README behind.
func TestReadmeConfigIsValid(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", "")
	cfg, err := parkd.ParseConfig([]byte(readmeBlock(t, "## Configure it", "yaml")))
	if err != nil {
		t.Fatalf("the README's config is refused: %v", err)
	}
	def := parkd.DefaultConfig()
	for _, part := range []struct {
		key       string
		got, want any
	}{
		{"sip", cfg.SIP, def.SIP}, {"rtp", cfg.RTP, def.RTP}, {"api", cfg.API, def.API},
		{"blf", cfg.BLF, def.BLF}, {"defaults", cfg.Defaults, def.Defaults},
	} {
		// As JSON, where an empty list and no list read the same.
		got, _ := json.Marshal(part.got)
		want, _ := json.Marshal(part.want)
		if string(got) != string(want) {
			t.Errorf("the README's %s: differs from the defaults:\n%s\nwant\n%s", part.key, got, want)
		}
	}
}

// The README's "Script it" examples run as written against a daemon on
// its default data directory, with Alice parked in 701 (c1) and Bob in the
// attendant queue (c2), as the README sets the scene.
func TestReadmeScriptIt(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (CI installs it)")
	}
	script := readmeScript(t, "## Script it")
	state := t.TempDir()
	bin := filepath.Dir(binary)
	port := freePort(t)
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(os.Environ(), "XDG_STATE_HOME="+state, "PARKD_API="+apiURL, "PARKD_TOKEN=",
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1",
		"GORACE=atexit_sleep_ms=0") // the -race binary would sleep 1 s at every exit

	daemon := exec.Command(binary, "serve", "--api", fmt.Sprintf("127.0.0.1:%d", port),
		"--sip", "udp://127.0.0.1:0", "--rtp-ports", "46200-46299")
	daemon.Env = env
	var daemonLog lockedBuffer
	daemon.Stderr = &daemonLog
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	t.Cleanup(func() {
		daemon.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("parkd exited with %v:\n%s", err, daemonLog.String())
			}
		case <-time.After(10 * time.Second):
			daemon.Process.Kill()
			t.Error("parkd did not stop within 10 s of SIGTERM")
		}
	})
	waitHealthy(t, apiURL, exited, &daemonLog)
	sip := sipAddr(t, apiURL, state)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
	if c, err := alice.Dial(ctx, "sip:700@"+sip, siptest.CallOptions{}); err != nil || c.Status() != 200 {
		t.Fatalf("parking Alice: %v", err)
	}
	bob := siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob"))
	if c, err := bob.Dial(ctx, "sip:0@"+sip, siptest.CallOptions{}); err != nil || c.Status() != 200 {
		t.Fatalf("queueing Bob: %v", err)
	}

	run := exec.Command("bash", "-euo", "pipefail", "-c", script)
	run.Env = env
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's script failed (%v):\n%s", err, out)
	}
	for _, want := range []string{"Bob", "705", "recall_after", "\"ok\""} {
		if !strings.Contains(string(out), want) {
			t.Errorf("script output lacks %q:\n%s", want, out)
		}
	}
	// What the script did is what a user would see afterwards: Bob in
	// 707 (parked in 705, moved to 706 by ctl and to 707 by curl), Alice
	// hung up.
	check := exec.Command(binary, "ctl", "--json", "slots", "--state", "parked")
	check.Env = env
	js, err := check.Output()
	if err != nil {
		t.Fatal(err)
	}
	var slots struct {
		Slots []struct {
			Slot string
			Call struct{ Caller struct{ Name string } }
		}
	}
	if err := json.Unmarshal(js, &slots); err != nil {
		t.Fatal(err)
	}
	if len(slots.Slots) != 1 || slots.Slots[0].Slot != "707" || slots.Slots[0].Call.Caller.Name != "Bob" {
		t.Errorf("parked slots after the script: %s, want Bob alone in 707", js)
	}
}

func waitHealthy(t *testing.T, apiURL string, exited <-chan error, log *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(apiURL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("parkd exited (%v):\n%s", err, log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("parkd's API never answered:\n%s", log.String())
}

// sipAddr asks the API where the daemon listens for SIP.
func sipAddr(t *testing.T, apiURL, state string) string {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(state, "parkd", "token"))
	if err != nil {
		t.Fatalf("the token is not in the default data directory: %v", err)
	}
	req, _ := http.NewRequest("GET", apiURL+"/api/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ SIP []string }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st.SIP) == 0 {
		t.Fatalf("status: %v %+v", err, st)
	}
	return strings.TrimPrefix(st.SIP[0], "udp://")
}

// The README and docs link only to files in the repository, and every such
// link resolves: users read them without ../shared or the web.
func TestDocsLinksResolve(t *testing.T) {
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			switch {
			case strings.Contains(m[1], "://"), strings.HasPrefix(m[1], "mailto:"):
				t.Errorf("%s links outside the repository: %s", filepath.Base(doc), m[1])
				continue
			case target == "":
				continue // an anchor in the same file
			}
			path := filepath.Join(filepath.Dir(doc), target)
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s links to %s, which does not exist", filepath.Base(doc), m[1])
			}
			if rel, _ := filepath.Rel("../..", path); strings.HasPrefix(rel, "..") {
				t.Errorf("%s links outside the repository: %s", filepath.Base(doc), m[1])
			}
		}
	}
}

// The README's "Lots of your own": its example is a file `parkd config
// check` accepts; each of the three keys it says a listed lot must give
// is refused when left out, with the message the README quotes for slots;
// and a listed lot's other keys are the built-in lot's, but for the two
// numbers the README names.
func TestReadmeListedLots(t *testing.T) {
	example := readmeBlock(t, "### Lots of your own", "yaml")
	dir := t.TempDir()
	file := writeFile(t, dir, "lots.yaml", example)
	if stdout, stderr, code := runParkd(t, dir, "config", "check", file); code != 0 || stdout != file+": ok\n" {
		t.Fatalf("config check of the README's lots: exit %d\n%s%s", code, stdout, stderr)
	}

	for _, key := range []string{"name", "extension", "slots"} {
		bad := writeFile(t, dir, "no-"+key+".yaml", withoutFirstLotKey(t, example, key))
		stdout, _, code := runParkd(t, dir, "config", "check", bad)
		if code != 2 || !strings.Contains(stdout, "lots[0]."+key+": ") {
			t.Errorf("without %s: exit %d, want 2 and a problem naming lots[0].%s:\n%s", key, code, key, stdout)
		}
		if key == "slots" && !strings.Contains(stdout, `lots[0].slots: is required (a range like "701-720")`) {
			t.Errorf("without slots the message is not the one the README quotes:\n%s", stdout)
		}
	}

	cfg, err := parkd.ParseConfig([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Lots[0]
	if got.RetrieveExtension != "" || got.AttendantExtension != "" {
		t.Errorf("a listed lot got retrieve_extension %q and attendant_extension %q, want none",
			got.RetrieveExtension, got.AttendantExtension)
	}
	want := parkd.DefaultLot()
	want.Name, want.Extension, want.Slots = got.Name, got.Extension, got.Slots
	want.RetrieveExtension, want.AttendantExtension = "", ""
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("a listed lot's other keys differ from the built-in lot's:\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

// withoutFirstLotKey drops key from the first lot of a lots: list; when
// the line dropped opened the list item ("- name: …"), the next line
// opens it instead.
func withoutFirstLotKey(t *testing.T, yaml, key string) string {
	t.Helper()
	lines := strings.Split(yaml, "\n")
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		item := strings.HasPrefix(trimmed, "- ")
		if !strings.HasPrefix(strings.TrimPrefix(trimmed, "- "), key+":") {
			continue
		}
		if item {
			lines[i+1] = line[:len(line)-len(trimmed)] + "- " + strings.TrimLeft(lines[i+1], " ")
		}
		return strings.Join(append(lines[:i], lines[i+1:]...), "\n")
	}
	t.Fatalf("the README's lots example has no %s", key)
	return ""
}
