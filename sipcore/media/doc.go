// Package media is the media plane of parkd: RTP port allocation, RTP
// sessions on UDP sockets, G.711 µ-law/A-law, music on hold (MOH) with
// fan-out, a two-leg relay, and clips (prompts, tones) played once to a
// session with Session.Play. It knows nothing about SIP or parking slots;
// the signalling layer drives it through Allocator, Session, Source, Bridge
// and Play.
//
// Streams are RTP version 2 carrying 20 ms frames of 160 G.711 samples at
// 8 kHz. Every Session owns one outgoing stream (random SSRC, sequence
// number and timestamp) that continues across whatever feeds it, so a
// phone sees one stream from hold music to the bridged call and back, with
// the marker bit at each talkspurt start. Sessions use symmetric RTP: they
// send to where the peer's packets come from, not only to its SDP address,
// but take packets only from the sources SetLatch allows (the SDP IP, and
// by default the IP of the call's signalling); anything else is dropped and
// counted, so a stranger can neither take a call's audio nor talk into it.
//
// Goroutines: no session has one. On Linux the sessions' sockets are
// plain descriptors read by one poller per CPU (its own epoll set, itself
// waited on through Go's poller), which also does each leg's relaying;
// elsewhere each session has a read goroutine. One ticker per Source (plus
// a small fixed worker pool when it has many listeners), and one per Play
// while it lasts. The per-packet
// paths — relay, MOH fan-out and Play — do not allocate; attach/detach
// operations (Add, Remove, Bridge, Unbridge, Play, Close) are serialized
// by one package-level lock that the packet paths never take.
package media
