package config_test

import (
	"testing"

	"github.com/parkd/parkd/parkd/config"
)

// FuzzCheckConfig: `parkd config check` and the daemon judge a file alike.
// CheckConfig finds a problem exactly when ParseConfig refuses the file,
// and its first problem is the error ParseConfig gives, line included.
func FuzzCheckConfig(f *testing.F) {
	for _, s := range []string{
		"",
		config.ExampleConfig(),
		"defaults:\n  recal_after: 3s\n",
		"defaults: {recall_after: 45}\n",
		"rtp:\n  ports: \"9-3\"\n  latch: foo\nlots:\n  - name: a\n    find_slot: random\n",
		"lots:\n  - {name: main, extension: \"700\", slots: \"720-701\"}\n  - {name: main, extension: \"700\", slots: \"701-702\"}\n",
		"a: &a [*a]\n",
		"---\n---\n",
		"- just a list\n",
		"sip: {listen: [\"tls://127.0.0.1:5061\"], allow: [\"::1\", \"10.0.0.0/8\"]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		problems := config.CheckConfig(data)
		_, err := config.ParseConfig(data)
		switch {
		case err == nil && len(problems) > 0:
			t.Fatalf("ParseConfig accepts what CheckConfig refuses: %v", problems[0])
		case err != nil && len(problems) == 0:
			t.Fatalf("CheckConfig finds no problem, ParseConfig says %v", err)
		case err != nil && problems[0].Error() != err.Error():
			t.Fatalf("CheckConfig's first problem %q, ParseConfig's error %q", problems[0].Error(), err.Error())
		}
		for _, p := range problems {
			if p.Msg == "" {
				t.Fatalf("a problem without a message: %+v", p)
			}
		}
	})
}

// Every problem of a file is listed, each with its own line.
func TestCheckConfigListsEveryProblem(t *testing.T) {
	problems := config.CheckConfig([]byte("rtp:\n  ports: \"9-3\"\n  latch: foo\nlots:\n  - name: a\n    find_slot: random\n"))
	want := []string{
		`config: line 2: rtp.ports: ports must be within 1024-65535 (got "9-3")`,
		`config: line 3: rtp.latch: must be one of sdp, signalling, any (got "foo")`,
		`config: line 5: lots[0].extension: is required (the number that parks, like "700")`,
		`config: line 5: lots[0].slots: is required (a range like "701-720")`,
		`config: line 6: lots[0].find_slot: must be one of first, next (got "random")`,
	}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems %v, want %d", len(problems), problems, len(want))
	}
	for i, p := range problems {
		if p.Error() != want[i] {
			t.Errorf("problem %d: %q, want %q", i, p.Error(), want[i])
		}
	}
}
