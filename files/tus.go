package files

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/tideline-dev/tideline"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"
)

// ProblemFunc renders an error as the API's problem document: its status and body
// (application/problem+json). The HTTP layer supplies it, so there is one writer of errors.
type ProblemFunc func(ctx context.Context, err error) (status int, body []byte)

// UploadHandler returns the tus server (protocol 1.0.0, extensions creation,
// creation-with-upload and termination) for uploads under basePath (such as
// "/v1/files/uploads/"). It serves POST on basePath and HEAD, PATCH and DELETE on
// basePath/<id> (the request's full path); the caller must be in the request's context (WithCaller). Uploads are
// locked per id within this process (tusd's memory locker: a new request for an upload
// asks the one holding it to stop); across nodes the store's conditional append keeps an
// upload whole, and its claim (Store.ClaimUpload) lets one request at a time finish it. A
// HEAD or a PATCH at the end of an upload that holds every byte but no file finishes it
// (see GetUpload). Errors of this service are problem documents; the protocol's own
// (a wrong Upload-Offset, a missing Tus-Resumable) are tusd's text/plain answers.
func (s *Service) UploadHandler(basePath string, problem ProblemFunc) (http.Handler, error) {
	composer := handler.NewStoreComposer()
	ts := tusStore{s: s, problem: problem}
	composer.UseCore(ts)
	composer.UseTerminater(ts)
	memorylocker.New().UseIn(composer)
	h, err := handler.NewUnroutedHandler(handler.Config{
		BasePath:      basePath,
		StoreComposer: composer,
		// No MaxSize: StartUpload refuses a length over files.maxFileBytes itself, with a
		// problem that names the setting.
		DisableDownload: true, // downloads go through Download, which checks access
		Cors:            &handler.CorsConfig{Disable: true},
		Logger:          expslog.New(expslog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	// tusd reads an upload's id from the path below its base path, as its own router
	// would hand it.
	return http.StripPrefix(strings.TrimSuffix(basePath, "/"), h.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), methodKey{}, r.Method)) // for GetUpload
		switch r.Method {
		case http.MethodPost:
			if r.Header.Get("Upload-Defer-Length") != "" { // tusd would answer 501
				status, body := problem(r.Context(), invalid("size", "must be declared (Upload-Length) when the upload starts"))
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(status)
				_, _ = w.Write(body)
				return
			}
			h.PostFile(w, r)
		case http.MethodHead:
			h.HeadFile(w, r)
		case http.MethodPatch:
			h.PatchFile(w, r)
		case http.MethodDelete:
			h.DelFile(w, r)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))), nil
}

// tusStore is tusd's data store on the Service: every operation is the caller's.
type tusStore struct {
	s       *Service
	problem ProblemFunc
}

func (t tusStore) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	c, ok := CallerFrom(ctx)
	if !ok {
		return nil, t.error(ctx, tideline.Errorf(tideline.CodeUnauthenticated, "Sign in to upload files."))
	}
	if info.SizeIsDeferred {
		return nil, t.error(ctx, invalid("size", "must be declared (Upload-Length) when the upload starts"))
	}
	if info.IsPartial || info.IsFinal {
		return nil, t.error(ctx, invalid("Upload-Concat", "is not supported"))
	}
	u, err := t.s.StartUpload(ctx, c, UploadRequest{Size: info.Size, Name: info.MetaData["filename"],
		ContentType: info.MetaData["filetype"], SHA256: info.MetaData["sha256"]})
	if err != nil {
		return nil, t.error(ctx, err)
	}
	return &tusUpload{t: t, u: u}, nil
}

func (t tusStore) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	c, ok := CallerFrom(ctx)
	if !ok {
		return nil, t.error(ctx, tideline.Errorf(tideline.CodeUnauthenticated, "Sign in to upload files."))
	}
	u, err := t.s.FindUpload(ctx, c, id)
	if err != nil {
		return nil, t.error(ctx, err)
	}
	if method, _ := ctx.Value(methodKey{}).(string); u.Offset >= u.Size && (method == http.MethodHead || method == http.MethodPatch) {
		// Every byte arrived but no file was made of them: the server stopped between the
		// last byte and the commit (or a request on another node is committing it now).
		// Finish it here, so that the client need not send it again (Finish runs once,
		// under the upload's claim, and refuses a wrong hash or an overrun quota as the
		// last PATCH would have). A HEAD then answers 404, which today's clients follow
		// with a conditional GET of the file (304: finished); a PATCH at the end, 204.
		if _, err := t.s.Finish(context.WithoutCancel(ctx), u); err != nil {
			return nil, t.error(ctx, err)
		}
		if method == http.MethodHead {
			return nil, t.error(ctx, tideline.Errorf(tideline.CodeNotFound, "The upload is finished: its file is /v1/files/%s.", u.ID))
		}
	}
	return &tusUpload{t: t, u: u}, nil
}

// methodKey carries the request's method to GetUpload, which tusd calls for HEAD, PATCH
// and DELETE alike.
type methodKey struct{}

func (t tusStore) AsTerminatableUpload(u handler.Upload) handler.TerminatableUpload {
	return u.(*tusUpload)
}

// error turns err into tusd's Error carrying the API's problem document.
func (t tusStore) error(ctx context.Context, err error) error {
	status, body := t.problem(ctx, err)
	return handler.Error{
		ErrorCode: "ERR_" + strings.ToUpper(string(tideline.ErrorCode(err))),
		Message:   tideline.ErrorMessage(err),
		HTTPResponse: handler.HTTPResponse{StatusCode: status, Body: string(body),
			Header: handler.HTTPHeader{"Content-Type": "application/problem+json"}},
	}
}

// tusUpload is one upload, as read when the request began.
type tusUpload struct {
	t tusStore
	u Upload
}

func (tu *tusUpload) GetInfo(context.Context) (handler.FileInfo, error) {
	return handler.FileInfo{ID: tu.u.ID, Size: tu.u.Size, Offset: tu.u.Offset,
		MetaData: handler.MetaData{"filename": tu.u.Name, "filetype": tu.u.ContentType, "sha256": tu.u.SHA256}}, nil
}

func (tu *tusUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	n, err := tu.t.s.Write(ctx, tu.u, offset, src)
	tu.u.Offset = offset + n
	if err != nil {
		if _, ok := err.(*tideline.Error); ok {
			return n, tu.t.error(ctx, err)
		}
		return n, err // the body failed (a dropped connection): tusd says so; what arrived is kept
	}
	return n, nil
}

func (tu *tusUpload) GetReader(context.Context) (io.ReadCloser, error) {
	return nil, handler.ErrNotImplemented
}

func (tu *tusUpload) FinishUpload(ctx context.Context) error {
	// Every byte is in: the commit runs to its end even when tusd cancels the request's
	// context meanwhile (it did, on the MongoDB engine, for a 50 MB file whose copy into
	// GridFS outlasted its timers); the client finds the file under the upload's id.
	ctx = context.WithoutCancel(ctx)
	if _, err := tu.t.s.Finish(ctx, tu.u); err != nil {
		return tu.t.error(ctx, err)
	}
	return nil
}

func (tu *tusUpload) Terminate(ctx context.Context) error {
	if err := tu.t.s.Cancel(ctx, tu.u); err != nil {
		return tu.t.error(ctx, err)
	}
	return nil
}
