package files

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/tideline-dev/tideline"
)

// Signed download URLs: /v1/files/<id>/content?expires=<unix seconds>&sig=<signature>,
// where the signature is HMAC-SHA256, under the server secret tideline.SecretFileURL, of
// the file id and the expiry. Whoever holds one downloads the file until it expires, with
// no credentials: views that cannot send a header (an <img>, a video player) use them. It
// is granted on the terms of a download (authorize), checked when it is made; it is not
// checked again when it is used, so its lifetime (Config.URLTTL) bounds how long a reader
// who lost the document may still use a URL they were given.

// DefaultURLTTL is how long a signed download URL works.
const DefaultURLTTL = 15 * time.Minute

// urlSignature is the signature of a download URL for file id expiring at expires.
func urlSignature(key []byte, id string, expires int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "tideline file url\x00%s\x00%d", id, expires)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// urlKey is the signing key, read from the secret store once (the same on every node).
func (s *Service) urlKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	if s.cfg.Secrets == nil {
		return nil, tideline.Errorf(tideline.CodeUnavailable, "Signed download URLs are not configured on this server.")
	}
	candidate := make([]byte, 32)
	_, _ = rand.Read(candidate)
	key, err := s.cfg.Secrets.Secret(ctx, tideline.SecretFileURL, candidate)
	if err != nil {
		return nil, err
	}
	s.key = key
	return key, nil
}

// SignURL returns a URL (path and query, relative to the server's base URL) that downloads
// the file without credentials until the time it returns, when the caller may read the
// file (as Open checks: not_found otherwise).
func (s *Service) SignURL(ctx context.Context, c Caller, id string, via *Via) (string, time.Time, error) {
	if _, err := s.authorize(ctx, c, id, via); err != nil {
		return "", time.Time{}, err
	}
	key, err := s.urlKey(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := s.cfg.Clock.Now().Add(s.cfg.URLTTL).Unix()
	q := url.Values{"expires": {strconv.FormatInt(expires, 10)}, "sig": {urlSignature(key, id, expires)}}
	return "/v1/files/" + id + "/content?" + q.Encode(), time.Unix(expires, 0).UTC(), nil
}

// OpenSigned opens the file a signed URL names: forbidden when the signature does not
// match (forged, or the id or expiry changed) or the URL expired, not_found when the file
// is gone.
func (s *Service) OpenSigned(ctx context.Context, id string, expires int64, sig string) (File, io.ReadSeekCloser, error) {
	key, err := s.urlKey(ctx)
	if err != nil {
		return File{}, nil, err
	}
	if !hmac.Equal([]byte(sig), []byte(urlSignature(key, id, expires))) {
		return File{}, nil, tideline.Errorf(tideline.CodeForbidden, "This download link is not valid: this server did not make it, or part of it was changed.")
	}
	if at := time.Unix(expires, 0); !s.cfg.Clock.Now().Before(at) {
		return File{}, nil, tideline.Errorf(tideline.CodeForbidden, "This download link expired at %s; ask for a new one.", at.UTC().Format(time.RFC3339))
	}
	f, err := s.store.FindFile(ctx, id)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return File{}, nil, tideline.Errorf(tideline.CodeNotFound, "The file this link downloads was deleted.")
	} else if err != nil {
		return File{}, nil, err
	}
	return s.open(ctx, f)
}
