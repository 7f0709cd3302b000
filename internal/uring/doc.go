// Package uring hands the kernel a batch of datagram sends and reads,
// each on its own socket, with one io_uring_enter(2): parkd's music,
// announcements and relay (sipcore/media), and bench/moh's floor that
// does the same. A batch is prepared slot by slot (PrepSend, PrepSendmsg,
// PrepRecvmsg), and Submit returns once every operation is complete,
// each one's result stored under its tag. Only Linux has it; elsewhere,
// and where the kernel refuses, New fails with ErrUnusable and callers
// make one system call per datagram.
package uring
