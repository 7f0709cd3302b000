// Package proccpu reads how much CPU a process has used, for the
// benchmark programs that report the daemon's CPU beside their own figures.
package proccpu

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// Of is the user+system time of process pid from /proc/PID/stat; ok is
// false for a pid of 0 or one that cannot be read.
func Of(pid int) (cpu time.Duration, ok bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseStat(string(b))
}

// parseStat reads utime and stime from a /proc/PID/stat line.
func parseStat(s string) (time.Duration, bool) {
	// Fields after the command name, which is in parentheses and may hold
	// spaces and parentheses of its own.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / 100, true // CLK_TCK is 100 on Linux
}
