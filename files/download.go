package files

import (
	"context"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/tideline-dev/tideline"
)

// RefField is the member that marks an object in a document as a reference to a file:
// {"_file": "<id>", "name": ..., "size": ..., "contentType": ..., "sha256": ...}. (Not
// "$file": synced field names never begin with '$', as in MongoDB.)
const RefField = "_file"

// Via names the document through which a caller claims the right to read a file.
type Via struct {
	Collection, ID string
}

// Refs returns the ids of the files a document's fields refer to, at any depth, each once,
// sorted: what the engines index when they commit a document (values of RefField that are
// not ids are no file's, and are left out).
func Refs(fields map[string]any) []string {
	var ids []string
	collectRefs(fields, &ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

func collectRefs(v any, ids *[]string) {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x[RefField].(string); ok && tideline.ValidID(ref) {
			*ids = append(*ids, ref)
		}
		for _, e := range x {
			collectRefs(e, ids)
		}
	case []any:
		for _, e := range x {
			collectRefs(e, ids)
		}
	}
}

// Refers reports whether a document's fields hold a reference to the file id, at any depth.
func Refers(fields map[string]any, id string) bool {
	return refers(fields, id)
}

func refers(v any, id string) bool {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x[RefField].(string); ok && ref == id {
			return true
		}
		for _, e := range x {
			if refers(e, id) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if refers(e, id) {
				return true
			}
		}
	}
	return false
}

// Open returns a file and its content when the caller may read it: they uploaded it, or
// via names a document they may read whose fields refer to the file. Otherwise not_found,
// whether the file exists or not, so ids cannot be probed.
func (s *Service) Open(ctx context.Context, c Caller, id string, via *Via) (File, io.ReadSeekCloser, error) {
	f, err := s.authorize(ctx, c, id, via)
	if err != nil {
		return File{}, nil, err
	}
	return s.open(ctx, f)
}

// authorize returns the file when the caller may read it (see Open), not_found otherwise.
func (s *Service) authorize(ctx context.Context, c Caller, id string, via *Via) (File, error) {
	notFound := tideline.Errorf(tideline.CodeNotFound, "There is no such file, or you may not read it.")
	if !tideline.ValidID(id) {
		return File{}, notFound
	}
	f, err := s.store.FindFile(ctx, id)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return File{}, notFound
	} else if err != nil {
		return File{}, err
	}
	if f.Owner != c.UserID {
		if via == nil || s.cfg.Documents == nil {
			return File{}, notFound
		}
		fields, err := s.cfg.Documents(ctx, c, via.Collection, via.ID)
		if code := tideline.ErrorCode(err); code == tideline.CodeNotFound || code == tideline.CodeInvalid || code == tideline.CodeForbidden {
			return File{}, notFound
		} else if err != nil {
			return File{}, err
		}
		if !Refers(fields, id) {
			return File{}, notFound
		}
	}
	return f, nil
}

func (s *Service) open(ctx context.Context, f File) (File, io.ReadSeekCloser, error) {
	rc, err := s.store.OpenFile(ctx, f)
	if err != nil {
		return File{}, nil, err
	}
	return f, rc, nil
}

// inline are the media types a browser may show in place; anything else (HTML, SVG,
// scripts) is served as an attachment, and every file under a sandboxing CSP.
var inline = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"image/avif": true, "image/heic": true, "application/pdf": true, "text/plain": true}

// Serve writes a file opened by Open: Range requests (206, multipart for several ranges),
// conditional requests on the ETag, which is the content's hash (If-None-Match: 304,
// If-Range), and headers that keep a hostile file from running as a page of this origin.
func Serve(w http.ResponseWriter, r *http.Request, f File, content io.ReadSeeker) {
	h := w.Header()
	mt, _, _ := mime.ParseMediaType(f.ContentType)
	disposition := "attachment"
	if inline[mt] || strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/") {
		disposition = "inline"
	}
	if f.Name != "" {
		disposition = mime.FormatMediaType(disposition, map[string]string{"filename": f.Name})
	}
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", disposition)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set("Cache-Control", "private, no-cache") // revalidated by ETag: the content never changes
	http.ServeContent(w, r, "", f.CreatedAt, content)
}

// Find returns a file, whoever asks (the admin console); not_found when absent.
func (s *Service) Find(ctx context.Context, id string) (File, error) {
	if !tideline.ValidID(id) {
		return File{}, tideline.Errorf(tideline.CodeNotFound, "There is no such file.")
	}
	return s.store.FindFile(ctx, id)
}

// OpenAny opens a file, whoever asks (the admin console); not_found when absent.
func (s *Service) OpenAny(ctx context.Context, id string) (File, io.ReadSeekCloser, error) {
	f, err := s.Find(ctx, id)
	if err != nil {
		return File{}, nil, err
	}
	return s.open(ctx, f)
}
