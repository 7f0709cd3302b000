package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// output is how a scenario hands over its figures.
type output int

const (
	jsonFile output = iota // the command writes one JSON object to the {json} path
	goBench                // `go test -bench` results on stdout
)

// scenario is one measurement: a command per scale and how to read it.
type scenario struct {
	name   string
	target string // what the issue asks of it, for the reader of the summary
	// command is the environment and argv for a scale; "{json}" in either
	// is replaced by the file the command writes its figures to.
	command func(scale string) (env, argv []string)
	output  output
}

func pick(scale, quick, full string) string {
	if scale == "full" {
		return full
	}
	return quick
}

func scenarios() []scenario {
	return []scenario{
		{
			name:   "setup-sipp",
			target: "call setup at its pre-BLF cost: park+retrieve pairs with sipp, 1,000-slot lots (compare with a build of e2ab7d1, the last before BLF, run in the same sitting with PARKD_BIN: 31.5–38.6 % of a core parking and 45.1–51.6 % parking and retrieving at 400/s on 2026-12-05)",
			command: func(scale string) ([]string, []string) {
				return []string{"TESTS=rate pair", "RATE=" + pick(scale, "100", "400"), "N=" + pick(scale, "300", "2000"), "JSON_OUT={json}"},
					[]string{"bench/park_load.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "setup-sipp-blf",
			target: "the same call setup with 200 BLF watchers of the first slot present: no NOTIFY retransmitted",
			command: func(scale string) ([]string, []string) {
				return []string{"TESTS=rate pair", "RATE=" + pick(scale, "100", "400"), "N=" + pick(scale, "300", "2000"),
						"SUBS=200", "SUBS_TO=10000", "JSON_OUT={json}"},
					[]string{"bench/park_load.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "hold",
			target: "parked calls with music on hold: CPU, and at most 32 KiB of memory per parked call",
			command: func(scale string) ([]string, []string) {
				return []string{"TESTS=hold", "P=" + pick(scale, "300", "2000"), "WINDOW=" + pick(scale, "3", "10"), "JSON_OUT={json}"},
					[]string{"bench/park_load.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "setup-loadgen-400",
			target: "park-then-retrieve pairs at 400/s with RTP from every call, parkd and the generator each pinned to a core: about what one core of this machine carries",
			command: func(scale string) ([]string, []string) {
				return []string{"RATE=" + pick(scale, "100", "400"), "DURATION=" + pick(scale, "5s", "20s"), "JSON_OUT={json}"},
					[]string{"bench/loadgen.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "setup-loadgen-400-nortp",
			target: "400 pairs/s with callers that send no RTP: the signalling's own cost and latency",
			command: func(scale string) ([]string, []string) {
				return []string{"RATE=" + pick(scale, "100", "400"), "DURATION=" + pick(scale, "5s", "20s"), "RTP=false", "JSON_OUT={json}"},
					[]string{"bench/loadgen.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "setup-loadgen",
			target: "1,000 park-then-retrieve pairs/s with RTP from every call, no failed call, INVITE→200 p99 < 10 ms; parkd and the generator each pinned to a core; relay_delay is the audio relayed between the calls of every tenth pair, sent to heard",
			command: func(scale string) ([]string, []string) {
				return []string{"RATE=" + pick(scale, "200", "1000"), "DURATION=" + pick(scale, "5s", "20s"), "JSON_OUT={json}"},
					[]string{"bench/loadgen.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "setup-floor",
			target: "the floor for the 1,000 pairs/s target: bench/setupfloor, the least a server does for the same pairs in one thread, in parkd's place under the same generator (FLOOR=1 bench/loadgen.sh); what this machine gives any server, beside setup-loadgen. It bridges at the 200 rather than the ACK and retransmits nothing, so its INVITE→200 and CPU per pair compare with parkd's, its relay_delay less so",
			command: func(scale string) ([]string, []string) {
				return []string{"FLOOR=1", "RATE=" + pick(scale, "200", "1000"), "DURATION=" + pick(scale, "5s", "20s"), "JSON_OUT={json}"},
					[]string{"bench/loadgen.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "setup-floor-paired",
			target: "parkd and its call-setup floor under the generator at the same moments, both on one core, with RTP (bench/loadgen_pair.sh A=tree B=floor): the floor's CPU per pair over parkd's, and each one's INVITE→200 p99 per round",
			command: func(scale string) ([]string, []string) {
				return []string{"RTP=true", "RATE=" + pick(scale, "100", "500"), "DURATION=" + pick(scale, "5s", "15s"), "JSON_OUT={json}"},
					[]string{"bench/loadgen_pair.sh", pick(scale, "2", "4"), "A=tree", "B=floor"}
			},
			output: jsonFile,
		},
		{
			name:   "setup-paired-pre-blf",
			target: "call setup back to the pre-BLF cost, measured paired: this tree and e2ab7d1 (the commit before BLF) under the Go load generator at the same time, both daemons on one core (bench/loadgen_pair.sh); CPU per park-then-retrieve pair, this tree's over e2ab7d1's, median of the rounds",
			command: func(scale string) ([]string, []string) {
				return []string{"MINIMAL_A=1", "DURATION=" + pick(scale, "5s", "15s"), "JSON_OUT={json}"},
					[]string{"bench/loadgen_pair.sh", pick(scale, "2", "6"), "A=git:e2ab7d1", "B=tree"}
			},
			output: jsonFile,
		},
		{
			name:   "moh-floor",
			target: "music on hold at the kernel's floor: parkd's MOH CPU / the floor program's at 2,000 callers ≤ 1.1; every sampled caller ≥ 49 packets/s with jitter p99 < 2 ms (kernel receive timestamps)",
			command: func(scale string) ([]string, []string) {
				return nil, []string{"go", "run", "./bench/moh", "-n", pick(scale, "500", "2000"), "-d", pick(scale, "3s", "10s"),
					"-reps", pick(scale, "1", "3"), "-json", "{json}"}
			},
			output: jsonFile,
		},
		{
			name:   "moh-floor-paired",
			target: "the same ratio (≤ 1.1 at 2,000 callers) with parkd's music and the floor measured at the same moments in two processes (bench/moh_pair.sh): the shared machine's noise costs both alike, where moh-floor's alternating windows differ by more than the target leaves",
			command: func(scale string) ([]string, []string) {
				return []string{"N=" + pick(scale, "500", "2000"), "D=" + pick(scale, "3s", "15s"),
					"REPS=" + pick(scale, "2", "4"), "JSON_OUT={json}"}, []string{"bench/moh_pair.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "moh-5000",
			target: "5,000 parked calls: floor and parkd side by side, pacing at the receivers",
			command: func(scale string) ([]string, []string) {
				return nil, []string{"go", "run", "./bench/moh", "-n", pick(scale, "1000", "5000"), "-d", pick(scale, "3s", "10s"),
					"-reps", "1", "-rtp-ports", "10000-31999", "-json", "{json}"}
			},
			output: jsonFile,
		},
		{
			name:   "relay-floor",
			target: "the RTP relay against the kernel's floor (no issue target of its own): a bridged call's share of the 1,000 pairs/s target; parkd's relay CPU / the floor's, relay and phones each pinned to a core",
			command: func(scale string) ([]string, []string) {
				return nil, []string{"go", "run", "./bench/relay", "-n", pick(scale, "200", "500"), "-d", pick(scale, "3s", "6s"),
					"-reps", pick(scale, "1", "3"), "-json", "{json}"}
			},
			output: jsonFile,
		},
		{
			name:   "relay-floor-paired",
			target: "the relay against its floor as relay-floor, with the two measured at the same moments in two processes (TOOL=relay bench/moh_pair.sh)",
			command: func(scale string) ([]string, []string) {
				return []string{"TOOL=relay", "N=" + pick(scale, "200", "300"), "D=" + pick(scale, "3s", "10s"),
					"REPS=" + pick(scale, "2", "4"), "JSON_OUT={json}"}, []string{"bench/moh_pair.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "blf-fanout",
			target: "1,000 subscriptions to one slot: behind one default-buffer socket (last NOTIFY < 50 ms, no retransmission), on 1,000 sockets (< 15 ms), and on 4 large-buffer sockets",
			command: func(scale string) ([]string, []string) {
				return nil, []string{"go", "test", "-run", "^$", "-bench", "BLFFanout1000(OneSocket|Sockets)?$", "-benchtime", pick(scale, "20x", "60x"), "./parkd/"}
			},
			output: goBench,
		},
		{
			name:   "blf-watchers-pinned",
			target: "1,000 separate watchers in a process of their own (bench/blfwatch) pinned to one core, parkd to the other: last NOTIFY < 15 ms, none retransmitted",
			command: func(scale string) ([]string, []string) {
				return []string{"CHANGES=" + pick(scale, "40", "120"), "JSON_OUT={json}"}, []string{"bench/blfwatch.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "blf-watchers-floor",
			target: "the kernel's floor for blf-watchers-pinned: bench/blffloor in parkd's place (the same NOTIFYs and sendmmsg batches, no transactions), run right after it; parkd's last-NOTIFY times over these are the fan-out's ratio to the floor",
			command: func(scale string) ([]string, []string) {
				return []string{"FLOOR=1", "CHANGES=" + pick(scale, "40", "120"), "JSON_OUT={json}"}, []string{"bench/blfwatch.sh"}
			},
			output: jsonFile,
		},
		{
			name:   "allocs",
			target: "0 allocations per packet (relay, MOH fan-out) and per NOTIFY body render",
			command: func(string) ([]string, []string) {
				return nil, []string{"go", "test", "-run", "^$", "-bench", "^Benchmark(Relay|MOHTick|BLFRender|DialogInfoAppend|NotifyWire)", "-benchmem",
					"./sipcore/media/", "./parkd/", "./sipcore/presence/", "./sipcore/"}
			},
			output: goBench,
		},
	}
}

// run runs the scenario's command in the repository and reads its figures.
// Its output goes to a log file named in the result's notes.
func (sc scenario) run(ctx context.Context, root, scale string) result {
	env, argv := sc.command(scale)
	work, err := os.MkdirTemp("", "parkd-bench-"+sc.name+"-")
	if err != nil {
		return result{Name: sc.name, Target: sc.target, Error: err.Error()}
	}
	jsonPath := filepath.Join(work, "figures.json")
	fill := func(s string) string { return strings.ReplaceAll(s, "{json}", jsonPath) }
	for i := range env {
		env[i] = fill(env[i])
	}
	for i := range argv {
		argv[i] = fill(argv[i])
	}
	r := result{Name: sc.name, Target: sc.target, Command: strings.TrimSpace(strings.Join(env, " ") + " " + strings.Join(argv, " "))}
	logPath := filepath.Join(work, "output.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer logFile.Close()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.MultiWriter(&stdout, logFile) // parsed, and kept in the log
	cmd.Stderr = logFile
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	r.Seconds = time.Since(start).Seconds()
	r.Notes = map[string]string{"log": logPath}

	switch sc.output {
	case goBench:
		r.Metrics = parseGoBench(stdout.String())
	case jsonFile:
		r.Metrics, err = readFigures(jsonPath, r.Notes)
		if err != nil && runErr == nil {
			runErr = err
		}
	}
	if len(r.Metrics) == 0 && runErr == nil {
		runErr = fmt.Errorf("no figures in the output")
	}
	r.OK = runErr == nil
	if runErr != nil {
		r.Error = runErr.Error()
	}
	return r
}

// readFigures reads a command's JSON object: numbers become metrics and
// anything else a note; nested objects are flattened with dots.
func readFigures(path string, notes map[string]string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the figures: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	metrics := map[string]float64{}
	flatten("", obj, metrics, notes)
	return metrics, nil
}

func flatten(prefix string, obj map[string]any, metrics map[string]float64, notes map[string]string) {
	for k, v := range obj {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		switch v := v.(type) {
		case float64:
			metrics[key] = v
		case bool:
			metrics[key] = map[bool]float64{false: 0, true: 1}[v]
		case map[string]any:
			flatten(key, v, metrics, notes)
		case []any:
			// A list (a paired run's rounds or windows) stays JSON in its
			// note, not Go's map[...] print of it.
			b, err := json.Marshal(v)
			if err != nil {
				notes[key] = fmt.Sprint(v)
				continue
			}
			notes[key] = string(b)
		default:
			notes[key] = fmt.Sprint(v)
		}
	}
}
