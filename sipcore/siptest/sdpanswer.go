package siptest

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// answer reads an SDP offer and returns the phone's answer: the first
// offered codec it knows (PCMU or PCMA) with the offer's payload type,
// telephone-event if offered, and the direction mirroring the offer's.
func (r *RTP) answer(offer []byte) ([]byte, error) {
	var desc sdp.SessionDescription
	if err := desc.Unmarshal(offer); err != nil {
		return nil, err
	}
	for _, md := range desc.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 {
			continue
		}
		ci := md.ConnectionInformation
		if ci == nil {
			ci = desc.ConnectionInformation
		}
		if ci == nil || ci.Address == nil {
			return nil, errors.New("no c= line")
		}
		names := map[string]string{"0": "PCMU", "8": "PCMA"}
		for _, a := range md.Attributes {
			if f := strings.Fields(a.Value); a.Key == "rtpmap" && len(f) == 2 {
				names[f[0]] = strings.ToUpper(strings.Split(f[1], "/")[0])
			}
		}
		audio, event := "", ""
		for _, f := range md.MediaName.Formats {
			switch names[f] {
			case "PCMU", "PCMA":
				if audio == "" {
					audio = f
				}
			case "TELEPHONE-EVENT":
				if event == "" {
					event = f
				}
			}
		}
		if audio == "" {
			return nil, fmt.Errorf("no PCMU or PCMA among %v", md.MediaName.Formats)
		}
		ip, err := netip.ParseAddr(ci.Address.Address)
		if err != nil {
			return nil, err
		}
		audioPT, _ := strconv.Atoi(audio)
		eventPT, _ := strconv.Atoi(event)
		r.mu.Lock()
		r.remote = netip.AddrPortFrom(ip, uint16(md.MediaName.Port.Value))
		r.audioPT, r.codec, r.eventPT = uint8(audioPT), names[audio], uint8(eventPT)
		r.event = event != ""
		r.mu.Unlock()

		fmts := audio
		maps := fmt.Sprintf("a=rtpmap:%s %s/8000\r\n", audio, names[audio])
		if event != "" {
			fmts += " " + event
			maps += fmt.Sprintf("a=rtpmap:%s telephone-event/8000\r\na=fmtp:%s 0-15\r\n", event, event)
		}
		return []byte("v=0\r\n" +
			"o=siptest 1 1 IN IP4 " + r.ip() + "\r\n" +
			"s=siptest\r\n" +
			"c=IN IP4 " + r.ip() + "\r\n" +
			"t=0 0\r\n" +
			fmt.Sprintf("m=audio %d RTP/AVP %s\r\n", r.Port(), fmts) +
			maps +
			"a=ptime:20\r\n" +
			"a=" + answerDirection(md.Attributes, desc.Attributes) + "\r\n"), nil
	}
	return nil, errors.New("no audio stream in the offer")
}

// answerDirection mirrors the offer's direction attribute (media level
// first, then session level).
func answerDirection(media, session []sdp.Attribute) string {
	for _, attrs := range [][]sdp.Attribute{media, session} {
		for _, a := range attrs {
			switch a.Key {
			case "sendonly":
				return "recvonly"
			case "recvonly":
				return "sendonly"
			case "inactive":
				return "inactive"
			case "sendrecv":
				return "sendrecv"
			}
		}
	}
	return "sendrecv"
}
