package sipcore

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sync"
	"time"
)

// nonces issues digest nonces that need no state until they are used: a
// nonce is its issue time and an HMAC of that time and the client's IP
// under a secret made at start. A nonce is thus valid only from the
// address it was sent to, only until nonceLifetime, and only until parkd
// restarts. What is kept per nonce is the highest nc seen, so a captured
// request cannot be replayed; that memory is bounded (see use).
type nonces struct {
	secret   [32]byte
	lifetime time.Duration
	now      func() time.Time

	mu    sync.Mutex
	used  map[string]*list.Element // nonce → its usedNonce in order
	order *list.List               // usedNonce, in the order first used
	floor int64                    // nonces issued at or before this may have been forgotten
	max   int
}

type usedNonce struct {
	nonce  string
	issued int64 // unix nanoseconds
	nc     uint32
}

// maxUsedNonces bounds the replay memory: 64k phones each using a nonce
// at once, about 8 MiB. Only requests with correct credentials get in.
const maxUsedNonces = 1 << 16

const (
	nonceTimeLen = 8
	nonceMACLen  = 16
)

func newNonces(lifetime time.Duration) *nonces {
	n := &nonces{lifetime: lifetime, now: time.Now, used: map[string]*list.Element{}, order: list.New(), max: maxUsedNonces}
	if _, err := rand.Read(n.secret[:]); err != nil {
		panic("sipcore: no randomness for digest nonces: " + err.Error())
	}
	return n
}

func (n *nonces) mac(issued []byte, ip string) []byte {
	m := hmac.New(sha256.New, n.secret[:])
	m.Write(issued)
	m.Write([]byte(ip))
	return m.Sum(nil)[:nonceMACLen]
}

// issue makes a nonce for a client at ip.
func (n *nonces) issue(ip string) string {
	var raw [nonceTimeLen + nonceMACLen]byte
	binary.BigEndian.PutUint64(raw[:nonceTimeLen], uint64(n.now().UnixNano()))
	copy(raw[nonceTimeLen:], n.mac(raw[:nonceTimeLen], ip))
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// nonceVerdict is what a nonce is worth.
type nonceVerdict int

const (
	nonceValid   nonceVerdict = iota
	nonceStale                // ours but expired, forgotten, or its nc was seen before
	nonceForeign              // not made by this parkd for this IP: an older boot's, or forged
)

// check verifies that nonce is ours, for ip, and young enough; it
// returns its issue time for use.
func (n *nonces) check(nonce, ip string) (int64, nonceVerdict) {
	if base64.RawURLEncoding.DecodedLen(len(nonce)) != nonceTimeLen+nonceMACLen {
		return 0, nonceForeign
	}
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != nonceTimeLen+nonceMACLen {
		return 0, nonceForeign
	}
	if !hmac.Equal(raw[nonceTimeLen:], n.mac(raw[:nonceTimeLen], ip)) {
		return 0, nonceForeign
	}
	issued := int64(binary.BigEndian.Uint64(raw[:nonceTimeLen]))
	age := n.now().Sub(time.Unix(0, issued))
	if age > n.lifetime || age < -time.Minute {
		return issued, nonceStale
	}
	return issued, nonceValid
}

// use records nc for a valid nonce whose credentials were right; false
// means the request is a replay (nc not above the last one seen) or the
// nonce was forgotten to bound memory, and the client must take a new one.
func (n *nonces) use(nonce string, issued int64, nc uint32) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.expireLocked()
	if e, ok := n.used[nonce]; ok {
		u := e.Value.(*usedNonce)
		if nc <= u.nc {
			return false
		}
		u.nc = nc
		return true
	}
	if issued <= n.floor {
		return false // possibly used and forgotten: its nc history is gone
	}
	n.used[nonce] = n.order.PushBack(&usedNonce{nonce: nonce, issued: issued, nc: nc})
	for len(n.used) > n.max {
		oldest := n.order.Remove(n.order.Front()).(*usedNonce)
		delete(n.used, oldest.nonce)
		n.floor = max(n.floor, oldest.issued)
	}
	return true
}

// expireLocked forgets nonces that check already refuses as too old.
func (n *nonces) expireLocked() {
	cutoff := n.now().Add(-n.lifetime).UnixNano()
	for e := n.order.Front(); e != nil; e = n.order.Front() {
		u := e.Value.(*usedNonce)
		if u.issued >= cutoff {
			return
		}
		n.order.Remove(e)
		delete(n.used, u.nonce)
	}
}
