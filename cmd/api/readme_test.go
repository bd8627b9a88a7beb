package main

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tryIt returns the shell blocks of README.md's "Try it" section, in order.
func tryIt(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Try it\n")
	if !ok {
		t.Fatal(`README.md has no "## Try it" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// TestReadmeTryIt follows README.md's "Try it" as a newcomer would, copying each shell
// block as it is: only the address (the README's server listens on localhost:8080, this
// one on a free port) and `go run ./cmd/api` (this test's build of it) are replaced. The
// sign-up's token is extracted, the document pushed and pulled, the event stream opened,
// the second push makes a poke arrive, and the refresh gives new tokens.
func TestReadmeTryIt(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's commands need %s, which is not installed", tool)
		}
	}
	blocks := tryIt(t)
	if len(blocks) != 6 {
		t.Fatalf("README.md's Try it has %d shell blocks; this test follows 6: start, sign up, push and pull, events, push again, refresh", len(blocks))
	}
	dataDir := t.TempDir()
	env := []string{"TIDELINE_DATA_DIR=" + dataDir, "TIDELINE_AUTH_ARGON2_MEMORY=64KiB"}

	// Block 1: the admin, then the server (in a terminal of its own).
	start := strings.Split(strings.TrimSpace(blocks[0]), "\n")
	if len(start) != 2 || !strings.HasPrefix(start[0], "go run ./cmd/api admin create ") || start[1] != "go run ./cmd/api" {
		t.Fatalf("the first block is not `admin create`, then the server:\n%s", blocks[0])
	}
	admin := exec.Command("bash", "-c", strings.Replace(start[0], "go run ./cmd/api", binary(t), 1))
	admin.Env, admin.Dir = append(os.Environ(), env...), t.TempDir()
	if out, err := admin.CombinedOutput(); err != nil || !strings.Contains(string(out), "created admin you@example.com") {
		t.Fatalf("%s: %v\n%s", start[0], err, out)
	}
	addr := startAPI(t, env, "--addr", "127.0.0.1:0").waitFor("tideline listening")["addr"].(string)
	here := func(block string) string {
		return strings.ReplaceAll(block, "localhost:8080", strings.TrimPrefix(addr, "http://"))
	}
	// shell runs a block in bash with vars, then prints the named variables, one a line.
	shell := func(block string, vars map[string]string, print ...string) []string {
		t.Helper()
		script := "set -euo pipefail\n" + here(block)
		for _, v := range print {
			script += "\necho \"$" + v + "\""
		}
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = os.Environ()
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v running\n%s\noutput:\n%s", err, block, out)
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		return lines[len(lines)-len(print):]
	}

	// Block 2: sign up, keeping both tokens.
	got := shell(blocks[1], nil, "TOKEN", "REFRESH")
	token, refresh := got[0], got[1]
	if strings.Count(token, ".") != 2 || !strings.HasPrefix(refresh, "tlrt_") {
		t.Fatalf("the sign-up's tokens were not extracted: TOKEN=%q REFRESH=%q", token, refresh)
	}
	vars := map[string]string{"TOKEN": token, "REFRESH": refresh}

	// Block 3: push and pull; the pull has the document.
	pushPull := exec.Command("bash", "-c", "set -euo pipefail\n"+here(blocks[2]))
	pushPull.Env = append(os.Environ(), "TOKEN="+token)
	out, err := pushPull.Output()
	if err != nil || !strings.Contains(string(out), `"status":"applied"`) || !strings.Contains(string(out), `"title":"Buy milk"`) {
		t.Fatalf("push and pull: %v\n%s", err, out)
	}

	// Block 4: the event stream, read line by line as it arrives.
	events := exec.Command("bash", "-c", here(blocks[3]))
	events.Env = append(os.Environ(), "TOKEN="+token)
	stdout, err := events.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = events.Process.Kill(); _ = events.Wait() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	waitEvent := func(name string) {
		t.Helper()
		timeout := time.After(time.Minute)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("the event stream ended before %q", name)
				}
				if line == "event: "+name {
					return
				}
			case <-timeout:
				t.Fatalf("no %q event within a minute", name)
			}
		}
	}
	waitEvent("hello")

	// Block 5: the change with the next mutation id; a poke arrives.
	if !strings.Contains(blocks[4], `"id":2`) {
		t.Fatalf("the second push does not use the next mutation id:\n%s", blocks[4])
	}
	shell(blocks[4], vars)
	waitEvent("poke")
	pull := exec.Command("curl", "-s", addr+"/v1/sync/pull", "-H", "Authorization: Bearer "+token, "-H", "Content-Type: application/json", "-d", "{}")
	if out, err := pull.Output(); err != nil || !strings.Contains(string(out), `"title":"Buy oat milk"`) {
		t.Fatalf("after the second push the pull has: %v\n%s", err, out)
	}

	// Block 6: the refresh gives a new access token and a new refresh token.
	got = shell(blocks[5], vars, "TOKEN", "REFRESH")
	if strings.Count(got[0], ".") != 2 || !strings.HasPrefix(got[1], "tlrt_") || got[1] == refresh {
		t.Fatalf("after the refresh: TOKEN=%q REFRESH=%q", got[0], got[1])
	}
}
