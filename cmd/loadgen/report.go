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
	DurationSec        float64 `json:"durationSec"`
	Partial            bool    `json:"partial"`
	LoadgenCPUSeconds  float64 `json:"loadgenCpuSeconds"`
}

type Throughput struct {
	Mutations       int64   `json:"mutations"`
	MutationsPerSec float64 `json:"mutationsPerSec"`
	Pulls           int64   `json:"pulls"`
	PullsPerSec     float64 `json:"pullsPerSec"`
	ChangesReceived int64   `json:"changesReceived"`
	WritesSkipped   int64   `json:"writesSkipped"`
}

type Latencies struct {
	Push              Latency `json:"push"`
	Pull              Latency `json:"pull"`
	Propagation       Latency `json:"propagation"`
	PropagationStream Latency `json:"propagationStream"`
	PropagationPoll   Latency `json:"propagationPoll"`
}

type ServerInfo struct {
	CPUSeconds   float64 `json:"cpuSeconds"`
	CPUCoresAvg  float64 `json:"cpuCoresAvg"`
	RSSBeforeMiB float64 `json:"rssBeforeMiB"`
	RSSAfterMiB  float64 `json:"rssAfterMiB"`
}

func (r *Report) writeText(w io.Writer) {
	partial := ""
	if r.Run.Partial {
		partial = " (interrupted: partial)"
	}
	fmt.Fprintf(w, "\nloadgen report%s: %s, run %s\n", partial, r.Run.Server, r.Run.RunID)
	fmt.Fprintf(w, "  %d devices (%d on the stream, %d polling) of %d users, %.1f s, target %g writes/s\n",
		r.Run.Devices, r.Run.StreamDevices, r.Run.Devices-r.Run.StreamDevices, r.Run.Users, r.Run.DurationSec, r.Run.WritesPerSecTarget)
	t := r.Throughput
	fmt.Fprintf(w, "throughput\n  mutations %d (%.1f/s)   pulls %d (%.1f/s)   changes received %d   writes skipped %d\n",
		t.Mutations, t.MutationsPerSec, t.Pulls, t.PullsPerSec, t.ChangesReceived, t.WritesSkipped)
	fmt.Fprintf(w, "latency (ms)             count      p50      p95      p99      max\n")
	for _, l := range []struct {
		name string
		l    Latency
	}{{"push", r.Latency.Push}, {"pull", r.Latency.Pull}, {"propagation (all)", r.Latency.Propagation},
		{"propagation (stream)", r.Latency.PropagationStream}, {"propagation (poll)", r.Latency.PropagationPoll}} {
		fmt.Fprintf(w, "  %-20s %8d %8.1f %8.1f %8.1f %8.1f\n", l.name, l.l.Count, l.l.P50, l.l.P95, l.l.P99, l.l.Max)
	}
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
