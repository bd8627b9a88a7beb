package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/app/apptest"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/store/enginetest"
	"github.com/tideline-dev/tideline/store/storetest"
)

// The server finishes an upload whose last byte arrived but whose commit did not (the
// server stopped in between): a HEAD or a PATCH at its end commits it then, once.

// crashedUpload starts an upload of data declared with sum ("": its hash) and stores
// every byte of it the way the last PATCH does, without the commit that PATCH would have
// run next: what a server that stopped between the two leaves behind.
func (a *apiTest) crashedUpload(token string, data []byte, sum string) string {
	a.t.Helper()
	up := a.startUpload(token, data, sum)
	if n, err := a.app.Store.Files().WriteUpload(a.t.Context(), fileID(up), 0, bytes.NewReader(data)); err != nil || n != int64(len(data)) {
		a.t.Fatalf("write the upload's bytes: %d, %v", n, err)
	}
	return up
}

// fileIsThere checks that the upload became the file holding data: a conditional GET
// with its hash is 304 (what a client asks after a HEAD's 404), and the bytes are data.
func (a *apiTest) fileIsThere(token, up string, data []byte) {
	a.t.Helper()
	file := "/v1/files/" + fileID(up)
	if rec := a.download(token, file, "If-None-Match", `"`+hexSHA(data)+`"`); rec.Code != 304 {
		a.t.Fatalf("conditional GET of the finished upload's file: %d %s", rec.Code, rec.Body)
	}
	if rec := a.download(token, file); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) {
		a.t.Fatalf("download of the finished upload's file: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// head sends a tus HEAD and checks its status (a HEAD's answer has no body).
func (a *apiTest) head(token, up string, status int) {
	a.t.Helper()
	if rec := a.tus("HEAD", up, token, nil); rec.Code != status {
		a.t.Fatalf("HEAD %s: %d, want %d", up, rec.Code, status)
	}
}

func (a *apiTest) usage(token string) int64 {
	a.t.Helper()
	used, err := a.app.Files.Usage(a.t.Context(), a.userID(token))
	if err != nil {
		a.t.Fatal(err)
	}
	return used
}

// TestUploadFinishedAfterACrash: an upload holding every byte and no file is finished by
// its owner's HEAD (answered 404, after which the file answers 304 to the conditional GET
// today's clients send) or by a PATCH at its end (204), once; not by another user's HEAD;
// a wrong hash or an overrun quota found then refuses it as the last PATCH would have,
// leaving nothing behind; a claim left by a server that stopped while finishing it holds
// others off (409) until it runs out. On both engines.
func TestUploadFinishedAfterACrash(t *testing.T) {
	t.Parallel()
	enginetest.Each(t, func(t *testing.T, engine string) {
		t.Parallel()
		a := newAPIWith(t, apptest.Options{Engine: engine, Config: func(c *app.Config) { c.Files.QuotaBytes = 2_000_000 }})
		ada, bob := a.signUp("ada@example.com").AccessToken, a.signUp("bob@example.com").AccessToken
		store := a.app.Store.Files()
		gone := func(up string) {
			t.Helper()
			if _, err := store.FindUpload(t.Context(), fileID(up)); tideline.ErrorCode(err) != tideline.CodeNotFound {
				t.Fatalf("the upload is still there: %v", err)
			}
		}

		t.Run("Head", func(t *testing.T) {
			data := content(600_000, 21) // several parts on MongoDB
			up := a.crashedUpload(ada, data, "")
			before := a.usage(ada)
			// Another user's HEAD, and ids that are no upload, finish nothing.
			a.head(bob, up, 404)
			a.head(ada, "/v1/files/uploads/"+tideline.NewID(), 404)
			a.head(ada, "/v1/files/uploads/not-an-id", 404)
			if u, err := store.FindUpload(t.Context(), fileID(up)); err != nil || u.Offset != int64(len(data)) {
				t.Fatalf("the upload after others' HEADs: %+v, %v", u, err)
			}
			if rec := a.download(ada, "/v1/files/"+fileID(up), "If-None-Match", `"`+hexSHA(data)+`"`); rec.Code != 404 {
				t.Fatalf("a file before the owner's HEAD: %d", rec.Code)
			}
			a.head(ada, up, 404)
			gone(up)
			a.fileIsThere(ada, up, data)
			if used := a.usage(ada); used != before+int64(len(data)) {
				t.Fatalf("usage %d, want %d", used, before+int64(len(data)))
			}
			// Again: nothing more happens.
			a.head(ada, up, 404)
			if rec := a.patchUpload(ada, up, len(data), []byte{}); rec.Code != 404 {
				t.Fatalf("PATCH after the finish: %d %s", rec.Code, rec.Body)
			}
			if used := a.usage(ada); used != before+int64(len(data)) {
				t.Fatalf("usage %d after a second HEAD, want %d", used, before+int64(len(data)))
			}
		})

		t.Run("PatchAtTheEnd", func(t *testing.T) {
			data := content(1000, 22)
			up := a.crashedUpload(ada, data, "")
			checkProblem(t, a.patchUpload(bob, up, len(data), []byte{}), 404, tideline.CodeNotFound)
			rec := a.patchUpload(ada, up, len(data), []byte{})
			if rec.Code != 204 || rec.Header().Get("Upload-Offset") != strconv.Itoa(len(data)) {
				t.Fatalf("PATCH at the end: %d %v %s", rec.Code, rec.Header(), rec.Body)
			}
			gone(up)
			a.fileIsThere(ada, up, data)
		})

		t.Run("Empty", func(t *testing.T) { // an empty upload is finished by its creation
			up := a.startUpload(ada, nil, "")
			a.fileIsThere(ada, up, nil)
			a.head(ada, up, 404)
		})

		t.Run("WrongHash", func(t *testing.T) {
			data := content(5000, 23)
			up := a.crashedUpload(ada, data, hexSHA(content(5000, 24)))
			before := a.usage(ada)
			a.head(ada, up, 400) // a HEAD has no body: the status says it
			gone(up)
			a.head(ada, up, 404)
			if rec := a.download(ada, "/v1/files/"+fileID(up), "If-None-Match", `"`+hexSHA(data)+`"`); rec.Code != 404 {
				t.Fatalf("a refused upload's file: %d", rec.Code)
			}
			if used := a.usage(ada); used != before {
				t.Fatalf("usage %d after a refusal, want %d", used, before)
			}
		})

		t.Run("Quota", func(t *testing.T) {
			// Each fits the quota when it starts; the second no longer does when it ends.
			used := a.usage(bob)
			first, second := content(1_200_000-int(used), 25), content(900_000, 26)
			up1, up2 := a.startUpload(bob, first, ""), a.startUpload(bob, second, "")
			if rec := a.patchUpload(bob, up1, 0, first); rec.Code != 204 {
				t.Fatalf("first: %d %s", rec.Code, rec.Body)
			}
			if n, err := store.WriteUpload(t.Context(), fileID(up2), 0, bytes.NewReader(second)); err != nil || n != int64(len(second)) {
				t.Fatalf("write: %d %v", n, err)
			}
			p := checkProblem(t, a.patchUpload(bob, up2, len(second), []byte{}), 413, tideline.CodeTooLarge)
			if p.Setting != "files.quotaBytes" {
				t.Fatalf("problem %+v", p)
			}
			gone(up2)
			if got := a.usage(bob); got != 1_200_000 {
				t.Fatalf("usage %d, want 1200000", got)
			}
		})

		t.Run("ClaimOfAStoppedServer", func(t *testing.T) {
			data := content(3000, 27)
			up := a.crashedUpload(ada, data, "")
			// A server took the claim to finish it, then stopped.
			now := a.app.Clock.Now()
			if ok, err := store.ClaimUpload(t.Context(), fileID(up), now, now.Add(10*time.Minute)); err != nil || !ok {
				t.Fatalf("ClaimUpload = %v, %v", ok, err)
			}
			a.head(ada, up, 409)
			checkProblem(t, a.patchUpload(ada, up, len(data), []byte{}), 409, tideline.CodeConflict)
			if u, err := store.FindUpload(t.Context(), fileID(up)); err != nil || u.Offset != int64(len(data)) {
				t.Fatalf("the claimed upload: %+v, %v", u, err)
			}
			a.app.Clock.Advance(10 * time.Minute) // the claim runs out
			a.head(ada, up, 404)
			gone(up)
			a.fileIsThere(ada, up, data)
		})

		t.Run("DeleteStillCancels", func(t *testing.T) {
			data := content(2000, 28)
			up := a.crashedUpload(ada, data, "")
			if rec := a.tus("DELETE", up, ada, nil); rec.Code != 204 {
				t.Fatalf("DELETE: %d %s", rec.Code, rec.Body)
			}
			gone(up)
			if rec := a.download(ada, "/v1/files/"+fileID(up)); rec.Code != 404 {
				t.Fatalf("a canceled upload's file: %d", rec.Code)
			}
		})
	})
}

// TestUploadFinishedOnce: HEADs at once on an upload that holds every byte and no file
// beside the service's own Finish (as the PATCH that brought the last byte runs it), and
// on a real MongoDB from two nodes of one deployment, which share no lock but the
// database, make one file of it, charged once; each answer is the finish (404) or "being
// finished" (409).
func TestUploadFinishedOnce(t *testing.T) {
	t.Parallel()
	enginetest.Each(t, func(t *testing.T, engine string) {
		t.Parallel()
		a := newAPIWith(t, apptest.Options{Engine: engine})
		nodes := []http.Handler{a.srv}
		// A second node is a second client of the database. FerretDB v1, the test server,
		// does not keep conditional updates atomic between clients (docs/architecture.md),
		// so the nodes' race is run on a real MongoDB only (TIDELINE_TEST_MONGODB_URI).
		if engine == enginetest.MongoDB && !storetest.IsFerretDB() {
			nodes = append(nodes, apptest.New(t, apptest.Options{Engine: engine, NodeOf: a.app}).API)
		}
		ada := a.signUp("ada@example.com").AccessToken
		for round := range 3 {
			data := content(300_000+round, byte(30+round))
			up := a.crashedUpload(ada, data, "")
			before := a.usage(ada)
			u, err := a.app.Files.FindUpload(t.Context(), files.Caller{UserID: a.userID(ada)}, fileID(up))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			codes := make([]int, 4)
			for i := range codes {
				wg.Go(func() {
					r := httptest.NewRequest("HEAD", up, nil)
					r.Header.Set("Authorization", "Bearer "+ada)
					r.Header.Set("Tus-Resumable", "1.0.0")
					rec := httptest.NewRecorder()
					nodes[i%len(nodes)].ServeHTTP(rec, r)
					codes[i] = rec.Code
				})
			}
			var finishErr error
			wg.Go(func() { _, finishErr = a.app.Files.Finish(t.Context(), u) })
			wg.Wait()
			t.Logf("round %d: HEADs answered %v, Finish %v", round, codes, finishErr)
			for _, code := range codes {
				switch code {
				case 404, 409:
				default:
					t.Fatalf("round %d: HEADs answered %v", round, codes)
				}
			}
			if c := tideline.ErrorCode(finishErr); c != "" && c != tideline.CodeConflict {
				t.Fatalf("round %d: Finish: %v", round, finishErr)
			}
			// Whoever lost, a HEAD now finds it finished.
			a.head(ada, up, 404)
			a.fileIsThere(ada, up, data)
			if used := a.usage(ada); used != before+int64(len(data)) {
				t.Fatalf("round %d: usage %d, want %d (charged once); HEADs %v, Finish %v", round, used, before+int64(len(data)), codes, finishErr)
			}
		}
	})
}

// TestSweeperFinishesStuckUploads: an upload holding every byte and no file that nobody
// comes back for is finished by the sweeper once files' settle time (an hour) has passed
// since it started, so a client that comes back later, even after files.uploadExpiry,
// finds the file; one with the wrong hash is refused and deleted; one still receiving
// bytes, and one that another request is finishing, are left alone. On both engines.
func TestSweeperFinishesStuckUploads(t *testing.T) {
	t.Parallel()
	enginetest.Each(t, func(t *testing.T, engine string) {
		t.Parallel()
		a := newAPIWith(t, apptest.Options{Engine: engine})
		ada := a.signUp("ada@example.com").AccessToken
		stuckData, wrongData, partialData, claimedData := content(300_000, 41), content(2000, 42), content(2000, 43), content(2000, 44)
		stuck := a.crashedUpload(ada, stuckData, "")
		wrong := a.crashedUpload(ada, wrongData, hexSHA(content(2000, 45)))
		partial := a.startUpload(ada, partialData, "")
		if rec := a.patchUpload(ada, partial, 0, partialData[:1000]); rec.Code != 204 {
			t.Fatalf("PATCH: %d %s", rec.Code, rec.Body)
		}
		claimed := a.crashedUpload(ada, claimedData, "")
		login := func() string {
			t.Helper()
			return decode[sessionBody](t, a.call("POST", "/v1/auth/login", "", map[string]any{"email": "ada@example.com", "password": password}), 200).AccessToken
		}
		sweep := func() files.SweepResult {
			t.Helper()
			res, err := a.app.Files.Sweep(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		if res := sweep(); res.Finished != 0 || res.Uploads != 0 {
			t.Fatalf("a sweep right away: %+v; want nothing finished", res)
		}
		a.app.Clock.Advance(2 * time.Hour)
		now := a.app.Clock.Now() // a server is finishing "claimed" (or stopped doing so)
		if ok, err := a.app.Store.Files().ClaimUpload(t.Context(), fileID(claimed), now, now.Add(time.Hour)); err != nil || !ok {
			t.Fatalf("ClaimUpload = %v, %v", ok, err)
		}
		if res := sweep(); res.Finished != 1 || res.Uploads != 1 {
			t.Fatalf("sweep: %+v; want one finished, one refused", res)
		}
		ada = login() // the client comes back (its access token expired meanwhile)
		a.head(ada, stuck, 404)
		a.fileIsThere(ada, stuck, stuckData)
		a.head(ada, wrong, 404)
		if rec := a.download(ada, "/v1/files/"+fileID(wrong)); rec.Code != 404 {
			t.Fatalf("the refused upload's file: %d", rec.Code)
		}
		if rec := a.tus("HEAD", partial, ada, nil); rec.Code != 200 || rec.Header().Get("Upload-Offset") != "1000" {
			t.Fatalf("HEAD of the partial upload: %d %v", rec.Code, rec.Header())
		}
		a.head(ada, claimed, 409)
		a.app.Clock.Advance(time.Hour) // the claim runs out
		if res := sweep(); res.Finished != 1 {
			t.Fatalf("sweep after the claim ran out: %+v; want it finished", res)
		}
		ada = login()
		a.fileIsThere(ada, claimed, claimedData)
		if used := a.usage(ada); used != int64(len(stuckData)+len(claimedData)) {
			t.Fatalf("usage %d, want %d", used, len(stuckData)+len(claimedData))
		}
	})
}
