//go:build !linux

package uring

import (
	"errors"

	"golang.org/x/sys/unix"
)

// ErrUnusable is what New returns where io_uring cannot serve: the
// caller sends and reads one system call per datagram instead.
var ErrUnusable = errors.New("io_uring cannot move datagrams here")

// Ring exists only on Linux; New never returns one elsewhere.
type Ring struct{}

// New fails: io_uring is Linux's.
func New(uint32) (*Ring, error) { return nil, ErrUnusable }

func (r *Ring) Close()                                            {}
func (r *Ring) PrepSend(slot, tag int, fd int, b []byte)          {}
func (r *Ring) PrepSendmsg(slot, tag int, fd int, m *unix.Msghdr) {}
func (r *Ring) PrepRecvmsg(slot, tag int, fd int, m *unix.Msghdr) {}
func (r *Ring) Submit(n int, res []int32) error                   { return ErrUnusable }

// Err turns a completion's negative result into its error.
func Err(res int32) error {
	if res >= 0 {
		return nil
	}
	return errors.New("io_uring: operation failed")
}
