package console

import (
	"context"
	"fmt"
	"mime"
	"net/http"
)

// Files is what the console needs of the file store (app wires it to files.Service): a
// document's attachments, with a preview of images, and a user's storage.
type Files interface {
	// Attachments describes the files a document's fields refer to, each once; a file
	// that no longer exists has Missing set.
	Attachments(ctx context.Context, fields map[string]any) ([]Attachment, error)
	// Storage is the total size of a user's files, and the quota (0: none).
	Storage(ctx context.Context, userID string) (used, quota int64, err error)
	// ServeFile writes a file's content as a download does (Range, ETag, the headers that
	// keep a hostile file from running as a page), or returns not_found.
	ServeFile(w http.ResponseWriter, r *http.Request, id string) error
}

// Attachment is a file a document refers to.
type Attachment struct {
	ID, Name, ContentType, SHA256 string
	Size                          int64
	// Missing: the file is gone (swept, or its owner deleted); the reference downloads
	// nothing.
	Missing bool
}

// previewable are the image types browsers show in an <img> (never SVG, which can hold
// scripts and is served as an attachment).
var previewable = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true, "image/avif": true}

// Image reports whether the console shows a preview of the attachment.
func (a Attachment) Image() bool {
	mt, _, _ := mime.ParseMediaType(a.ContentType)
	return !a.Missing && previewable[mt]
}

// storage is a user's storage on their page.
type storage struct {
	Used, Quota int64
}

// Percent is how much of the quota is used, 0 to 100 (more when a quota was lowered).
func (s storage) Percent() int64 {
	if s.Quota <= 0 {
		return 0
	}
	return s.Used * 100 / s.Quota
}

// file serves a file's content to the admin: the preview and the link of a document's page.
func (c *Console) file(w http.ResponseWriter, r *http.Request, s *session) {
	if c.cfg.Files == nil {
		http.NotFound(w, r)
		return
	}
	if err := c.cfg.Files.ServeFile(w, r, r.URL.Query().Get("id")); err != nil {
		c.renderError(w, r, s, err)
	}
}

// byteSize is n bytes for people: 3.2 MB, 512 KB, 12 bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
