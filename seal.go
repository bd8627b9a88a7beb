package tideline

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// MasterKeySize is the length of a master key: AES-256.
const MasterKeySize = 32

// A MasterKey encrypts the secrets a store keeps (private signing keys, server secrets).
type MasterKey struct {
	id  [4]byte // the first bytes of SHA-256 of the key: names it without revealing it
	key [MasterKeySize]byte
}

// NewMasterKey makes a random master key.
func NewMasterKey() MasterKey {
	var raw [MasterKeySize]byte
	_, _ = rand.Read(raw[:])
	k, _ := masterKeyFrom(raw[:])
	return k
}

// ParseMasterKey reads a master key written as standard base64 of 32 bytes (what
// String returns, and what a key file holds); surrounding space is ignored.
func ParseMasterKey(s string) (MasterKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return MasterKey{}, errors.New("a master key is standard base64 of 32 random bytes (such as the output of `openssl rand -base64 32`)")
	}
	return masterKeyFrom(raw)
}

func masterKeyFrom(raw []byte) (MasterKey, error) {
	if len(raw) != MasterKeySize {
		return MasterKey{}, fmt.Errorf("a master key is 32 bytes, this one is %d (make one with `openssl rand -base64 32`)", len(raw))
	}
	var k MasterKey
	copy(k.key[:], raw)
	sum := sha256.Sum256(raw)
	copy(k.id[:], sum[:])
	return k, nil
}

// ParseMasterKeys reads one or more master keys separated by commas or line breaks, as
// masterKey and key files may hold them during a rotation: the first encrypts, all decrypt.
func ParseMasterKeys(s string) ([]MasterKey, error) {
	var keys []MasterKey
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if strings.TrimSpace(f) == "" {
			continue
		}
		k, err := ParseMasterKey(f)
		if err != nil {
			if len(keys) > 0 {
				return nil, fmt.Errorf("key %d: %w", len(keys)+1, err)
			}
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no master key: want base64 of 32 random bytes (such as the output of `openssl rand -base64 32`)")
	}
	return keys, nil
}

// ReadMasterKeyFile reads a key file written by WriteMasterKeyFile (or by hand): one key,
// or several (see ParseMasterKeys).
func ReadMasterKeyFile(path string) ([]MasterKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := ParseMasterKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return keys, nil
}

// WriteMasterKeyFile writes k to a new file at path, readable by its owner only (0600). It
// never replaces an existing file.
func WriteMasterKeyFile(path string, k MasterKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(k.String() + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ID names the key in sealed values and messages (8 hex digits); it does not reveal it.
func (k MasterKey) ID() string { return hex.EncodeToString(k.id[:]) }

// String is the key in standard base64: the key itself, to be kept secret.
func (k MasterKey) String() string { return base64.StdEncoding.EncodeToString(k.key[:]) }

// sealMagic starts every sealed value: "tlmk" and format version 1. A value without it is
// a plaintext value stored before secrets were encrypted; random 32-byte secrets start with
// these 5 bytes once in 2^40, and DER keys never do (they start with 0x30).
var sealMagic = []byte("tlmk\x01")

const (
	sealNonceSize = 12
	sealHeader    = 5 + 4 + sealNonceSize // magic, key id, nonce
)

// A Sealer encrypts values with its current master key (AES-256-GCM, a random nonce per
// value) and decrypts values sealed with any of its keys. A sealed value is
//
//	"tlmk" 0x01 | key id (4 bytes) | nonce (12 bytes) | ciphertext and GCM tag
//
// and the caller's label (such as "signing-key:<id>") is the additional data, so a value
// copied into another slot does not decrypt. The key id lets a store hold values sealed
// with an old key while the master key rotates.
type Sealer struct {
	current MasterKey
	aeads   map[[4]byte]cipher.AEAD
}

// NewSealer seals with current and opens values sealed with current or any of older.
func NewSealer(current MasterKey, older ...MasterKey) *Sealer {
	s := &Sealer{current: current, aeads: map[[4]byte]cipher.AEAD{}}
	for _, k := range append([]MasterKey{current}, older...) {
		block, err := aes.NewCipher(k.key[:])
		if err != nil {
			panic(err) // a 32-byte key always makes a cipher
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			panic(err)
		}
		if _, ok := s.aeads[k.id]; !ok {
			s.aeads[k.id] = aead
		}
	}
	return s
}

// KeyID is the id of the key that seals.
func (s *Sealer) KeyID() string { return s.current.ID() }

// Seal encrypts plaintext under label with the current key.
func (s *Sealer) Seal(label string, plaintext []byte) []byte {
	out := make([]byte, sealHeader, sealHeader+len(plaintext)+16)
	copy(out, sealMagic)
	copy(out[5:], s.current.id[:])
	_, _ = rand.Read(out[9:sealHeader])
	return s.aeads[s.current.id].Seal(out, out[9:sealHeader], plaintext, []byte(label))
}

// IsSealed reports whether value is a sealed value (by any key).
func IsSealed(value []byte) bool { return bytes.HasPrefix(value, sealMagic) }

// SealedKeyID is the id of the key that sealed value, or "" for a plaintext value.
func SealedKeyID(value []byte) string {
	if !IsSealed(value) || len(value) < sealHeader {
		return ""
	}
	return hex.EncodeToString(value[5:9])
}

// ErrWrongMasterKey is wrapped by Open's error when a value was sealed with a key the Sealer
// does not have, or does not decrypt (altered, or sealed under another label).
var ErrWrongMasterKey = errors.New("wrong master key")

// Open decrypts a value sealed under label. A plaintext value (stored before secrets were
// encrypted) is returned as it is.
func (s *Sealer) Open(label string, value []byte) ([]byte, error) {
	if !IsSealed(value) {
		return value, nil
	}
	if len(value) < sealHeader+16 {
		return nil, fmt.Errorf("%s: the sealed value is truncated", label)
	}
	var id [4]byte
	copy(id[:], value[5:9])
	aead, ok := s.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%s is encrypted with master key %x, but the configured master key is %s: %w (set masterKey or masterKeyFile to the key this data was written with)",
			label, id, s.current.ID(), ErrWrongMasterKey)
	}
	plain, err := aead.Open(nil, value[9:sealHeader], value[sealHeader:], []byte(label))
	if err != nil {
		return nil, fmt.Errorf("%s does not decrypt with master key %x (altered, or copied from another place): %w", label, id, ErrWrongMasterKey)
	}
	return plain, nil
}
