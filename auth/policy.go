package auth

import (
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tideline-dev/tideline"
	"github.com/trustelem/zxcvbn/frequency"
)

// MaxPasswordBytes bounds passwords: long enough for any passphrase, short enough that a
// hostile client cannot make hashing expensive.
const MaxPasswordBytes = 1024

// commonPasswords is the set of frequently used passwords (from leaked password lists, as
// shipped with zxcvbn), lower-cased.
var commonPasswords = sync.OnceValue(func() map[string]bool {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]bool, len(list))
	for _, p := range list {
		set[strings.ToLower(p)] = true
	}
	return set
})

// checkPassword applies the password policy: at least minLength characters, at most
// MaxPasswordBytes bytes, valid UTF-8, not a commonly used password and not the email.
func checkPassword(password, email string, minLength int) error {
	reason := ""
	switch {
	case !utf8.ValidString(password):
		reason = "must be valid UTF-8"
	case utf8.RuneCountInString(password) < minLength:
		reason = "must be at least " + strconv.Itoa(minLength) + " characters"
	case len(password) > MaxPasswordBytes:
		reason = "must be at most " + strconv.Itoa(MaxPasswordBytes) + " bytes"
	case commonPasswords()[strings.ToLower(password)]:
		reason = "is too common: it appears in lists of leaked passwords"
	case email != "" && (strings.EqualFold(password, email) || strings.EqualFold(password, strings.Split(email, "@")[0])):
		reason = "must not be your email address"
	}
	if reason == "" {
		return nil
	}
	return &tideline.Error{Code: tideline.CodeWeakPassword, Message: "The password " + reason + ".", Fields: map[string]string{"password": reason}}
}

// NormalizeEmail returns the canonical form of an email address (trimmed, lower-case) or
// an invalid error naming the field. Only a bare address is accepted: no display name, no
// comments, at most 254 bytes.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	bad := func(reason string) error {
		return &tideline.Error{Code: tideline.CodeInvalid, Message: "The email address " + reason + ".", Fields: map[string]string{"email": reason}}
	}
	if e == "" {
		return "", bad("is required")
	}
	if len(e) > 254 || !utf8.ValidString(e) {
		return "", bad("is too long or not valid UTF-8")
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", bad("is not a valid address")
	}
	local, domain, _ := strings.Cut(e, "@")
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.ContainsAny(e, "\x00\r\n ") {
		return "", bad("is not a valid address")
	}
	return e, nil
}
