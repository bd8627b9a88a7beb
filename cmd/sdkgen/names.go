package main

import (
	"strings"
	"unicode"
)

// words splits a name into its words: at every character that is not a letter or a
// digit, and where a lower-case letter or a digit is followed by an upper-case one
// ("request_id", "hlcClamped", "server-wins", "EdDSA" -> "Ed", "DSA").
func words(s string) []string {
	var out []string
	var cur []rune
	runes := []rune(s)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	for i, r := range runes {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && i > 0 && (unicode.IsLower(runes[i-1]) || unicode.IsDigit(runes[i-1])) {
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// typeName is s in UpperCamelCase ("sessionId" -> "SessionId", "server-wins" ->
// "ServerWins").
func typeName(s string) string {
	var b strings.Builder
	for _, w := range words(s) {
		r := []rune(w)
		b.WriteRune(unicode.ToUpper(r[0]))
		b.WriteString(string(r[1:]))
	}
	out := b.String()
	if out == "" || unicode.IsDigit([]rune(out)[0]) {
		out = "T" + out
	}
	return out
}

// memberName is s in lowerCamelCase ("request_id" -> "requestId", "Ed25519" ->
// "ed25519", "OKP" -> "okp"), made safe with suffix when it is one of reserved.
func memberName(s string, reserved map[string]bool, suffix string) string {
	ws := words(s)
	var b strings.Builder
	for i, w := range ws {
		r := []rune(w)
		if i == 0 {
			if allUpper(w) {
				b.WriteString(strings.ToLower(w))
				continue
			}
			b.WriteRune(unicode.ToLower(r[0]))
		} else {
			b.WriteRune(unicode.ToUpper(r[0]))
		}
		b.WriteString(string(r[1:]))
	}
	out := b.String()
	if out == "" || unicode.IsDigit([]rune(out)[0]) {
		out = "v" + out
	}
	if reserved[out] {
		out += suffix
	}
	return out
}

func allUpper(s string) bool {
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
	}
	return true
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// comment formats text as a documentation comment: each line prefixed with prefix
// ("/// "), indented by indent, blank lines kept as a bare prefix.
func comment(text, indent, prefix string) string {
	text = strings.TrimSpace(text)
	if text == "" {
		return ""
	}
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			b.WriteString(indent + strings.TrimRight(prefix, " ") + "\n")
			continue
		}
		b.WriteString(indent + prefix + l + "\n")
	}
	return b.String()
}
