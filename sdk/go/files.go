package tideline

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tideline-dev/tideline/sdk/core"
)

// FileRef is a document field's reference to a file (docs/files.md, "Reference"; the
// client's side: docs/sdk-core.md, "Attachments"). ID is the server's file id ("_file");
// while the file is still on its way up it is "" and Pending is the local attachment's id;
// when its upload failed for good, Failed is the reason's code and ID stays "".
type FileRef struct {
	ID          string
	Pending     string
	Failed      string
	Name        string
	Size        int64
	ContentType string
	SHA256      string
}

// Value is the reference as a document field holds it: {"_file": id, "name", "size",
// "contentType", "sha256"}; before there is a file, "pending" (or "failed") instead of
// "_file".
func (r FileRef) Value() map[string]any {
	v := map[string]any{"name": r.Name, "size": r.Size, "contentType": r.ContentType, "sha256": r.SHA256}
	if r.ID != "" {
		v["_file"] = r.ID
	}
	if r.Pending != "" {
		v["pending"] = r.Pending
	}
	if r.Failed != "" {
		v["failed"] = r.Failed
	}
	return v
}

// AsFileRef reads a reference from a document's field value (as Doc.Fields holds it);
// false when v is not one (an object with a string "_file", "pending" or "failed").
func AsFileRef(v any) (FileRef, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return FileRef{}, false
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	r := FileRef{ID: str("_file"), Pending: str("pending"), Failed: str("failed"), Name: str("name"),
		ContentType: str("contentType"), SHA256: str("sha256")}
	if r.ID == "" && r.Pending == "" && r.Failed == "" {
		return FileRef{}, false
	}
	switch n := m["size"].(type) {
	case json.Number:
		r.Size, _ = n.Int64()
	case float64:
		r.Size = int64(n)
	case int64:
		r.Size = n
	case int:
		r.Size = int64(n)
	}
	return r, true
}

// ErrNoFile is returned by OpenFile for a reference whose file cannot be had: an upload
// that failed, or a pending one that another device (or an earlier state) wrote.
var ErrNoFile = errors.New("tideline: the file is not on this device and cannot be downloaded")

// Attachment is a file waiting in the upload queue (tl_attachments).
type Attachment struct {
	LocalID           string
	Collection, DocID string
	Field             string
	Name, ContentType string
	Size              int64
	SHA256            string
	State             string // "queued" (no upload on the server yet), "uploading", or "canceled" (deleted at the next run)
	Attempts          int    // failed attempts so far (network, 5xx, 409, 429)
	UploadURL         string // the tus upload's path, once created
	Offset            int64  // the server's offset as last heard
	path              string
}

// filesDir is where the cache keeps its files: up/ (attached, waiting or uploaded from
// here) and cache/ (downloaded).
func (c *Client) filesDir() string { return c.opts.FilesDir }

func (c *Client) abs(rel string) string { return filepath.Join(c.filesDir(), filepath.FromSlash(rel)) }

// Attach captures the file at localPath for field of the document (docs/sdk-core.md
// "Attachments"): the SDK copies it into the cache's files directory (the app may delete
// its own copy), and patches the field at once with a pending reference ({"pending":
// <local id>, "name", "size", "contentType", "sha256"}), so the app shows the
// file from the device while it uploads. The upload runs with Upload (the background
// syncer runs it); when it finishes, a patch sets the field to the file's reference. A
// later write that replaces the field, or deletes the document, before the upload
// finished cancels it. contentType "" is guessed from the file name's extension.
func (c *Client) Attach(ctx context.Context, collection, docID, field, localPath, contentType string) (FileRef, error) {
	if err := checkDoc(collection, docID); err != nil {
		return FileRef{}, err
	}
	if err := checkField(field); err != nil {
		return FileRef{}, err
	}
	name := filepath.Base(localPath)
	if contentType == "" {
		contentType = mime.TypeByExtension(filepath.Ext(name))
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	src, err := os.Open(localPath)
	if err != nil {
		return FileRef{}, err
	}
	defer src.Close()
	tmp, size, sum, err := c.copyIn("up", src)
	if err != nil {
		return FileRef{}, err
	}
	defer os.Remove(tmp) // renamed into place below unless something failed
	rel := "up/" + randomName()
	var ref FileRef
	var changed []string
	err = c.inTx(ctx, func(tx *stmtTx) error {
		seq, err := getMeta(ctx, tx, "attachment_seq")
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(seq)
		n++
		if err := setMeta(ctx, tx, "attachment_seq", strconv.Itoa(n)); err != nil {
			return err
		}
		ref = FileRef{Pending: c.id + "-" + strconv.Itoa(n), Name: name, Size: size, ContentType: contentType, SHA256: sum}
		if _, err := tx.ExecContext(ctx, core.Statement("attachment_add"), sql.Named("local_id", ref.Pending),
			sql.Named("collection", collection), sql.Named("doc_id", docID), sql.Named("field", field),
			sql.Named("path", rel), sql.Named("name", name), sql.Named("content_type", contentType),
			sql.Named("size", size), sql.Named("sha256", sum), sql.Named("now", c.opts.Now().UnixMilli())); err != nil {
			return err
		}
		w := &WriteTx{ctx: ctx, c: c, tx: tx}
		if err := w.write(collection, docID, "patch", map[string]any{field: ref.Value()}, nil); err != nil {
			return err
		}
		changed = w.changed
		// The copy takes its name inside the transaction: a crash before the commit
		// leaves a file no row names, which the next open removes.
		return os.Rename(tmp, c.abs(rel))
	})
	if err != nil {
		return FileRef{}, err
	}
	if err := c.refreshStatus(ctx); err != nil {
		return ref, err
	}
	c.emit(Event{Changed: changed, Local: true, Attachment: ref.Pending})
	return ref, nil
}

// copyIn writes r to a new temporary file under dir of the files directory, fsynced, and
// returns its path, size and SHA-256 (hex).
func (c *Client) copyIn(dir string, r io.Reader) (tmp string, size int64, sum string, err error) {
	d := filepath.Join(c.filesDir(), dir)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", 0, "", err
	}
	f, err := os.CreateTemp(d, "tmp-*")
	if err != nil {
		return "", 0, "", err
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, "", err
	}
	return f.Name(), size, hex.EncodeToString(h.Sum(nil)), nil
}

func randomName() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Attachments lists the upload queue, oldest first.
func (c *Client) Attachments(ctx context.Context) ([]Attachment, error) {
	rows, err := c.db.QueryContext(ctx, core.Statement("attachments_queue"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Attachment
	for rows.Next() {
		var a Attachment
		var u sql.NullString
		if err := rows.Scan(&a.LocalID, &a.Collection, &a.DocID, &a.Field, &a.path, &a.Name, &a.ContentType, &a.Size,
			&a.SHA256, &a.State, &a.Attempts, &u, &a.Offset); err != nil {
			return nil, err
		}
		a.UploadURL = u.String
		out = append(out, a)
	}
	return out, rows.Err()
}

// Upload runs the upload queue once, oldest first (docs/sdk-core.md "upload"): each
// attachment still wanted is created on the server (tus POST), or resumed from the
// server's offset (HEAD), and its bytes sent (PATCH); a finished one completes its
// reference with a patch (pushed by the next sync). An upload the server refuses for
// good (too large, over the quota, forbidden, a wrong hash) is dropped and its field
// marked failed, with a receipt to the app (Receipt.Attachment). The first other failure
// (the network, 5xx, 409, 429) stops the run and is returned; the upload resumes at the
// next run, also after a restart.
func (c *Client) Upload(ctx context.Context) error {
	c.uploadMu.Lock()
	defer c.uploadMu.Unlock()
	queue, err := c.Attachments(ctx)
	if err != nil {
		return err
	}
	for _, a := range queue {
		if err := c.uploadOne(ctx, a); err != nil {
			if errors.Is(err, ErrSignedOut) || errors.Is(err, ErrOtherUser) || ctx.Err() != nil {
				return err
			}
			if rerr := c.inTx(ctx, func(tx *stmtTx) error {
				_, err := tx.ExecContext(ctx, core.Statement("attachment_attempt_failed"), sql.Named("local_id", a.LocalID), sql.Named("error", err.Error()))
				return err
			}); rerr != nil {
				return rerr
			}
			return err
		}
	}
	return c.refreshStatus(ctx)
}

// permanent is an answer that ends an upload for good: code is the receipt's.
type permanent struct{ code, message string }

func (p *permanent) Error() string { return "tideline: upload refused: " + p.code + ": " + p.message }

// wanted reports whether the document's view still holds a's pending reference.
func (c *Client) wanted(ctx context.Context, db execer, a Attachment) (bool, error) {
	var ok bool
	err := db.QueryRowContext(ctx, core.Statement("attachment_wanted"), sql.Named("collection", a.Collection),
		sql.Named("doc_id", a.DocID), sql.Named("field", a.Field), sql.Named("local_id", a.LocalID)).Scan(&ok)
	return ok, err
}

func (c *Client) uploadOne(ctx context.Context, a Attachment) error {
	if a.State == "canceled" {
		return c.cancelUpload(ctx, a)
	}
	ok, err := c.wanted(ctx, c.db, a)
	if err != nil || !ok {
		return err // not in the view for a moment (a stale copy): left for the next run
	}
	resume := a.UploadURL != ""
	for restarts := 0; ; restarts++ {
		if restarts > 2 {
			return fmt.Errorf("tideline: the server lost upload %s again and again", a.LocalID)
		}
		if a.UploadURL == "" {
			loc, err := c.createUpload(ctx, a)
			if err != nil {
				return c.refused(ctx, a, err)
			}
			a.UploadURL, a.Offset, a.State = loc, 0, "uploading"
			if err := c.inTx(ctx, func(tx *stmtTx) error {
				_, err := tx.ExecContext(ctx, core.Statement("attachment_started"), sql.Named("local_id", a.LocalID), sql.Named("upload_url", loc))
				return err
			}); err != nil {
				return err
			}
			if a.Size == 0 { // tus finishes an empty upload when it is created
				return c.completeUpload(ctx, a, fileIDOf(loc))
			}
		} else if resume {
			resume = false
			off, gone, err := c.uploadOffset(ctx, a.UploadURL)
			if err != nil {
				return c.refused(ctx, a, err)
			}
			if gone {
				// The upload is no more: finished (a crash came between its last byte and
				// the completion), or expired. The file itself says which.
				if done, err := c.fileExists(ctx, fileIDOf(a.UploadURL), a.SHA256); err != nil {
					return err
				} else if done {
					return c.completeUpload(ctx, a, fileIDOf(a.UploadURL))
				}
				if err := c.restartUpload(ctx, &a); err != nil {
					return err
				}
				continue
			}
			if off >= a.Size {
				// Every byte is there but the upload is not a file: the server stopped
				// between the last byte and the commit, and tus answers a PATCH at the end
				// with 204 without committing. Start over (the server sweeps the old one).
				if err := c.restartUpload(ctx, &a); err != nil {
					return err
				}
				continue
			}
			a.Offset = off
			if err := c.inTx(ctx, func(tx *stmtTx) error {
				_, err := tx.ExecContext(ctx, core.Statement("attachment_progress"), sql.Named("local_id", a.LocalID), sql.Named("upload_offset", off))
				return err
			}); err != nil {
				return err
			}
		}
		gone, err := c.sendBytes(ctx, a)
		if err != nil {
			return c.refused(ctx, a, err)
		}
		if gone {
			if err := c.restartUpload(ctx, &a); err != nil {
				return err
			}
			continue
		}
		return c.completeUpload(ctx, a, fileIDOf(a.UploadURL))
	}
}

func (c *Client) restartUpload(ctx context.Context, a *Attachment) error {
	a.UploadURL, a.Offset, a.State = "", 0, "queued"
	return c.inTx(ctx, func(tx *stmtTx) error {
		_, err := tx.ExecContext(ctx, core.Statement("attachment_restart"), sql.Named("local_id", a.LocalID))
		return err
	})
}

// fileIDOf is the file id of an upload: its path's last segment.
func fileIDOf(uploadPath string) string { return path.Base(uploadPath) }

// refused turns a permanent refusal into the failed reference and its receipt; other
// errors are returned as they are.
func (c *Client) refused(ctx context.Context, a Attachment, err error) error {
	var p *permanent
	if !errors.As(err, &p) {
		return err
	}
	var changed []string
	if err := c.inTx(ctx, func(tx *stmtTx) error {
		ok, err := c.wanted(ctx, tx, a)
		if err != nil {
			return err
		}
		if ok {
			ref := FileRef{Failed: p.code, Name: a.Name, Size: a.Size, ContentType: a.ContentType, SHA256: a.SHA256}
			w := &WriteTx{ctx: ctx, c: c, tx: tx}
			if err := w.write(a.Collection, a.DocID, "patch", map[string]any{a.Field: ref.Value()}, nil); err != nil {
				return err
			}
			changed = w.changed
		}
		_, err = tx.ExecContext(ctx, core.Statement("attachment_delete"), sql.Named("local_id", a.LocalID))
		return err
	}); err != nil {
		return err
	}
	os.Remove(c.abs(a.path))
	if err := c.refreshStatus(ctx); err != nil {
		return err
	}
	if len(changed) > 0 {
		c.emit(Event{Changed: changed, Local: true})
	}
	c.emit(Event{Receipt: &Receipt{Collection: a.Collection, DocID: a.DocID, Status: "rejected", Code: p.code,
		Message: p.message, Field: a.Field, Local: true, Attachment: a.LocalID}})
	return nil
}

// cancelUpload drops an attachment whose reference is gone: the server's upload is
// deleted (best effort: an upload left behind is swept by the server), then the row and
// the copy.
func (c *Client) cancelUpload(ctx context.Context, a Attachment) error {
	if a.UploadURL != "" {
		res, err := c.fileRequest(ctx, http.MethodDelete, a.UploadURL, tusHeader(nil), nil)
		if err == nil {
			res.Body.Close()
		}
	}
	if err := c.inTx(ctx, func(tx *stmtTx) error {
		_, err := tx.ExecContext(ctx, core.Statement("attachment_delete"), sql.Named("local_id", a.LocalID))
		return err
	}); err != nil {
		return err
	}
	os.Remove(c.abs(a.path))
	return nil
}

// completeUpload is the end of an upload, in one transaction: the field's reference
// becomes the file's (a patch, when the field still holds the pending one), the copy
// becomes a cached file, and the row goes.
func (c *Client) completeUpload(ctx context.Context, a Attachment, fileID string) error {
	var changed []string
	var keep, wait bool
	if err := c.inTx(ctx, func(tx *stmtTx) error {
		ok, err := c.wanted(ctx, tx, a)
		if err != nil {
			return err
		}
		if !ok {
			var state string
			if err := tx.QueryRowContext(ctx, core.Statement("attachment_state"), sql.Named("local_id", a.LocalID)).Scan(&state); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if state != "canceled" && state != "" {
				// Not in the view for a moment (a stale copy): the file is there; the next
				// run finds the upload gone and the file present, and completes it then.
				wait = true
				return nil
			}
		}
		keep = ok
		if ok {
			ref := FileRef{ID: fileID, Name: a.Name, Size: a.Size, ContentType: a.ContentType, SHA256: a.SHA256}
			w := &WriteTx{ctx: ctx, c: c, tx: tx}
			if err := w.write(a.Collection, a.DocID, "patch", map[string]any{a.Field: ref.Value()}, nil); err != nil {
				return err
			}
			changed = w.changed
			res, err := tx.ExecContext(ctx, core.Statement("file_put"), sql.Named("file_id", fileID), sql.Named("path", a.path),
				sql.Named("size", a.Size), sql.Named("sha256", a.SHA256), sql.Named("collection", a.Collection),
				sql.Named("doc_id", a.DocID), sql.Named("pinned", 0), sql.Named("now", c.opts.Now().UnixMilli()))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 { // the patch just put the reference in the view: not expected
				keep = false
			}
		}
		_, err = tx.ExecContext(ctx, core.Statement("attachment_delete"), sql.Named("local_id", a.LocalID))
		return err
	}); err != nil {
		return err
	}
	if wait {
		return nil
	}
	if !keep {
		os.Remove(c.abs(a.path))
		return nil
	}
	if err := c.evict(ctx, fileID); err != nil {
		return err
	}
	if err := c.refreshStatus(ctx); err != nil {
		return err
	}
	c.emit(Event{Changed: changed, Local: true})
	return nil
}

// fileRequest sends a request of the files API (tus or a download) with the access
// token, refreshing it once after a 401. body is made anew for each attempt.
func (c *Client) fileRequest(ctx context.Context, method, pathAndQuery string, header http.Header, body func() (io.Reader, int64, error)) (*http.Response, error) {
	token, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		var r io.Reader
		n := int64(0)
		if body != nil {
			if r, n, err = body(); err != nil {
				return nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, c.server+pathAndQuery, r)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.ContentLength = n
			if n == 0 {
				req.Body = http.NoBody
			}
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Tideline-Client", c.clientHeader())
		res, err := c.opts.HTTPClient.Do(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusUnauthorized {
			return res, nil
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if attempt > 0 {
			return nil, c.signedOut(ctx)
		}
		if token, err = c.refresh(ctx, token); err != nil {
			return nil, err
		}
	}
}

func tusHeader(h map[string]string) http.Header {
	out := http.Header{"Tus-Resumable": {"1.0.0"}}
	for k, v := range h {
		out.Set(k, v)
	}
	return out
}

// answer reads a response that is not the one hoped for: a permanent refusal (413, 400,
// 403) or a ServerError.
func answer(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	err := serverError(res, b)
	se := err.(*ServerError)
	var p struct{ Detail, Title string }
	json.Unmarshal(b, &p)
	msg := p.Detail
	if msg == "" {
		msg = strings.TrimSpace(cmpOr(p.Title, string(b)))
	}
	if msg == "" { // a HEAD's answer has no body
		msg = "HTTP " + strconv.Itoa(res.StatusCode)
	}
	switch res.StatusCode {
	case http.StatusRequestEntityTooLarge:
		return &permanent{code: cmpOr(se.Code, "too_large"), message: msg}
	case http.StatusBadRequest:
		return &permanent{code: cmpOr(se.Code, "invalid"), message: msg}
	case http.StatusForbidden:
		return &permanent{code: cmpOr(se.Code, "forbidden"), message: msg}
	}
	return err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// createUpload is the tus POST: the upload's path (its Location's).
func (c *Client) createUpload(ctx context.Context, a Attachment) (string, error) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	meta := "sha256 " + b64(a.SHA256) + ",filename " + b64(a.Name) + ",filetype " + b64(a.ContentType)
	res, err := c.fileRequest(ctx, http.MethodPost, "/v1/files/uploads", tusHeader(map[string]string{
		"Upload-Length": strconv.FormatInt(a.Size, 10), "Upload-Metadata": meta}),
		func() (io.Reader, int64, error) { return nil, 0, nil })
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusCreated {
		return "", answer(res)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Path == "" || fileIDOf(loc.Path) == "" || !fileIDForm.MatchString(fileIDOf(loc.Path)) {
		return "", fmt.Errorf("tideline: the upload's Location %q", res.Header.Get("Location"))
	}
	return loc.Path, nil
}

// uploadOffset is the tus HEAD: the server's offset, or gone (404, 410).
func (c *Client) uploadOffset(ctx context.Context, uploadPath string) (int64, bool, error) {
	res, err := c.fileRequest(ctx, http.MethodHead, uploadPath, tusHeader(nil), nil)
	if err != nil {
		return 0, false, err
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK, http.StatusNoContent:
		off, err := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
		if err != nil || off < 0 {
			return 0, false, fmt.Errorf("tideline: the upload's offset %q", res.Header.Get("Upload-Offset"))
		}
		return off, false, nil
	case http.StatusNotFound, http.StatusGone, http.StatusForbidden:
		return 0, true, nil
	case http.StatusRequestEntityTooLarge, http.StatusBadRequest:
		// The server finished the upload at this HEAD (its last bytes had arrived) and
		// refused the file (the quota, the hash): for good, as at any request of the run.
		return 0, false, answer(res)
	}
	return 0, false, serverError(res, nil)
}

// fileExists asks whether the file is there with this hash (a conditional GET: 304).
func (c *Client) fileExists(ctx context.Context, fileID, sum string) (bool, error) {
	res, err := c.fileRequest(ctx, http.MethodGet, "/v1/files/"+url.PathEscape(fileID),
		http.Header{"If-None-Match": {`"` + sum + `"`}}, nil)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusNotModified:
		return true, nil
	case http.StatusOK, http.StatusNotFound:
		return false, nil // 200: another content under that id (not ours), or none
	}
	return false, serverError(res, nil)
}

// sendBytes is the tus PATCH of everything from the offset; gone: the server no longer
// knows the upload (404, 410).
func (c *Client) sendBytes(ctx context.Context, a Attachment) (gone bool, err error) {
	res, err := c.fileRequest(ctx, http.MethodPatch, a.UploadURL, tusHeader(map[string]string{
		"Upload-Offset": strconv.FormatInt(a.Offset, 10), "Content-Type": "application/offset+octet-stream"}),
		func() (io.Reader, int64, error) {
			f, err := os.Open(c.abs(a.path))
			if err != nil {
				return nil, 0, err
			}
			// The request's transport closes it when the body is sent or fails.
			return readCloser{io.NewSectionReader(f, a.Offset, a.Size-a.Offset), f}, a.Size - a.Offset, nil
		})
	if err != nil {
		return false, err
	}
	switch res.StatusCode {
	case http.StatusNoContent, http.StatusOK:
		res.Body.Close()
		return false, nil
	case http.StatusNotFound, http.StatusGone:
		res.Body.Close()
		return true, nil
	}
	return false, answer(res)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// fileIDForm is what a file id may be on this device (it names a cached file).
var fileIDForm = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)

// OpenFile returns the path of the file a reference of the document names, on this
// device: the copy of a pending attachment, a cached file (now the most recently used),
// or the file downloaded through the document (the server checks that the user may read
// it and that it refers to the file) and kept in the download cache. A download cut midway
// keeps the bytes that arrived, and the next OpenFile (also after a restart, or in another
// process on the cache) asks only for the rest, with Range and If-Range. A downloaded file
// whose SHA-256 is not the reference's is refused. The path stays valid until the file is
// evicted (least recently used first, beyond Options.CacheBytes), unpinned, or dropped
// when the document is no longer readable.
func (c *Client) OpenFile(ctx context.Context, collection, docID string, ref FileRef) (string, error) {
	if err := checkDoc(collection, docID); err != nil {
		return "", err
	}
	if ref.ID == "" {
		if ref.Pending == "" {
			return "", ErrNoFile
		}
		var a Attachment
		var u sql.NullString
		err := c.db.QueryRowContext(ctx, core.Statement("attachment_get"), sql.Named("local_id", ref.Pending)).Scan(
			&a.Collection, &a.DocID, &a.Field, &a.path, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.State, &a.Attempts, &u, &a.Offset)
		if errors.Is(err, sql.ErrNoRows) {
			return "", ErrNoFile
		}
		if err != nil {
			return "", err
		}
		return c.abs(a.path), nil
	}
	if !fileIDForm.MatchString(ref.ID) {
		return "", fmt.Errorf("%w: file id %q", ErrInvalid, ref.ID)
	}
	var rel, sum string
	var size int64
	var pinned int
	err := c.db.QueryRowContext(ctx, core.Statement("file_get"), sql.Named("file_id", ref.ID)).Scan(&rel, &size, &sum, &pinned)
	switch {
	case err == nil:
		if _, serr := os.Stat(c.abs(rel)); serr == nil {
			_, err := c.db.ExecContext(ctx, core.Statement("file_touch"), sql.Named("file_id", ref.ID), sql.Named("now", c.opts.Now().UnixMilli()))
			return c.abs(rel), err
		}
		// The row outlived its file (removed by hand): download it again.
	case !errors.Is(err, sql.ErrNoRows):
		return "", err
	}
	return c.download(ctx, collection, docID, ref, pinned)
}

// download fetches a file into the cache and records it, then evicts what no longer fits
// (docs/sdk-core.md "download"). A download cut midway keeps its bytes (part/<file id>,
// a row of tl_downloads); the next one, in this process or another, also after a restart,
// takes them and asks for the rest with Range and If-Range (the reference's hash).
func (c *Client) download(ctx context.Context, collection, docID string, ref FileRef, pinned int) (string, error) {
	tmp, n, h, err := c.takePartial(ctx, ref)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp) // renamed away when the file is complete, or its bytes kept
	q := url.Values{"collection": {collection}, "doc": {docID}}
	target := "/v1/files/" + url.PathEscape(ref.ID) + "?" + q.Encode()
	for retried := false; ; {
		var header http.Header
		if n > 0 {
			header = http.Header{"Range": {"bytes=" + strconv.FormatInt(n, 10) + "-"}, "If-Range": {`"` + ref.SHA256 + `"`}}
		}
		res, err := c.fileRequest(ctx, http.MethodGet, target, header, nil)
		if err != nil {
			return "", c.keepPartial(ctx, collection, docID, ref, tmp, n, err)
		}
		switch {
		case res.StatusCode == http.StatusOK:
			n = 0 // the whole file: no range asked, or the validator did not match
			h.Reset()
		case res.StatusCode == http.StatusPartialContent && rangeStart(res) == n:
		case (res.StatusCode == http.StatusRequestedRangeNotSatisfiable || res.StatusCode == http.StatusPartialContent) && n > 0 && !retried:
			// The kept bytes do not fit the file the server has: drop them, ask once more
			// for the whole file.
			io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
			res.Body.Close()
			n, retried = 0, true
			h.Reset()
			continue
		default:
			b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
			res.Body.Close()
			serr := serverError(res, b)
			switch res.StatusCode {
			case http.StatusNotFound, http.StatusForbidden, http.StatusGone, http.StatusRequestedRangeNotSatisfiable, http.StatusPartialContent:
				return "", serr // the user may not read it (or the bytes do not fit): nothing kept
			}
			return "", c.keepPartial(ctx, collection, docID, ref, tmp, n, serr)
		}
		got, rerr, werr := writeFrom(tmp, n, h, res.Body)
		res.Body.Close()
		n = got
		if werr != nil { // the device's side (a full disk): nothing kept
			return "", werr
		}
		if rerr != nil { // the body broke off: keep what arrived
			return "", c.keepPartial(ctx, collection, docID, ref, tmp, n, rerr)
		}
		break
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if ref.SHA256 != "" && !strings.EqualFold(sum, ref.SHA256) {
		return "", fmt.Errorf("%w: file %s has SHA-256 %s, its reference says %s", ErrInvalid, ref.ID, sum, ref.SHA256)
	}
	rel := "cache/" + ref.ID
	var stale []string
	err = c.inTx(ctx, func(tx *stmtTx) error {
		res, err := tx.ExecContext(ctx, core.Statement("file_put"), sql.Named("file_id", ref.ID), sql.Named("path", rel),
			sql.Named("size", n), sql.Named("sha256", sum), sql.Named("collection", collection), sql.Named("doc_id", docID),
			sql.Named("pinned", pinned), sql.Named("now", c.opts.Now().UnixMilli()))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			// The document left the view, or stopped referring to the file, while the
			// download ran (access lost, a clear): nothing is kept.
			if err == nil {
				err = ErrNoFile
			}
			return err
		}
		// A partial another process kept meanwhile is of no more use.
		var p, s string
		switch err := tx.QueryRowContext(ctx, core.Statement("download_get"), sql.Named("file_id", ref.ID)).Scan(&p, &s); {
		case err == nil:
			stale = append(stale, p)
			if _, err := tx.ExecContext(ctx, core.Statement("download_delete"), sql.Named("file_id", ref.ID)); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		return os.Rename(tmp, c.abs(rel))
	})
	if err != nil {
		return "", err
	}
	removeAll(c, stale)
	return c.abs(rel), c.evict(ctx, ref.ID)
}

// takePartial is step 1 of a download: in one transaction, the partial download's row is
// deleted and its file renamed to a temporary file of this download's own, so that no
// other process writes to it. It returns that file's path (not there yet when there were
// no bytes to take), the bytes it holds and their hash so far.
func (c *Client) takePartial(ctx context.Context, ref FileRef) (tmp string, n int64, h hash.Hash, err error) {
	h = sha256.New()
	d := filepath.Join(c.filesDir(), "cache")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", 0, nil, err
	}
	tmp = filepath.Join(d, "tmp-"+randomName())
	taken := false
	err = c.inTx(ctx, func(tx *stmtTx) error {
		var rel, sum string
		err := tx.QueryRowContext(ctx, core.Statement("download_get"), sql.Named("file_id", ref.ID)).Scan(&rel, &sum)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, core.Statement("download_delete"), sql.Named("file_id", ref.ID)); err != nil {
			return err
		}
		if ref.SHA256 == "" || !strings.EqualFold(sum, ref.SHA256) {
			os.Remove(c.abs(rel)) // kept for another hash: no partial of this reference's file
			return nil
		}
		switch err := os.Rename(c.abs(rel), tmp); {
		case err == nil:
			taken = true
		case !errors.Is(err, fs.ErrNotExist): // a row without its file is no partial
			return err
		}
		return nil
	})
	if err != nil {
		os.Remove(tmp)
		return "", 0, nil, err
	}
	if taken {
		f, err := os.Open(tmp)
		if err == nil {
			n, err = io.Copy(h, f)
			f.Close()
		}
		if err != nil { // unreadable: start from byte 0
			n = 0
			h.Reset()
		}
	}
	return tmp, n, h, nil
}

// writeFrom writes body into the file at path from byte n on (the bytes before it are
// kept, the rest truncated), through h, then fsyncs the file. It returns the file's
// length, and the body's read error apart from a write error of the file.
func writeFrom(path string, n int64, h hash.Hash, body io.Reader) (size int64, readErr, writeErr error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return n, nil, err
	}
	if err := f.Truncate(n); err != nil {
		f.Close()
		return n, nil, err
	}
	if _, err := f.Seek(n, io.SeekStart); err != nil {
		f.Close()
		return n, nil, err
	}
	r := &errReader{r: body}
	written, err := io.Copy(io.MultiWriter(f, h), r)
	size = n + written
	if err != nil && r.err == nil {
		writeErr = err
	}
	if serr := f.Sync(); writeErr == nil && serr != nil {
		writeErr = serr
	}
	if cerr := f.Close(); writeErr == nil && cerr != nil {
		writeErr = cerr
	}
	return size, r.err, writeErr
}

// errReader remembers its reader's error (other than the end).
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// rangeStart is where a 206 answer's Content-Range begins ("bytes <start>-<end>/<size>");
// -1 when it has none that can be read.
func rangeStart(res *http.Response) int64 {
	v, ok := strings.CutPrefix(res.Header.Get("Content-Range"), "bytes ")
	if !ok {
		return -1
	}
	start, _, ok := strings.Cut(v, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	if !ok || err != nil || n < 0 {
		return -1
	}
	return n
}

// keepPartial is step 5 of a download: the n bytes of tmp (fsynced) become the file's
// partial download, unless another process kept more meanwhile, or the document no longer
// refers to the file (access lost, a clear), or the file is cached already; then tmp is
// left to be removed. It returns cause, the download's error.
func (c *Client) keepPartial(ctx context.Context, collection, docID string, ref FileRef, tmp string, n int64, cause error) error {
	if ref.SHA256 == "" || n <= 0 {
		return cause
	}
	ctx = context.WithoutCancel(ctx) // an open the app canceled keeps its bytes too
	rel := "part/" + ref.ID
	if err := os.MkdirAll(filepath.Join(c.filesDir(), "part"), 0o700); err != nil {
		return cause
	}
	c.inTx(ctx, func(tx *stmtTx) error {
		var p, sum string
		switch err := tx.QueryRowContext(ctx, core.Statement("download_get"), sql.Named("file_id", ref.ID)).Scan(&p, &sum); {
		case err == nil:
			if info, err := os.Stat(c.abs(p)); err == nil && info.Size() >= n {
				return nil // another process kept at least as much
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		res, err := tx.ExecContext(ctx, core.Statement("download_put"), sql.Named("file_id", ref.ID), sql.Named("path", rel),
			sql.Named("sha256", ref.SHA256), sql.Named("collection", collection), sql.Named("doc_id", docID),
			sql.Named("now", c.opts.Now().UnixMilli()))
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return err // not kept
		}
		return os.Rename(tmp, c.abs(rel))
	})
	return cause
}

// Pin keeps the file on the device whatever the cache limit (downloading it now if it is
// not here), until Unpin or until the document is no longer readable.
func (c *Client) Pin(ctx context.Context, collection, docID string, ref FileRef) (string, error) {
	if ref.ID == "" {
		return c.OpenFile(ctx, collection, docID, ref) // a pending file is on the device until it is uploaded
	}
	p, err := c.OpenFile(ctx, collection, docID, ref)
	if err != nil {
		return "", err
	}
	_, err = c.db.ExecContext(ctx, core.Statement("file_pin"), sql.Named("file_id", ref.ID), sql.Named("pinned", 1))
	return p, err
}

// Unpin returns a pinned file to the cache's LRU (it may be evicted at once if the cache
// is over its limit).
func (c *Client) Unpin(ctx context.Context, fileID string) error {
	if _, err := c.db.ExecContext(ctx, core.Statement("file_pin"), sql.Named("file_id", fileID), sql.Named("pinned", 0)); err != nil {
		return err
	}
	return c.evict(ctx, "")
}

// CachedFile is a file of the download cache (tl_files).
type CachedFile struct {
	ID, Collection, DocID string
	Size                  int64
	SHA256                string
	Pinned                bool
	UsedAt                time.Time
	Path                  string
}

// CachedFiles lists the download cache, by file id.
func (c *Client) CachedFiles(ctx context.Context) ([]CachedFile, error) {
	rows, err := c.db.QueryContext(ctx, core.Statement("files_list"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CachedFile
	for rows.Next() {
		var f CachedFile
		var used int64
		if err := rows.Scan(&f.ID, &f.Collection, &f.DocID, &f.Size, &f.SHA256, &f.Pinned, &used, &f.Path); err != nil {
			return nil, err
		}
		f.UsedAt, f.Path = time.UnixMilli(used), c.abs(f.Path)
		out = append(out, f)
	}
	return out, rows.Err()
}

// evict removes the least recently used unpinned files beyond the cache limit (never
// keep, the file being opened): rows in one transaction, then the files.
func (c *Client) evict(ctx context.Context, keep string) error {
	var paths []string
	err := c.inTx(ctx, func(tx *stmtTx) error {
		var err error
		paths, err = dropFiles(ctx, tx, "files_to_evict", "file_delete", sql.Named("keep", keep), sql.Named("limit", c.opts.CacheBytes))
		return err
	})
	removeAll(c, paths)
	return err
}

// dropFiles deletes the cached files (or partial downloads) a query lists (file_id, path)
// with the statement del, and returns their paths, to remove once the transaction commits.
func dropFiles(ctx context.Context, tx execer, query, del string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, core.Statement(query), args...)
	if err != nil {
		return nil, err
	}
	var ids, paths []string
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			rows.Close()
			return nil, err
		}
		ids, paths = append(ids, id), append(paths, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, core.Statement(del), sql.Named("file_id", id)); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

func removeAll(c *Client, rels []string) {
	for _, p := range rels {
		os.Remove(c.abs(p))
	}
}

// expirePartials drops, at open, the partial downloads not resumed for
// files.partialMaxAgeMs (the sweep then removes their files).
func (c *Client) expirePartials(ctx context.Context) error {
	before := c.opts.Now().UnixMilli() - core.Settings.Files.PartialMaxAgeMs
	return c.inTx(ctx, func(tx *stmtTx) error {
		_, err := dropFiles(ctx, tx, "downloads_expired", "download_delete", sql.Named("before", before))
		return err
	})
}

// sweepFiles removes what the files directory holds that no row names: copies, downloads
// and partial downloads a crash left between their write and their transaction, files
// whose rows a transaction deleted before the crash could remove them. Temporary files
// younger than a day are left (another process on the cache may be writing one).
func (c *Client) sweepFiles(ctx context.Context) error {
	known := map[string]bool{}
	for _, q := range []string{"attachments_all", "files_all", "downloads_all"} {
		rows, err := c.db.QueryContext(ctx, core.Statement(q))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, p string
			if err := rows.Scan(&id, &p); err != nil {
				rows.Close()
				return err
			}
			known[p] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, dir := range []string{"up", "cache", "part"} {
		entries, err := os.ReadDir(filepath.Join(c.filesDir(), dir))
		if err != nil {
			continue // not created yet
		}
		for _, e := range entries {
			if known[dir+"/"+e.Name()] {
				continue
			}
			if strings.HasPrefix(e.Name(), "tmp-") {
				if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < 24*time.Hour {
					continue
				}
			}
			os.Remove(filepath.Join(c.filesDir(), dir, e.Name()))
		}
	}
	return nil
}

// uploads is the background syncer's upload worker: it runs the queue at start, after
// each attachment, after each sync that reached the server, and after failures with
// backoff.
func (c *Client) uploads(ctx context.Context, backoff Backoff, wake <-chan struct{}) {
	failures := 0
	for {
		err := c.Upload(ctx)
		if errors.Is(err, ErrSignedOut) || errors.Is(err, ErrOtherUser) {
			return
		}
		next := time.Minute
		if err != nil && ctx.Err() == nil {
			failures++
			next = backoff.wait(failures)
			var se *ServerError
			if errors.As(err, &se) {
				next = max(next, se.RetryAfter)
			}
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(next):
		}
	}
}
