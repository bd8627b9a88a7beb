package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
)

// Report is what a run measured; its JSON form is written by --json.
type Report struct {
	Run        RunInfo          `json:"run"`
	Throughput Throughput       `json:"throughput"`
	Latency    Latencies        `json:"latency"`
	Auth       AuthInfo         `json:"auth"`
	Server     *ServerInfo      `json:"server,omitempty"`
	Errors     map[string]int64 `json:"errors"`
}

type RunInfo struct {
	Server             string  `json:"server"`
	RunID              string  `json:"runId"`
	Client             string  `json:"client"`
	Devices            int     `json:"devices"`
	StreamDevices      int     `json:"streamDevices"`
	Users              int     `json:"users"`
	WritesPerSecTarget float64 `json:"writesPerSecTarget"`
	ShareRate          float64 `json:"shareRate"`
	ShareCollection    string  `json:"shareCollection,omitempty"`
	// Protocol is the sync protocol the devices spoke (--protocol).
	Protocol int `json:"protocol"`
	// AccessTokenLifetimeSec is the expiresIn of the sign-ups' access tokens.
	AccessTokenLifetimeSec int64   `json:"accessTokenLifetimeSec"`
	DurationSec            float64 `json:"durationSec"`
	Partial                bool    `json:"partial"`
	LoadgenCPUSeconds      float64 `json:"loadgenCpuSeconds"`
}

// Throughput counts what was done while the load ran. Mutations are the writes the
// server acknowledged (one mutation per push), by kind: puts and patches of the user's
// own documents, and shares (puts of a shared document). Pulls are the reads.
type Throughput struct {
	Mutations       int64   `json:"mutations"`
	MutationsPerSec float64 `json:"mutationsPerSec"`
	Puts            int64   `json:"puts"`
	Patches         int64   `json:"patches"`
	Shares          int64   `json:"shares"`
	Pulls           int64   `json:"pulls"`
	PullsPerSec     float64 `json:"pullsPerSec"`
	PullsPerWrite   float64 `json:"pullsPerWrite"`
	ChangesReceived int64   `json:"changesReceived"`
	// StreamMessages are the changes messages the streams delivered (protocol 2), and
	// Handovers the pulls that made a stream live.
	StreamMessages int64 `json:"streamMessages"`
	Handovers      int64 `json:"handovers"`
	WritesSkipped  int64 `json:"writesSkipped"`
}

// Latencies: propagation is from sending a write to its pull by another device of the
// writer's user (Propagation, PropagationStream, PropagationPoll), or by a device of the
// user it was shared with (PropagationShared*).
type Latencies struct {
	Push                    Latency `json:"push"`
	Pull                    Latency `json:"pull"`
	Propagation             Latency `json:"propagation"`
	PropagationStream       Latency `json:"propagationStream"`
	PropagationPoll         Latency `json:"propagationPoll"`
	PropagationSharedStream Latency `json:"propagationSharedStream"`
	PropagationSharedPoll   Latency `json:"propagationSharedPoll"`
}

// AuthInfo counts the sessions' token refreshes over the whole run (sign-ups included).
type AuthInfo struct {
	// Refreshes is every successful POST /v1/auth/refresh.
	Refreshes int64 `json:"refreshes"`
	// RefreshesOnDemand are those made because a request got a 401 or a stream "expired"
	// before the session's proactive refresh (at two thirds of the token's lifetime).
	RefreshesOnDemand int64 `json:"refreshesOnDemand"`
	// RetriedAfter401 counts requests (and stream dials) sent again with a renewed token
	// after a 401; a 401 that remains is an error.
	RetriedAfter401 int64 `json:"retriedAfter401"`
	// StreamReauths counts the streams' answers to "expired" with a renewed token.
	StreamReauths int64 `json:"streamReauths"`
}

type ServerInfo struct {
	CPUSeconds   float64 `json:"cpuSeconds"`
	CPUCoresAvg  float64 `json:"cpuCoresAvg"`
	RSSBeforeMiB float64 `json:"rssBeforeMiB"`
	RSSAfterMiB  float64 `json:"rssAfterMiB"`
}

type latencyLine struct {
	name string
	l    Latency
}

func (r *Report) writeText(w io.Writer) {
	partial := ""
	if r.Run.Partial {
		partial = " (interrupted: partial)"
	}
	fmt.Fprintf(w, "\nloadgen report%s: %s, run %s\n", partial, r.Run.Server, r.Run.RunID)
	fmt.Fprintf(w, "  %d devices (%d on the stream, %d polling) of %d users, %.1f s, target %g writes/s",
		r.Run.Devices, r.Run.StreamDevices, r.Run.Devices-r.Run.StreamDevices, r.Run.Users, r.Run.DurationSec, r.Run.WritesPerSecTarget)
	if r.Run.ShareRate > 0 {
		fmt.Fprintf(w, ", %g of them shares (collection %q)", r.Run.ShareRate, r.Run.ShareCollection)
	}
	fmt.Fprintln(w)
	t := r.Throughput
	fmt.Fprintf(w, "throughput\n  writes %d (%.1f/s): puts %d, patches with an increment %d, shares %d; skipped (too many in flight) %d\n",
		t.Mutations, t.MutationsPerSec, t.Puts, t.Patches, t.Shares, t.WritesSkipped)
	fmt.Fprintf(w, "  reads (pulls) %d (%.1f/s, %.2f per write), changes received %d\n", t.Pulls, t.PullsPerSec, t.PullsPerWrite, t.ChangesReceived)
	fmt.Fprintf(w, "  stream messages (protocol %d) %d, hand-overs %d\n", r.Run.Protocol, t.StreamMessages, t.Handovers)
	fmt.Fprintf(w, "latency (ms)                       count      p50      p95      p99      max\n")
	lines := []latencyLine{{"push (write)", r.Latency.Push}, {"pull (read)", r.Latency.Pull}, {"propagation (all)", r.Latency.Propagation},
		{"propagation (stream)", r.Latency.PropagationStream}, {"propagation (poll)", r.Latency.PropagationPoll}}
	if r.Run.ShareRate > 0 {
		lines = append(lines, latencyLine{"propagation, shared (stream)", r.Latency.PropagationSharedStream},
			latencyLine{"propagation, shared (poll)", r.Latency.PropagationSharedPoll})
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-30s %8d %8.1f %8.1f %8.1f %8.1f\n", l.name, l.l.Count, l.l.P50, l.l.P95, l.l.P99, l.l.Max)
	}
	fmt.Fprintln(w, "  (propagation: a write to its pull by another device of its user; shared: by a device of the user it was shared with)")
	a := r.Auth
	fmt.Fprintf(w, "auth\n  access token lifetime %d s; refreshes %d (%d on demand: after a 401 or a stream's \"expired\"); requests resent after a 401 %d; stream re-auths %d\n",
		r.Run.AccessTokenLifetimeSec, a.Refreshes, a.RefreshesOnDemand, a.RetriedAfter401, a.StreamReauths)
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server (from /metrics)\n  CPU %.2f s (%.2f cores on average)   RSS %.1f MiB before, %.1f MiB after\n",
			s.CPUSeconds, s.CPUCoresAvg, s.RSSBeforeMiB, s.RSSAfterMiB)
	} else {
		fmt.Fprintln(w, "server: /metrics not read")
	}
	fmt.Fprintf(w, "load generator\n  CPU %.2f s (%.2f cores on average)\n", r.Run.LoadgenCPUSeconds, r.Run.LoadgenCPUSeconds/max(r.Run.DurationSec, 0.01))
	fmt.Fprintln(w, "errors")
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "  none")
	}
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-30s %d\n", k, r.Errors[k])
	}
}

func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
