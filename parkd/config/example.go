package config

import (
	"encoding/json"
	"strings"
)

// ExampleConfig is `parkd config example`: every key of the config file at
// its default value, with what it means and the values it takes. A test
// reads it back and compares it with DefaultConfig, and another checks it
// names every key the structs have, so neither can drift from the other.
// Only data depends on the machine (the XDG state directory).
func ExampleConfig() string {
	data, _ := json.Marshal(DefaultDataDir()) // a JSON string is a YAML string
	return strings.Replace(exampleConfig, "{{data}}", string(data), 1)
}

const exampleConfig = `# parkd config: every key at its default. Keys left out keep these values;
# unknown keys are errors. Check a file with: parkd config check FILE
sip:
  listen: ["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"]  # udp://HOST:PORT or tcp://HOST:PORT, repeatable
  advertise: ""                  # host or IP put in SDP and Contact (behind NAT); "" = the listen address
  outbound_proxy: ""             # where recall INVITEs go: a sip: URI or host:port; "" = straight to the phone
  allow: ["127.0.0.0/8"]         # CIDRs (a bare IP is /32 or /128) that may send requests; others get 403
  parker_headers: []             # tried after Referred-By to learn the parker, e.g. [Diversion, History-Info, X-Parker]
  recall_alert_info: "<urn:alert:service:recall:transfer>"  # Alert-Info of recall INVITEs; "" sends none
  trusted: []                    # the PBXs' networks (CIDRs): no digest challenge, full BLF detail
  auth:                          # digest auth of INVITE/SUBSCRIBE from untrusted sources; on when users exist
    realm: parkd                 # the digest realm; "" = parkd
    users: []                    # [{name: "201", ha1: MD5(name:realm:password), ha1_sha256: SHA-256 of it}]
    users_file: ""               # more users, htdigest lines name:realm:ha1 (a 64-digit ha1 is SHA-256)
    nonce_lifetime: 5m           # 10s–24h: older nonces are answered stale=true
  tcp:                           # what SIP over TCP may cost
    max_connections: 10000       # open connections in all; more are closed at accept
    max_per_source: 200          # open connections from one IP address
    idle_timeout: 5m             # at least 10s: a connection with no dialog or subscription closes after this long silent
    message_timeout: 10s         # 1s–10m: a message must arrive whole within this long of its first byte
  rate_limit:                    # a token bucket per source IP; past it 503 with Retry-After
    per_source: 200/s            # N/s, N/m or N/h; "0" turns the limit off
    burst: 400                   # requests a source may send at once
  max_transactions: 10000        # server transactions alive at once; past it 503
  max_pending_invites: 200       # new INVITEs not yet answered; past it 503 at once (parkd is behind)
rtp:                             # the audio of parked calls, music on hold and prompts
  address: 127.0.0.1             # the address RTP sockets bind to
  ports: "20000-20999"           # LOW-HIGH: the UDP ports for RTP
  timeout: 60s                   # 0 (off) or at least 5s: no RTP for this long ends a call
  latch: signalling              # whose RTP a call accepts: sdp | signalling | any (never any on untrusted networks)
  max_relay_delay: 100ms         # 0 or 20ms-10s: bridged audio that waited in parkd longer is not relayed (key presses are); 0 relays all
api:                             # the HTTP API of the console, parkd ctl and scripts
  listen: "127.0.0.1:7080"       # HOST:PORT of the HTTP API; "" turns it off
  tls:                           # serve HTTPS, for a console on another machine: both files or neither
    cert: ""                     # PEM certificate file
    key: ""                      # PEM private key file
blf:                             # BLF subscriptions (SUBSCRIBE Event: dialog / presence)
  min_expires: 1m                # at least 1s: shorter SUBSCRIBEs get 423 Interval Too Brief
  max_expires: 1h                # up to 24h: longer ones are granted this
  default_expires: 1h            # when a SUBSCRIBE has no Expires
  max_per_source: 500            # subscriptions from one IP address; past it 503 with Retry-After
  max_total: 50000               # subscriptions in all
  notify_timeout: 32s            # 500ms–5m: an unanswered NOTIFY ends its subscription
data: {{data}}  # SQLite store, overrides, history, API token; default $XDG_STATE_HOME/parkd, else ~/.local/state/parkd
moh: builtin                     # music on hold: builtin or an 8 kHz WAV (16-bit PCM, µ-law or A-law; other PCM rates are resampled)
ring_groups: {}                  # named groups of SIP URIs for /api/call_park, e.g. {front: ["sip:201@pbx"]}
defaults:                        # the recall policy of every slot; lots and slots override it key by key
  recall_after: 45s              # 5s–1h: a parked call this old is recalled
  ring_parker_for: 30s           # 5s–10m: how long the parker's phone rings on a recall
  recall_to: parker_then_group   # parker_only | parker_then_group | group_only
  ring_group: []                 # SIP URIs rung together (required for group_only)
  ring_group_for: 30s            # 5s–10m: how long the group rings; also the ring time of forward_to
  on_failure: repark             # after an unanswered recall: repark | hangup | forward
  forward_to: ""                 # SIP URI, required for on_failure: forward
  max_recalls: 3                 # 0–20: recalls before on_failure; 0 never recalls
  presence_type: early           # how an occupied slot shows on BLF: early | confirmed | terminated
  presence_id: ""                # also publish slots under this entity (Kazoo's presence_id); "" = none
  moh: ""                        # a WAV for calls parked under this policy; "" = the global moh
lots:                            # listing lots replaces the default lot; a listed lot must give name, extension and slots
  - name: main                   # the lot's name, unique
    extension: "700"             # dial string [0-9*#]{1,64}: parks here
    retrieve_extension: "*700"   # dial string that retrieves from this lot; "" = none
    slots: "701-720"             # FIRST-LAST, same digit count, at most 1000 slots
    find_slot: first             # first | next: which free slot a park takes
    slot_action: auto            # dialling a slot: park | direct_park | retrieve | auto
    when_full: reject            # reject (486) | overflow:<lot name> | forward:<sip uri> (302)
    transfer_to_occupied: reject # a transfer to a busy slot: reject (486) | next_free
    attendant_extension: "0"     # dial string or SIP URI: calls here wait in the attendant queue; "" = none
    operator: ""                 # the receptionist's phone URI (retrieve/transfer default); "" = none
    answer_delay: 0s             # 0–30s: ring (180) this long before answering a park
    queue_max: 20                # 1–1000: calls the attendant queue holds; more get 486
    queue_timeout: 10m           # up to 24h: how long a call may wait in the queue; 0s = for ever
    queue_overflow: hangup       # when queue_timeout runs out: hangup | forward:<sip uri>
    retrieve_allow: []           # who may retrieve or pick up: users, or URI patterns like "sip:2*@pbx"; [] = anyone allowed in
    notify_parker: message       # message | none: after a blind transfer, a SIP MESSAGE tells the parker the slot
    announce_slot: true          # a call that parks itself hears "parked on seven zero one"
    attended_timeout: 15s        # 1s–5m: how long an attended park waits for the Replaces INVITE
    empty_slot: reject           # dialling an empty slot: reject (404) | prompt ("no call parked here", then BYE)
    recall_prompt: true          # the parked caller hears "your call is being returned" as a recall starts
    courtesy_tone: false         # a beep to whoever picks a call up, before the bridge
    park_dtmf: ""                # e.g. "#72": in a bridged call, parks the other party; "" = off
    prompts: {}                  # replace a prompt with a WAV, e.g. {parked_on: /srv/parked.wav}
    policy: {}                   # this lot's recall policy: the keys of defaults, each inheriting when left out
    slot_policies: {}            # per slot, the keys of defaults, e.g. {"701": {recall_after: 10s}}
    kazoo: {}                    # a Kazoo park data object, verbatim (Kazoo's keys and units)
`
