package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/app/apptest"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/enginetest"
)

// The files benchmarks (docs/benchmarks.md, "Files"): a 50 MB file uploaded (tus: create,
// then one PATCH with every byte) and downloaded through the server over loopback HTTP, on
// each engine, beside the same bytes written to and read from the disk directly
// (BenchmarkRawDisk50MB); and 1,000 files of 100 KB. The MongoDB engine runs on the test
// server, FerretDB v1 on SQLite, one connection: its numbers say what FerretDB does, not
// what MongoDB would; store/mongo's BenchmarkRawGridFS50MB is its baseline.

const benchBig = 50 << 20

type benchServer struct {
	base  string
	token string
	c     *http.Client
}

func newBenchServer(b *testing.B, engine string) *benchServer {
	b.Helper()
	a := apptest.New(b, apptest.Options{Engine: engine, Config: func(c *app.Config) { c.Files.MaxFileBytes = 200 << 20 }})
	res, err := a.Auth.SignUp(b.Context(), "bench@example.com", "correct horse battery staple", auth.Client{IP: "192.0.2.1"})
	if err != nil {
		b.Fatal(err)
	}
	return &benchServer{base: a.Serve(), token: res.Tokens.AccessToken, c: &http.Client{}}
}

func (s *benchServer) do(b *testing.B, method, url string, body io.Reader, headers ...string) *http.Response {
	b.Helper()
	req, err := http.NewRequestWithContext(b.Context(), method, url, body)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	return resp
}

// upload sends data as a file and returns its id.
func (s *benchServer) upload(b *testing.B, data []byte) string {
	b.Helper()
	meta := "sha256 " + base64.StdEncoding.EncodeToString([]byte(hexSHA(data)))
	resp := s.do(b, "POST", s.base+"/v1/files/uploads", nil, "Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(len(data)), "Upload-Metadata", meta)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 201 {
		b.Fatalf("create upload: %d", resp.StatusCode)
	}
	if loc[0] == '/' {
		loc = s.base + loc
	}
	resp = s.do(b, "PATCH", loc, bytes.NewReader(data), "Tus-Resumable", "1.0.0", "Upload-Offset", "0", "Content-Type", "application/offset+octet-stream")
	resp.Body.Close()
	if resp.StatusCode != 204 {
		b.Fatalf("upload: %d", resp.StatusCode)
	}
	return fileID(loc)
}

func (s *benchServer) download(b *testing.B, id string, size int) {
	b.Helper()
	resp := s.do(b, "GET", s.base+"/v1/files/"+id, nil)
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || n != int64(size) {
		b.Fatalf("download: %d, %d bytes, %v", resp.StatusCode, n, err)
	}
}

// unique is n bytes that no other k gives: no two benchmark files share their content.
func unique(n, k int) []byte {
	b := content(n, byte(k))
	copy(b, fmt.Sprintf("%016x", k))
	return b
}

func BenchmarkFileUpload50MB(b *testing.B) {
	for _, engine := range enginetest.Names {
		b.Run(engine, func(b *testing.B) {
			s := newBenchServer(b, engine)
			b.SetBytes(benchBig)
			for i := 0; b.Loop(); i++ {
				s.upload(b, unique(benchBig, i)) // new content each time: no deduplication
			}
		})
	}
}

func BenchmarkFileDownload50MB(b *testing.B) {
	for _, engine := range enginetest.Names {
		b.Run(engine, func(b *testing.B) {
			s := newBenchServer(b, engine)
			id := s.upload(b, unique(benchBig, -1))
			b.SetBytes(benchBig)
			for b.Loop() {
				s.download(b, id, benchBig)
			}
		})
	}
}

// BenchmarkRawDisk50MB is the limit: the same bytes written to a new file on the same
// disk, in 1 MiB writes, flushed (fsync), then read back.
func BenchmarkRawDisk50MB(b *testing.B) {
	dir := b.TempDir()
	b.Run("write", func(b *testing.B) {
		b.SetBytes(benchBig)
		for i := 0; b.Loop(); i++ {
			data := unique(benchBig, i)
			f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
			if err != nil {
				b.Fatal(err)
			}
			for off := 0; off < len(data); off += 1 << 20 {
				if _, err := f.Write(data[off:min(off+1<<20, len(data))]); err != nil {
					b.Fatal(err)
				}
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("read", func(b *testing.B) {
		path := filepath.Join(dir, "read")
		if err := os.WriteFile(path, content(benchBig, 1), 0o600); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchBig)
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, f); err != nil || n != benchBig {
				b.Fatal(n, err)
			}
			f.Close()
		}
	})
}

// BenchmarkSmallFiles: 1,000 files of 100 KB, uploaded one after the other (an op is all
// 1,000), then downloaded.
func BenchmarkSmallFiles(b *testing.B) {
	const n, size = 1000, 100 << 10
	for _, engine := range enginetest.Names {
		b.Run(engine, func(b *testing.B) {
			s := newBenchServer(b, engine)
			var ids []string
			b.Run("upload", func(b *testing.B) {
				b.SetBytes(n * size)
				for i := 0; b.Loop(); i++ {
					ids = ids[:0]
					for j := range n {
						ids = append(ids, s.upload(b, unique(size, i*n+j)))
					}
				}
			})
			b.Run("download", func(b *testing.B) {
				if len(ids) < n {
					b.Skip("the upload did not run")
				}
				b.SetBytes(n * size)
				for b.Loop() {
					for _, id := range ids {
						s.download(b, id, size)
					}
				}
			})
		})
	}
}
