package parkd_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// Passwords of the test users; the daemon only knows their hashes.
const (
	alicePassword = "alice-secret"
	bobPassword   = "bob-secret"
	carolPassword = "carol-secret"
)

func md5HA1(user, realm, password string) string {
	h := md5.Sum([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(h[:])
}

func sha256HA1(user, realm, password string) string {
	h := sha256.Sum256([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(h[:])
}

// withAuth turns digest authentication on for alice and carol (MD5 and
// SHA-256 hashes) and bob (an MD5 hash only, as htdigest writes).
func withAuth(c *parkd.Config) {
	realm := parkd.DefaultAuthRealm
	c.SIP.Auth.Users = []parkd.AuthUser{
		{Name: "alice", HA1: md5HA1("alice", realm, alicePassword), HA1SHA256: sha256HA1("alice", realm, alicePassword)},
		{Name: "bob", HA1: md5HA1("bob", realm, bobPassword)},
		{Name: "carol", HA1: md5HA1("carol", realm, carolPassword), HA1SHA256: sha256HA1("carol", realm, carolPassword)},
	}
}

// With sip.auth on, a phone that answers the challenge parks and another
// retrieves; bob, who has only an MD5 hash, is offered MD5 alone after
// answering the SHA-256 challenge sipgo picks first.
func TestAuthParkAndRetrieve(t *testing.T) {
	d := startDaemon(t, withAuth)
	alice := siptest.NewPhone(t, "alice", siptest.WithCredentials("alice", alicePassword))
	bob := siptest.NewPhone(t, "bob", siptest.WithCredentials("bob", bobPassword))
	parked := d.dial(alice, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	picker := d.dial(bob, "701", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventRetrieved, "701")
	assertAudio(t, parked, picker)
}

// Without credentials: 401 with one challenge per algorithm, SHA-256
// first, qop=auth, not stale. A wrong password: 403, and nothing parked.
func TestAuthChallengeAndWrongPassword(t *testing.T) {
	d := startDaemon(t, withAuth)
	for _, transport := range []string{"udp", "tcp"} {
		var opts []siptest.Option
		if transport == "tcp" {
			opts = append(opts, siptest.WithTCP())
		}
		c := d.dial(siptest.NewPhone(t, "mallory", opts...), "700", 401, siptest.CallOptions{})
		chals := c.Response().GetHeaders("WWW-Authenticate")
		if len(chals) != 2 {
			t.Fatalf("%s: %d WWW-Authenticate headers, want 2 (SHA-256, MD5)", transport, len(chals))
		}
		for i, alg := range []string{"SHA-256", "MD5"} {
			ch, err := digest.ParseChallenge(chals[i].Value())
			if err != nil {
				t.Fatalf("%s: challenge %q: %v", transport, chals[i].Value(), err)
			}
			if ch.Algorithm != alg || ch.Realm != parkd.DefaultAuthRealm || !ch.SupportsQOP("auth") || ch.Stale || ch.Nonce == "" {
				t.Errorf("%s: challenge %d = %+v, want algorithm %s, realm parkd, qop auth, not stale", transport, i, ch, alg)
			}
		}
	}
	wrong := siptest.NewPhone(t, "alice", siptest.WithCredentials("alice", "guess"))
	d.dial(wrong, "700", 403, siptest.CallOptions{})
	unknown := siptest.NewPhone(t, "zed", siptest.WithCredentials("zed", "guess"))
	c := d.dial(unknown, "700", 403, siptest.CallOptions{})
	if !strings.Contains(c.Warning(), "wrong user name or password") {
		t.Errorf("an unknown user's 403 says %q, want the same words as a wrong password's", c.Warning())
	}
	if v := d.slot("701"); v.State != parkd.SlotFree {
		t.Errorf("slot 701 is %s after refused calls, want free", v.State)
	}
}

// A captured Authorization header does not work twice (nc must grow),
// and right credentials on a nonce parkd did not make (another boot's)
// get 401 stale=true, so phones retry without asking their user.
func TestAuthReplayAndStaleNonce(t *testing.T) {
	d := startDaemon(t, withAuth)
	eve := siptest.NewPhone(t, "alice") // no WithCredentials: the test writes the header itself
	target := d.uri("700", eve)
	chal := d.dial(eve, "700", 401, siptest.CallOptions{}).Response().GetHeader("WWW-Authenticate").Value()
	ch, err := digest.ParseChallenge(chal)
	if err != nil {
		t.Fatal(err)
	}
	credentials := func(ch *digest.Challenge) string {
		cred, err := digest.Digest(ch, digest.Options{Method: "INVITE", URI: target, Username: "alice", Password: alicePassword})
		if err != nil {
			t.Fatal(err)
		}
		return cred.String()
	}
	auth := credentials(ch)
	call := d.dial(eve, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Authorization", auth}}})
	d.waitEvent(parkd.EventParked, "701")

	replay := d.dial(eve, "700", 401, siptest.CallOptions{Headers: [][2]string{{"Authorization", auth}}})
	if h := replay.Header("WWW-Authenticate"); !strings.Contains(h, "stale=true") {
		t.Errorf("a replayed Authorization got %q, want a challenge with stale=true", h)
	}
	ch.Nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // well-formed, but not this parkd's
	foreign := d.dial(eve, "700", 401, siptest.CallOptions{Headers: [][2]string{{"Authorization", credentials(ch)}}})
	if h := foreign.Header("WWW-Authenticate"); !strings.Contains(h, "stale=true") {
		t.Errorf("right credentials on a foreign nonce got %q, want stale=true", h)
	}
	if v := d.slot("702"); v.State != parkd.SlotFree {
		t.Errorf("slot 702 is %s: a replayed INVITE parked a call", v.State)
	}

	// Credentials for another Request-URI, or that do not parse: 400.
	// Credentials for another realm only (a proxy's): a fresh challenge.
	fresh, _ := digest.ParseChallenge(d.dial(eve, "700", 401, siptest.CallOptions{}).Header("WWW-Authenticate"))
	other, err := digest.Digest(fresh, digest.Options{Method: "INVITE", URI: d.uri("701", eve), Username: "alice", Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	d.dial(eve, "700", 400, siptest.CallOptions{Headers: [][2]string{{"Authorization", other.String()}}})
	d.dial(eve, "700", 400, siptest.CallOptions{Headers: [][2]string{{"Authorization", `Digest username="alice", realm="parkd", nonce="x"`}}})
	proxy := *fresh
	proxy.Realm = "pbx.example.com"
	forProxy, _ := digest.Digest(&proxy, digest.Options{Method: "INVITE", URI: target, Username: "alice", Password: alicePassword})
	if h := d.dial(eve, "700", 401, siptest.CallOptions{Headers: [][2]string{{"Authorization", forProxy.String()}}}).Header("WWW-Authenticate"); strings.Contains(h, "stale") {
		t.Errorf("credentials for another realm got %q, want a fresh challenge", h)
	}
	call.Hangup(ctxFor(t, 3*time.Second))
}

// A source in sip.trusted (the PBX, 127.0.0.1 here) needs no credentials;
// another host (127.0.0.2) does.
func TestAuthTrustedSource(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		withAuth(c)
		c.SIP.Trusted = []string{"127.0.0.1/32"}
	})
	pbx := siptest.NewPhone(t, "pbx")
	d.dial(pbx, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	outsider := siptest.NewPhone(t, "alice", siptest.WithHost("127.0.0.2"))
	d.dial(outsider, "701", 401, siptest.CallOptions{})
	d.subscribe(outsider, "701", 401, siptest.SubscribeOptions{Expires: 60})
	if v := d.slot("701"); v.State != parkd.SlotParked {
		t.Errorf("slot 701 is %s after an unauthenticated retrieve, want parked", v.State)
	}
	d.subscribe(pbx, "701", 200, siptest.SubscribeOptions{Expires: 60})
}

// retrieve_allow names who may take a lot's calls: another authenticated
// user gets 403 whether they dial the slot, the retrieve extension or pick
// up with Replaces, and the call stays parked with its music.
func TestRetrieveAllow(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		withAuth(c)
		c.Lots[0].RetrieveAllow = []string{"alice", "sip:car*@127.0.0.1"}
	})
	parker := siptest.NewPhone(t, "bob", siptest.WithCredentials("bob", bobPassword))
	parked := d.dial(parker, "700", 200, siptest.CallOptions{})
	ev := d.waitEvent(parkd.EventParked, "701")
	replaces := ev.Call.CallID + ";to-tag=" + ev.Call.LocalTag + ";from-tag=" + ev.Call.RemoteTag

	bob := siptest.NewPhone(t, "bob", siptest.WithCredentials("bob", bobPassword))
	for _, tc := range []struct {
		name, ext string
		opts      siptest.CallOptions
	}{
		{"slot", "701", siptest.CallOptions{}},
		{"retrieve extension", "*700", siptest.CallOptions{}},
		{"Replaces pickup", "701", siptest.CallOptions{Headers: [][2]string{{"Replaces", replaces}}}},
	} {
		c := d.dial(bob, tc.ext, 403, tc.opts)
		if !strings.Contains(c.Warning(), "may not retrieve") {
			t.Errorf("%s: 403 Warning %q does not say why", tc.name, c.Warning())
		}
		if v := d.slot("701"); v.State != parkd.SlotParked || v.Call == nil || v.Call.CallID != ev.Call.CallID {
			t.Fatalf("%s: after the refused retrieve slot 701 is %s, want the call still parked", tc.name, v.State)
		}
	}
	assertHearsMusic(t, parked)

	// carol matches the URI pattern, alice the name.
	carol := siptest.NewPhone(t, "carol", siptest.WithCredentials("carol", carolPassword))
	d.dial(carol, "701", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventRetrieved, "701")
	d.dial(parker, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	alice := siptest.NewPhone(t, "alice", siptest.WithCredentials("alice", alicePassword))
	d.dial(alice, "701", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventRetrieved, "701")
}

// BLF in a restricted lot: a watcher allowed to retrieve gets the parked
// call's call-id, tags and caller; one who is not gets the state alone,
// in dialog-info and in PIDF.
func TestBLFDetailOnlyForAllowedWatchers(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		withAuth(c)
		c.Lots[0].RetrieveAllow = []string{"alice"}
	})
	alice := siptest.NewPhone(t, "alice", siptest.WithCredentials("alice", alicePassword))
	bob := siptest.NewPhone(t, "bob", siptest.WithCredentials("bob", bobPassword))
	allowed := d.subscribe(alice, "701", 200, siptest.SubscribeOptions{Expires: 60})
	refused := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 60})
	refusedPIDF := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 60, Event: "presence"})
	nextDialogInfo(t, allowed)
	nextDialogInfo(t, refused)
	nextNotify(t, refusedPIDF)
	d.waitWatchers("701", 3)

	caller := siptest.NewPhone(t, "caller", siptest.WithDisplay("Secret Caller"), siptest.WithCredentials("carol", carolPassword))
	d.dial(caller, "700", 200, siptest.CallOptions{})
	ev := d.waitEvent(parkd.EventParked, "701")

	_, full := nextDialogInfo(t, allowed)
	if len(full.Dialogs) != 1 || full.Dialogs[0].CallID != ev.Call.CallID || full.Dialogs[0].LocalTag != ev.Call.LocalTag ||
		full.Dialogs[0].RemoteTag != ev.Call.RemoteTag || full.Dialogs[0].Remote == nil {
		t.Fatalf("the allowed watcher's dialog-info lacks the pickup detail: %+v", full.Dialogs)
	}
	n, bare := nextDialogInfo(t, refused)
	if len(bare.Dialogs) != 1 {
		t.Fatalf("the refused watcher sees %d dialogs, want the occupied slot's one", len(bare.Dialogs))
	}
	dl := bare.Dialogs[0]
	if dl.State != full.Dialogs[0].State || dl.CallID != "" || dl.LocalTag != "" || dl.RemoteTag != "" || dl.Remote != nil {
		t.Errorf("the refused watcher's dialog = %+v, want state %s with no call-id, tags or remote", dl, full.Dialogs[0].State)
	}
	for _, secret := range []string{ev.Call.CallID, ev.Call.LocalTag, ev.Call.RemoteTag, "Secret Caller", "caller@"} {
		if strings.Contains(string(n.Body), secret) {
			t.Errorf("the refused watcher's NOTIFY contains %q:\n%s", secret, n.Body)
		}
	}
	pidf := nextNotify(t, refusedPIDF)
	if !strings.Contains(string(pidf.Body), "Parked") || strings.Contains(string(pidf.Body), "Secret Caller") {
		t.Errorf("the refused watcher's PIDF should say parked without the caller:\n%s", pidf.Body)
	}

	// In-dialog requests are not challenged: a refresh needs no credentials.
	if res, err := refused.Refresh(ctxFor(t, 3*time.Second), 60); err != nil || res.StatusCode != 200 {
		t.Fatalf("refresh: %v %v, want 200 without a challenge", res, err)
	}
	if _, again := nextDialogInfo(t, refused); len(again.Dialogs) != 1 || again.Dialogs[0].CallID != "" {
		t.Errorf("after a refresh the refused watcher sees %+v, want the state-only dialog", again.Dialogs)
	}
}

// assertHearsMusic checks that RTP (music on hold) reaches a parked call
// now, not only before.
func assertHearsMusic(t *testing.T, c *siptest.Call) {
	t.Helper()
	c.RTP.Drain()
	if _, err := c.RTP.Collect(ctxFor(t, 3*time.Second), 10, func(siptest.Received) bool { return true }); err != nil {
		t.Fatalf("the parked call hears no music: %v", err)
	}
}
