package app

import (
	"context"
	"net/http"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/console"
	"github.com/tideline-dev/tideline/files"
)

// consoleFiles is what the console shows of files (console.Files), from the files service.
type consoleFiles struct{ s *files.Service }

func (c consoleFiles) Attachments(ctx context.Context, fields map[string]any) ([]console.Attachment, error) {
	var out []console.Attachment
	for _, id := range files.Refs(fields) {
		f, err := c.s.Find(ctx, id)
		switch tideline.ErrorCode(err) {
		case "":
			out = append(out, console.Attachment{ID: f.ID, Name: f.Name, ContentType: f.ContentType, SHA256: f.SHA256, Size: f.Size})
		case tideline.CodeNotFound:
			out = append(out, console.Attachment{ID: id, Missing: true})
		default:
			return nil, err
		}
	}
	return out, nil
}

func (c consoleFiles) Storage(ctx context.Context, userID string) (int64, int64, error) {
	used, err := c.s.Usage(ctx, userID)
	_, quota := c.s.Limits()
	return used, quota, err
}

func (c consoleFiles) ServeFile(w http.ResponseWriter, r *http.Request, id string) error {
	f, content, err := c.s.OpenAny(r.Context(), id)
	if err != nil {
		return err
	}
	defer content.Close()
	files.Serve(w, r, f, content)
	return nil
}
