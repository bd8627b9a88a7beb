package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

// uploadsPath is where the tus server lives; an upload's URL is uploadsPath + its id.
const uploadsPath = "/v1/files/uploads/"

// uploadRoute is the route whose body is an upload's bytes, as large as a file may be:
// the request body limit (http.maxBodyBytes) does not apply to it, the tus server bounds
// it by the upload's declared length.
const uploadRoute = "PATCH /v1/files/uploads/:uploadId"

// newUploads builds the tus server on the files service, its errors rendered by the one
// problem writer's rules.
func (s *Server) newUploads() (http.Handler, error) {
	if s.cfg.Files == nil {
		return nil, nil
	}
	return s.cfg.Files.UploadHandler(uploadsPath, func(ctx context.Context, err error) (int, []byte) {
		p := problemFor(err, tideline.RequestID(ctx))
		if p.Status >= 500 {
			s.log.ErrorContext(ctx, "upload failed", "request_id", p.RequestId, "code", p.Code, "err", err.Error())
		}
		body, _ := json.Marshal(p)
		return p.Status, body
	})
}

var errNoFiles = tideline.Errorf(tideline.CodeNotFound, "Files are not served by this server.")

// upload hands a tus request to the tus server, with the authenticated caller.
func (s *Server) upload(c *gin.Context) {
	if s.uploads == nil {
		writeProblem(c, s.log, errNoFiles)
		return
	}
	p, _ := auth.PrincipalFrom(c.Request.Context())
	ctx := files.WithCaller(c.Request.Context(), files.Caller{UserID: p.UserID, Roles: p.Roles})
	w := &tusErrors{ResponseWriter: c.Writer, requestID: requestID(c)}
	s.uploads.ServeHTTP(w, c.Request.WithContext(ctx))
	w.flush()
}

// tusErrors turns the tus server's own error answers (text/plain "ERR_...: message": a
// wrong Upload-Offset, a missing Tus-Resumable) into problem documents, so that every
// error of the API is one. The service's errors are problem documents already.
type tusErrors struct {
	http.ResponseWriter
	requestID string
	status    int
	body      []byte
}

func (w *tusErrors) WriteHeader(status int) {
	if status >= 400 && strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.status = status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *tusErrors) Write(b []byte) (int, error) {
	if w.status != 0 {
		w.body = append(w.body, b...)
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets the tus server reach the connection (read deadlines).
func (w *tusErrors) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// tusCodes are the codes of the tus server's statuses.
var tusCodes = map[int]tideline.Code{
	http.StatusBadRequest: tideline.CodeInvalid, http.StatusNotFound: tideline.CodeNotFound, http.StatusConflict: tideline.CodeConflict,
	http.StatusGone: tideline.CodeGone, http.StatusPreconditionFailed: tideline.CodeInvalid, http.StatusRequestEntityTooLarge: tideline.CodeTooLarge,
	http.StatusUnsupportedMediaType: tideline.CodeUnsupportedMediaType, http.StatusMethodNotAllowed: tideline.CodeMethodNotAllowed,
	http.StatusForbidden: tideline.CodeForbidden, 460: tideline.CodeInvalid,
}

func (w *tusErrors) flush() {
	if w.status == 0 {
		return
	}
	code, ok := tusCodes[w.status]
	detail := strings.TrimSpace(string(w.body))
	if _, msg, found := strings.Cut(detail, ": "); found {
		detail = msg
	}
	if !ok {
		code, detail = tideline.CodeInternal, internalDetail
	}
	if detail != "" && ok {
		detail = strings.ToUpper(detail[:1]) + strings.TrimSuffix(detail[1:], ".") + "."
	}
	p := oapi.Problem{Type: "about:blank", Title: http.StatusText(w.status), Status: w.status, Code: string(code), RequestId: w.requestID, Detail: &detail}
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Del("Content-Length")
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(body)
}

// viaOf is the document a download names: both collection and doc, or neither.
func viaOf(collection, doc *string) (*files.Via, error) {
	switch {
	case collection != nil && doc != nil:
		return &files.Via{Collection: *collection, ID: *doc}, nil
	case collection != nil || doc != nil:
		return nil, &tideline.Error{Code: tideline.CodeInvalid, Message: "Name the document with both collection and doc, or neither.",
			Fields: map[string]string{"doc": "goes with collection"}}
	}
	return nil, nil
}

// download serves a file to a caller who may read it (files.Service.Open).
func (s *Server) download(c *gin.Context, id string, params oapi.DownloadFileParams) {
	if s.cfg.Files == nil {
		writeProblem(c, s.log, errNoFiles)
		return
	}
	via, err := viaOf(params.Collection, params.Doc)
	if err != nil {
		writeProblem(c, s.log, err)
		return
	}
	p, _ := auth.PrincipalFrom(c.Request.Context())
	f, content, err := s.cfg.Files.Open(c.Request.Context(), files.Caller{UserID: p.UserID, Roles: p.Roles}, id, via)
	if err != nil {
		writeProblem(c, s.log, err)
		return
	}
	defer content.Close()
	files.Serve(c.Writer, c.Request, f, content)
}

func (r routes) CreateUpload(c *gin.Context, _ oapi.CreateUploadParams) { r.srv.upload(c) }
func (r routes) GetUploadOffset(c *gin.Context, _ oapi.UploadId)        { r.srv.upload(c) }
func (r routes) WriteUpload(c *gin.Context, _ oapi.UploadId, _ oapi.WriteUploadParams) {
	r.srv.upload(c)
}
func (r routes) CancelUpload(c *gin.Context, _ oapi.UploadId, _ oapi.CancelUploadParams) {
	r.srv.upload(c)
}

// downloadSigned serves a file through a signed URL, with no credentials
// (files.Service.OpenSigned).
func (s *Server) downloadSigned(c *gin.Context, id string, params oapi.DownloadSignedFileParams) {
	if s.cfg.Files == nil {
		writeProblem(c, s.log, errNoFiles)
		return
	}
	f, content, err := s.cfg.Files.OpenSigned(c.Request.Context(), id, params.Expires, params.Sig)
	if err != nil {
		writeProblem(c, s.log, err)
		return
	}
	defer content.Close()
	files.Serve(c.Writer, c.Request, f, content)
}

// CreateFileUrl signs a download URL for a caller who may read the file.
func (s *Server) CreateFileUrl(ctx context.Context, r oapi.CreateFileUrlRequestObject) (oapi.CreateFileUrlResponseObject, error) {
	if s.cfg.Files == nil {
		return nil, errNoFiles
	}
	via, err := viaOf(r.Params.Collection, r.Params.Doc)
	if err != nil {
		return nil, err
	}
	p := principal(ctx)
	u, expires, err := s.cfg.Files.SignURL(ctx, files.Caller{UserID: p.UserID, Roles: p.Roles}, r.FileId, via)
	if err != nil {
		return nil, err
	}
	return oapi.CreateFileUrl200JSONResponse{Url: u, ExpiresAt: expires}, nil
}

func (r routes) DownloadFile(c *gin.Context, id string, params oapi.DownloadFileParams) {
	r.srv.download(c, id, params)
}
func (r routes) DownloadSignedFile(c *gin.Context, id string, params oapi.DownloadSignedFileParams) {
	r.srv.downloadSigned(c, id, params)
}

// errRawRoute is what the strict layer would return for the routes served by the tus
// server and by download (see routes); it never calls them.
var errRawRoute = errors.New("served outside the strict layer")

func (s *Server) CreateUpload(context.Context, oapi.CreateUploadRequestObject) (oapi.CreateUploadResponseObject, error) {
	return nil, errRawRoute
}

func (s *Server) GetUploadOffset(context.Context, oapi.GetUploadOffsetRequestObject) (oapi.GetUploadOffsetResponseObject, error) {
	return nil, errRawRoute
}

func (s *Server) WriteUpload(context.Context, oapi.WriteUploadRequestObject) (oapi.WriteUploadResponseObject, error) {
	return nil, errRawRoute
}

func (s *Server) CancelUpload(context.Context, oapi.CancelUploadRequestObject) (oapi.CancelUploadResponseObject, error) {
	return nil, errRawRoute
}

func (s *Server) DownloadFile(context.Context, oapi.DownloadFileRequestObject) (oapi.DownloadFileResponseObject, error) {
	return nil, errRawRoute
}

func (s *Server) DownloadSignedFile(context.Context, oapi.DownloadSignedFileRequestObject) (oapi.DownloadSignedFileResponseObject, error) {
	return nil, errRawRoute
}
