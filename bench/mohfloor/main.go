// Command mohfloor measures music on hold against the floor the kernel
// sets (issue 14, items 1 and 2).
//
// The floor does nothing but MOH's unavoidable work: N connected UDP
// sockets, each sending one 172-byte packet every 20 ms to its own
// receiver socket, from one sender goroutine per CPU. "moh" runs parkd's
// real media plane instead: N media.Sessions from the real port allocator,
// each latched to its own receiver socket, fed by one media.Source. Every
// receiver but a sample never reads (the kernel drops what overflows); the
// sampled ones read with kernel receive timestamps (SO_TIMESTAMPNS), which
// give each stream's packets/s and inter-arrival jitter as the phone would
// see them, not as the sender thinks it sent them.
//
// "both" runs the floor, then parkd's MOH, in one process and one run, and
// prints the CPU ratio moh/floor: the figure to compare on a noisy box.
//
//	go run ./bench/mohfloor -n 2000 -d 20s             # the floor alone
//	go run ./bench/mohfloor -mode both -n 2000 -d 20s  # floor, MOH, ratio
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 2000, "listeners (sockets sending 50 packets/s each)")
	d := flag.Duration("d", 20*time.Second, "measurement window per mode")
	warm := flag.Duration("warmup", 2*time.Second, "time running before the window opens")
	sample := flag.Int("sample", 50, "receivers that read with kernel timestamps")
	mode := flag.String("mode", "floor", "floor, moh or both (floor then moh, same run)")
	unconnected := flag.Bool("unconnected", false, "floor: sendto on unconnected sockets instead of write on connected ones")
	ports := flag.String("rtp-ports", "20000-39999", "moh: the allocator's port range on 127.0.0.1")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mohfloor:", err)
			os.Exit(2)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "mohfloor:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}

	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(2**n+100) {
		fmt.Fprintf(os.Stderr, "mohfloor: needs %d open files, ulimit -n is %d\n", 2**n+100, rl.Cur)
		os.Exit(2)
	}
	fmt.Printf("mohfloor: n=%d window=%v sample=%d GOMAXPROCS=%d\n", *n, *d, *sample, runtime.GOMAXPROCS(0))

	run := func(name string, start func(ctx context.Context, r *rig) error) *result {
		r, err := newRig(*n, *sample)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mohfloor:", err)
			os.Exit(1)
		}
		defer r.close()
		res, err := r.measure(name, *warm, *d, start)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mohfloor:", err)
			os.Exit(1)
		}
		res.print()
		return res
	}
	floor := func(ctx context.Context, r *rig) error { return runFloor(ctx, r, !*unconnected) }
	moh := func(ctx context.Context, r *rig) error { return runMOH(ctx, r, *ports) }

	switch *mode {
	case "floor":
		run("floor", floor)
	case "moh":
		run("moh", moh)
	case "both":
		f := run("floor", floor)
		m := run("moh", moh)
		fmt.Printf("ratio moh/floor: CPU %.2f (moh %.1f %% of a core, floor %.1f %%), CPU per packet %.2f (moh %.2f µs, floor %.2f µs)\n",
			m.cpuPct/f.cpuPct, m.cpuPct, f.cpuPct, m.cpuPerPacket()/f.cpuPerPacket(), m.cpuPerPacket(), f.cpuPerPacket())
	default:
		fmt.Fprintln(os.Stderr, "mohfloor: -mode is floor, moh or both")
		os.Exit(2)
	}
}
