package files

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tideline-dev/tideline"
)

// Config configures the Service.
type Config struct {
	// MaxFileBytes is the largest file one upload may declare; 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
	// QuotaBytes is how much each user's files may hold in total; 0 means no quota.
	QuotaBytes int64
	// Documents reads a document for a caller (see DocumentReader); nil means files are
	// downloadable by their owner alone.
	Documents DocumentReader
	// Retention is how long a file no document refers to is kept (see Sweep); 0 means
	// DefaultRetention. app sets it to sync's retention.
	Retention time.Duration
	// UploadExpiry is how long an unfinished upload is kept; 0 means DefaultUploadExpiry.
	UploadExpiry time.Duration
	// SettleAfter is how long leftovers of crashes are kept; 0 means DefaultSettleAfter.
	SettleAfter time.Duration
	// Lease lets one node at a time sweep; nil: every node sweeps.
	Lease Lease
	// LeaseFor is how long a sweep holds the lease; 0 means DefaultLeaseFor. A node that
	// dies holding it keeps the others from sweeping that long, so it is short (app sets
	// sync.sweepEvery/2 + 1 min, as the sync sweeper's); a sweep that outlasts it may
	// overlap another node's, which is safe, only wasteful.
	LeaseFor time.Duration
	// URLTTL is how long a signed download URL works; 0 means DefaultURLTTL.
	URLTTL time.Duration
	// Secrets holds the key of signed download URLs (tideline.SecretFileURL); nil: no
	// signed URLs (unavailable).
	Secrets tideline.SecretStore
	// Clock stamps uploads and files; nil means the system clock.
	Clock tideline.Clock
	// Logger hears failures that no client sees; nil discards.
	Logger *slog.Logger
}

// DefaultMaxFileBytes is the default largest file: 100 MiB.
const DefaultMaxFileBytes = 100 << 20

// DocumentReader reads a synced document as a caller would pull it: its fields when one of
// the caller's buckets may read it, not_found otherwise (absent, deleted, or not the
// caller's to see). The sync service satisfies it through app.
type DocumentReader func(ctx context.Context, c Caller, collection, id string) (map[string]any, error)

// Caller is who uploads or downloads: a user and the roles of their session.
type Caller struct {
	UserID string
	Roles  []string
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller, which the upload handler reads (the HTTP
// layer authenticates; this package never sees a token).
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller WithCaller put in ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok && c.UserID != ""
}

// Service holds the rules of files: limits, quota, hashes and who may download.
type Service struct {
	store Store
	cfg   Config

	keyMu sync.Mutex
	key   []byte // the key of signed URLs, once read (urlKey)
}

// New returns the files service on store.
func New(store Store, cfg Config) *Service {
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	if cfg.Clock == nil {
		cfg.Clock = tideline.SystemClock{}
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.UploadExpiry <= 0 {
		cfg.UploadExpiry = DefaultUploadExpiry
	}
	if cfg.LeaseFor <= 0 {
		cfg.LeaseFor = DefaultLeaseFor
	}
	if cfg.SettleAfter <= 0 {
		cfg.SettleAfter = DefaultSettleAfter
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = DefaultURLTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, cfg: cfg}
}

// Limits are the size limit and the quota in force (0: no quota).
func (s *Service) Limits() (maxFileBytes, quotaBytes int64) {
	return s.cfg.MaxFileBytes, s.cfg.QuotaBytes
}

// Usage is the total size of the user's files.
func (s *Service) Usage(ctx context.Context, userID string) (int64, error) {
	return s.store.Usage(ctx, userID)
}

// DeleteUser deletes what the user uploaded: files, uploads in progress, their usage
// (auth calls it when an account is deleted). Documents of others that referred to the
// files keep their references, which now download nothing (404).
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	return s.store.DeleteOwner(ctx, userID)
}

// UploadRequest is what a client declares when it starts an upload.
type UploadRequest struct {
	Size        int64
	Name        string
	ContentType string
	// SHA256 is the content's hash, hex; the upload is refused at its end if it differs.
	SHA256 string
}

var sha256Form = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// maxNameBytes bounds a file's name.
const maxNameBytes = 255

// StartUpload checks a new upload against the limits and the caller's quota and records
// it. Errors: invalid (a field, named in Fields), too_large (the size limit or the quota).
func (s *Service) StartUpload(ctx context.Context, c Caller, req UploadRequest) (Upload, error) {
	if err := s.checkRequest(&req); err != nil {
		return Upload{}, err
	}
	if err := s.checkQuota(ctx, c.UserID, req.Size); err != nil {
		return Upload{}, err
	}
	u := Upload{ID: tideline.NewID(), Owner: c.UserID, Size: req.Size, Name: req.Name, ContentType: req.ContentType,
		SHA256: strings.ToLower(req.SHA256), CreatedAt: s.cfg.Clock.Now()}
	if err := s.store.CreateUpload(ctx, u); err != nil {
		return Upload{}, err
	}
	return u, nil
}

func invalid(field, reason string) error {
	return &tideline.Error{Code: tideline.CodeInvalid, Message: "The upload's " + field + " " + reason + ".", Fields: map[string]string{field: reason}}
}

func (s *Service) checkRequest(req *UploadRequest) error {
	switch {
	case req.Size < 0:
		return invalid("size", "must be declared (Upload-Length) and not negative")
	case req.Size > s.cfg.MaxFileBytes:
		return &tideline.Error{Code: tideline.CodeTooLarge, Message: fmt.Sprintf("The file is %d bytes; the limit is %d bytes.", req.Size, s.cfg.MaxFileBytes),
			Err: limitSetting("files.maxFileBytes")}
	case !sha256Form.MatchString(req.SHA256):
		return invalid("sha256", "must be the content's SHA-256 in hex (64 characters)")
	case len(req.Name) > maxNameBytes || !utf8.ValidString(req.Name) || strings.ContainsFunc(req.Name, unicode.IsControl):
		return invalid("filename", "must be valid UTF-8 of at most 255 bytes, without control characters")
	}
	if req.ContentType == "" {
		req.ContentType = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(req.ContentType)
	if err != nil || len(req.ContentType) > 255 {
		return invalid("filetype", "must be a media type such as image/jpeg")
	}
	req.ContentType = mime.FormatMediaType(mt, params)
	return nil
}

func (s *Service) checkQuota(ctx context.Context, owner string, size int64) error {
	if s.cfg.QuotaBytes <= 0 {
		return nil
	}
	used, err := s.store.Usage(ctx, owner)
	if err != nil {
		return err
	}
	if used+size > s.cfg.QuotaBytes {
		return quotaError(used, size, s.cfg.QuotaBytes)
	}
	return nil
}

func quotaError(used, size, quota int64) error {
	return &tideline.Error{Code: tideline.CodeTooLarge, Message: fmt.Sprintf("The file (%d bytes) does not fit in your storage quota: %d of %d bytes are used.", size, used, quota),
		Err: limitSetting("files.quotaBytes")}
}

// limitSetting is the cause of a too_large error: the setting that sets the limit, which
// problem documents name (tideline.LimitSetting).
type limitSetting string

func (l limitSetting) Error() string        { return "over the limit of " + string(l) }
func (l limitSetting) LimitSetting() string { return string(l) }

// FindUpload returns the caller's upload; not_found when absent or another user's.
func (s *Service) FindUpload(ctx context.Context, c Caller, id string) (Upload, error) {
	if !tideline.ValidID(id) {
		return Upload{}, tideline.Errorf(tideline.CodeNotFound, "There is no such upload.")
	}
	u, err := s.store.FindUpload(ctx, id)
	if err == nil && u.Owner != c.UserID {
		err = tideline.Errorf(tideline.CodeNotFound, "There is no such upload.")
	}
	return u, err
}

// Write appends to an upload from offset, never past its declared size.
func (s *Service) Write(ctx context.Context, u Upload, offset int64, r io.Reader) (int64, error) {
	return s.store.WriteUpload(ctx, u.ID, offset, io.LimitReader(r, u.Size-offset))
}

// Cancel deletes an upload in progress.
func (s *Service) Cancel(ctx context.Context, u Upload) error {
	return s.store.DeleteUpload(ctx, u.ID)
}

// Finish turns a complete upload into a file: the hash must be the declared one and the
// file must fit the owner's quota. On failure (invalid: the hash; too_large: the quota)
// the upload is deleted with its bytes: the client starts again, if at all. Finish runs
// under the upload's claim (Store.ClaimUpload), so of the requests that may finish an
// upload at once (the PATCH that brought its last byte, a HEAD or a PATCH at its end on
// any node after a crash, the sweeper) one does; another gets conflict meanwhile, and the
// file once it exists (the upload is then gone). It is idempotent: an upload committed
// already gives its file.
func (s *Service) Finish(ctx context.Context, u Upload) (File, error) {
	now := s.cfg.Clock.Now()
	until := now.Add(finishLease(u.Size))
	ok, err := s.store.ClaimUpload(ctx, u.ID, now, until)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return s.finished(ctx, u)
	} else if err != nil {
		return File{}, err
	} else if !ok {
		return File{}, tideline.Errorf(tideline.CodeConflict, "The upload is being finished by another request; ask again in a moment.")
	}
	defer func() {
		if err := s.store.ReleaseUpload(context.WithoutCancel(ctx), u.ID, until); err != nil {
			s.cfg.Logger.WarnContext(ctx, "release an upload's claim", "upload_id", u.ID, "error", err)
		}
	}()
	// A commit that recorded the file and stopped before it deleted the upload (MongoDB has
	// no transaction to make the two one step): the file is there, the upload goes.
	if f, err := s.store.FindFile(ctx, u.ID); err == nil && f.Owner == u.Owner {
		if err := s.store.DeleteUpload(ctx, u.ID); err != nil && tideline.ErrorCode(err) != tideline.CodeNotFound {
			return File{}, err
		}
		return f, nil
	} else if err != nil && tideline.ErrorCode(err) != tideline.CodeNotFound {
		return File{}, err
	}
	sum, n, err := s.store.HashUpload(ctx, u.ID)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return s.finished(ctx, u)
	} else if err != nil {
		return File{}, err
	}
	f := File{ID: u.ID, Owner: u.Owner, Name: u.Name, ContentType: u.ContentType, Size: n, SHA256: sum, CreatedAt: s.cfg.Clock.Now()}
	switch {
	case n != u.Size:
		err = tideline.Errorf(tideline.CodeInvalid, "The upload holds %d bytes, not the %d declared.", n, u.Size)
	case sum != u.SHA256:
		err = &tideline.Error{Code: tideline.CodeInvalid, Message: "The content's SHA-256 is " + sum + ", not the one declared: the file was changed or damaged on the way. Upload it again.",
			Fields: map[string]string{"sha256": "does not match the content"}}
	default:
		err = s.store.CommitUpload(ctx, f, s.cfg.QuotaBytes)
		if tideline.ErrorCode(err) == tideline.CodeTooLarge {
			used, uerr := s.store.Usage(ctx, u.Owner)
			if uerr == nil {
				err = quotaError(used, n, s.cfg.QuotaBytes)
			}
		}
	}
	if err != nil {
		if code := tideline.ErrorCode(err); code == tideline.CodeInvalid || code == tideline.CodeTooLarge {
			if derr := s.store.DeleteUpload(context.WithoutCancel(ctx), u.ID); derr != nil {
				s.cfg.Logger.ErrorContext(ctx, "delete a refused upload", "upload_id", u.ID, "error", derr)
			}
		}
		return File{}, err
	}
	return f, nil
}

// finished is the file an upload that is gone became: not_found when it became none
// (refused, canceled, expired, or its owner's account deleted).
func (s *Service) finished(ctx context.Context, u Upload) (File, error) {
	f, err := s.store.FindFile(ctx, u.ID)
	if err == nil && f.Owner != u.Owner {
		err = tideline.Errorf(tideline.CodeNotFound, "There is no such upload.")
	}
	return f, err
}

// finishLease is how long a claim to finish an upload of size bytes lasts: longer than
// reading it and copying it into the store takes (MongoDB's copy into GridFS is given
// time in proportion to the size), so that only a claimer that stopped (a crash) loses it
// to another.
func finishLease(size int64) time.Duration {
	return 5*time.Minute + time.Duration(size/(64<<10))*time.Second
}
