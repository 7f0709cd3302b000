package sipcore

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/parkd/parkd/sipcore/media"
	"github.com/pion/sdp/v3"
)

// Direction is an SDP media direction attribute (RFC 3264 §5.1).
type Direction string

const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// Reverse is the direction an answerer uses for an offered direction.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// PeerSends reports whether the peer declared it will send media.
func (d Direction) PeerSends() bool { return d == SendRecv || d == SendOnly }

// PeerReceives reports whether the peer declared it wants our media.
func (d Direction) PeerReceives() bool { return d == SendRecv || d == RecvOnly }

// ErrNoCommonCodec means the offer has no audio stream in PCMU or PCMA:
// the INVITE is answered 488.
var ErrNoCommonCodec = errors.New("no common codec: parkd speaks PCMU and PCMA over RTP/AVP")

// Offer is what parkd needs from a peer's SDP.
type Offer struct {
	Remote    netip.AddrPort // where the peer wants RTP; zero address means on hold (c=0.0.0.0)
	Format    media.Format
	Direction Direction
	// mediaLines keeps every m= line so the answer mirrors them (RFC 3264 §6).
	mediaLines []sdp.MediaName
	audioIndex int
}

// ParseOffer reads an SDP offer (or answer) and picks the first audio codec
// the peer lists that parkd supports, honouring the peer's order.
func ParseOffer(body []byte) (*Offer, error) {
	var desc sdp.SessionDescription
	if err := desc.Unmarshal(body); err != nil {
		return nil, fmt.Errorf("malformed SDP: %w", err)
	}
	if len(desc.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("SDP has no media line: %w", ErrNoCommonCodec)
	}
	offer := &Offer{audioIndex: -1}
	for i, md := range desc.MediaDescriptions {
		offer.mediaLines = append(offer.mediaLines, md.MediaName)
		if offer.audioIndex >= 0 || !usableAudio(md) {
			continue
		}
		format, ok := pickFormat(md)
		if !ok {
			continue
		}
		addr, err := connectionAddress(&desc, md)
		if err != nil {
			return nil, err
		}
		offer.audioIndex = i
		offer.Format = format
		offer.Remote = netip.AddrPortFrom(addr, uint16(md.MediaName.Port.Value))
		offer.Direction = direction(&desc, md)
	}
	if offer.audioIndex < 0 {
		return nil, ErrNoCommonCodec
	}
	return offer, nil
}

func usableAudio(md *sdp.MediaDescription) bool {
	if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
		return false
	}
	return strings.Join(md.MediaName.Protos, "/") == "RTP/AVP"
}

// pickFormat walks the m= format list in the peer's preference order.
func pickFormat(md *sdp.MediaDescription) (media.Format, bool) {
	rtpmaps := map[string]string{}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, encoding, ok := strings.Cut(a.Value, " ")
		if ok {
			rtpmaps[pt] = strings.ToLower(strings.TrimSpace(encoding))
		}
	}
	var format media.Format
	found := false
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			continue
		}
		encoding, mapped := rtpmaps[f]
		switch {
		case encoding == "telephone-event/8000":
			if format.EventPT == 0 {
				format.EventPT = uint8(pt)
			}
		case found:
		case encoding == "pcmu/8000" || (!mapped && pt == 0):
			format.Codec, format.AudioPT, found = media.PCMU, uint8(pt), true
		case encoding == "pcma/8000" || (!mapped && pt == 8):
			format.Codec, format.AudioPT, found = media.PCMA, uint8(pt), true
		}
	}
	return format, found
}

func connectionAddress(desc *sdp.SessionDescription, md *sdp.MediaDescription) (netip.Addr, error) {
	ci := md.ConnectionInformation
	if ci == nil {
		ci = desc.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return netip.Addr{}, errors.New("malformed SDP: no connection address (c=) for audio")
	}
	if ci.NetworkType != "IN" || (ci.AddressType != "IP4" && ci.AddressType != "IP6") {
		return netip.Addr{}, fmt.Errorf("malformed SDP: unsupported connection %q", ci.String())
	}
	addr, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("malformed SDP: connection address %q is not an IP address", ci.Address.Address)
	}
	return addr, nil
}

func direction(desc *sdp.SessionDescription, md *sdp.MediaDescription) Direction {
	for _, attrs := range [][]sdp.Attribute{md.Attributes, desc.Attributes} {
		for _, a := range attrs {
			switch d := Direction(a.Key); d {
			case SendRecv, SendOnly, RecvOnly, Inactive:
				return d
			}
		}
	}
	return SendRecv
}

// OnHold reports whether the peer asked us not to send (RFC 3264 §8.4, and
// the older c=0.0.0.0 form from RFC 2543).
func (o *Offer) OnHold() bool {
	return !o.Direction.PeerReceives() || o.Remote.Addr().IsUnspecified()
}

// LocalDescription is parkd's side of one call's SDP session.
type LocalDescription struct {
	SessionID uint64
	Version   uint64
	Address   netip.Addr // advertised RTP address
	Port      uint16
}

// Answer builds our answer to offer: the chosen codec and telephone-event,
// the reverse direction, and every other m= line rejected with port 0.
func (l *LocalDescription) Answer(offer *Offer) ([]byte, error) {
	desc := l.session()
	for i, mn := range offer.mediaLines {
		if i != offer.audioIndex {
			desc.MediaDescriptions = append(desc.MediaDescriptions, &sdp.MediaDescription{
				MediaName: sdp.MediaName{Media: mn.Media, Port: sdp.RangedPort{Value: 0}, Protos: mn.Protos, Formats: mn.Formats},
			})
			continue
		}
		desc.MediaDescriptions = append(desc.MediaDescriptions, l.audio(offer.Format, offer.Direction.Reverse()))
	}
	return desc.Marshal()
}

// Offer builds an offer of PCMU, PCMA and telephone-event, used when an
// INVITE arrives without SDP (late offer) and for calls parkd originates.
func (l *LocalDescription) Offer() ([]byte, error) {
	desc := l.session()
	md := l.audio(media.Format{Codec: media.PCMU, AudioPT: 0, EventPT: 101}, SendRecv)
	md.MediaName.Formats = []string{"0", "8", "101"}
	md.Attributes = append([]sdp.Attribute{
		sdp.NewAttribute("rtpmap", "0 PCMU/8000"),
		sdp.NewAttribute("rtpmap", "8 PCMA/8000"),
	}, md.Attributes[1:]...)
	desc.MediaDescriptions = []*sdp.MediaDescription{md}
	return desc.Marshal()
}

func (l *LocalDescription) session() *sdp.SessionDescription {
	addrType := "IP4"
	if l.Address.Is6() && !l.Address.Is4In6() {
		addrType = "IP6"
	}
	addr := l.Address.Unmap().String()
	return &sdp.SessionDescription{
		Version: 0,
		Origin: sdp.Origin{
			Username: "parkd", SessionID: l.SessionID, SessionVersion: l.Version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: addr,
		},
		SessionName: "parkd",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: addr},
		},
		TimeDescriptions: []sdp.TimeDescription{{Timing: sdp.Timing{StartTime: 0, StopTime: 0}}},
	}
}

func (l *LocalDescription) audio(f media.Format, dir Direction) *sdp.MediaDescription {
	formats := []string{strconv.Itoa(int(f.AudioPT))}
	attrs := []sdp.Attribute{sdp.NewAttribute("rtpmap", fmt.Sprintf("%d %s/8000", f.AudioPT, f.Codec))}
	if f.EventPT != 0 {
		ev := strconv.Itoa(int(f.EventPT))
		formats = append(formats, ev)
		attrs = append(attrs,
			sdp.NewAttribute("rtpmap", ev+" telephone-event/8000"),
			sdp.NewAttribute("fmtp", ev+" 0-16"))
	}
	attrs = append(attrs, sdp.NewAttribute("ptime", "20"), sdp.NewPropertyAttribute(string(dir)))
	return &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media: "audio", Port: sdp.RangedPort{Value: int(l.Port)},
			Protos: []string{"RTP", "AVP"}, Formats: formats,
		},
		Attributes: attrs,
	}
}
