//go:build !linux

package media

import "log/slog"

// sendBatch elsewhere never batches: each packet is sent at once
// (sendbatch_linux.go batches through io_uring).
type sendBatch struct {
	slot []byte
}

func newSendBatch(_ *slog.Logger, slotLen int) *sendBatch {
	return &sendBatch{slot: make([]byte, slotLen)}
}

func (b *sendBatch) close()                                        {}
func (b *sendBatch) next() []byte                                  { return b.slot }
func (b *sendBatch) full() bool                                    { return false }
func (b *sendBatch) add(*Session, uint64, *peerState, []byte) bool { return false }
func (b *sendBatch) flush()                                        {}

// waitForBatches has nothing to wait for: nothing is batched here.
func waitForBatches() {}
