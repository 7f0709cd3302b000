package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Key paths name one value of the file in errors and provenance:
// "lots[0].slot_policies.701.recall_after", "sip.listen[1]".

// LotKey is the key path of lots[i].
func LotKey(i int) string { return fmt.Sprintf("lots[%d]", i) }

// mapKey adds a map key to a path: plain keys (slot numbers) as ".701",
// anything odd quoted so the path stays unambiguous.
func mapKey(path, key string) string {
	if key != "" && strings.IndexFunc(key, func(r rune) bool {
		return !(r < utf8.RuneSelf && (isAlnum(byte(r)) || strings.ContainsRune("_-*#+", r)))
	}) < 0 {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// JoinKey builds a key path; an empty prefix leaves the bare key.
func JoinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
