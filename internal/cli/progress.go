package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Progress draws a run's progress as its events arrive: on a terminal,
// one bar per step redrawn in place; elsewhere (a pipe, a file, a CI log),
// one plain line per event.
type Progress struct {
	w      io.Writer
	tty    bool
	runID  string
	status string
	steps  []StepInfo
	index  map[string]int
	drawn  int // lines drawn last time (terminal only)
}

// NewProgress starts drawing the run's steps (in their order) on w; tty
// says whether w is a terminal.
func NewProgress(w io.Writer, tty bool, run RunInfo) *Progress {
	p := &Progress{w: w, tty: tty, runID: run.ID, status: "QUEUED", index: map[string]int{}}
	for i, s := range run.Steps {
		p.steps = append(p.steps, StepInfo{Key: s.Key, Name: s.Name, Kind: s.Kind, Status: "PENDING"})
		p.index[s.Key] = i
	}
	if tty {
		p.draw()
	}
	return p
}

// Event applies one event and draws it.
func (p *Progress) Event(ev Event) {
	if ev.StepKey != nil {
		if i, ok := p.index[*ev.StepKey]; ok {
			s := &p.steps[i]
			s.Status, s.Message = ev.Status, ev.Message
			s.Progress = ev.Progress
		}
	} else {
		p.status = ev.Status
	}
	if p.tty {
		p.draw()
		return
	}
	key := "run"
	if ev.StepKey != nil {
		key = *ev.StepKey
	}
	fmt.Fprintf(p.w, "%s  #%-3d %-16s %-12s %4.0f%%  %s\n", ev.At.Local().Format("15:04:05"), ev.Seq, key, ev.Status, ev.Progress*100, ev.Message)
}

// Resumed notes a reconnection: on a terminal above the bars, elsewhere as
// a line.
func (p *Progress) Resumed(afterSeq int, cause error) {
	line := fmt.Sprintf("connection lost (%v); resuming after event #%d", cause, afterSeq)
	if p.tty {
		p.drawn = 0 // the note goes above; the bars are drawn anew below it
		fmt.Fprintf(p.w, "%s\n", line)
		p.draw()
		return
	}
	fmt.Fprintln(p.w, line)
}

const barWidth = 24

// draw redraws the run's line and one bar per step over the previous
// drawing (ANSI: move up, clear each line).
func (p *Progress) draw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dF", p.drawn)
	}
	keyWidth := 4
	for _, s := range p.steps {
		keyWidth = max(keyWidth, len(s.Key))
	}
	fmt.Fprintf(&b, "\x1b[2KRun %s  %s\n", p.runID, p.status)
	for _, s := range p.steps {
		progress := s.Progress
		if s.Status == "SUCCEEDED" {
			progress = 1
		}
		filled := int(progress*barWidth + 0.5)
		filled = min(max(filled, 0), barWidth)
		fmt.Fprintf(&b, "\x1b[2K  %-*s [%s%s] %3.0f%%  %-10s %s\n", keyWidth, s.Key,
			strings.Repeat("█", filled), strings.Repeat("░", barWidth-filled), progress*100, s.Status, truncate(s.Message, 48))
	}
	p.drawn = 1 + len(p.steps)
	io.WriteString(p.w, b.String())
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// PrintSummary prints a run's outcome: each step's status, attempts and
// duration, the errors of failed steps, and the run's status.
func PrintSummary(w io.Writer, run RunInfo) {
	fmt.Fprintf(w, "\nRun %s (%s v%d): %s", run.ID, run.Package.Key, run.PackageVersion, run.Status)
	if d, ok := span(run.StartedAt, run.FinishedAt); ok {
		fmt.Fprintf(w, " in %s", d)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tKIND\tSTATUS\tATTEMPTS\tDURATION")
	for _, s := range run.Steps {
		dur := "-"
		if d, ok := span(s.StartedAt, s.FinishedAt); ok {
			dur = d.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", s.Key, s.Kind, s.Status, s.Attempt, dur)
	}
	_ = tw.Flush()
	for _, s := range run.Steps {
		if s.Error != nil && s.Status == "FAILED" {
			fmt.Fprintf(w, "  %s failed: %s\n", s.Key, *s.Error)
		}
	}
	if run.Error != nil && *run.Error != "" {
		fmt.Fprintf(w, "Error: %s\n", *run.Error)
	}
}

// span is the time from start to end, rounded for people.
func span(start, end *time.Time) (time.Duration, bool) {
	if start == nil || end == nil || end.Before(*start) {
		return 0, false
	}
	d := end.Sub(*start)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond), true
	case d < time.Minute:
		return d.Round(10 * time.Millisecond), true
	}
	return d.Round(time.Second), true
}

// PrintRuns prints a page of runs as a table, and how to get the next.
func PrintRuns(w io.Writer, page RunsPage, next func(cursor string) string) {
	if len(page.Runs) == 0 {
		fmt.Fprintln(w, "No runs.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPACKAGE\tSTATUS\tPROGRESS\tCREATED\tDURATION")
	for _, r := range page.Runs {
		dur := "-"
		if d, ok := span(r.StartedAt, r.FinishedAt); ok {
			dur = d.String()
		}
		fmt.Fprintf(tw, "%s\t%s v%d\t%s\t%.0f%%\t%s\t%s\n", r.ID, r.Package.Key, r.PackageVersion, r.Status, r.Progress*100,
			r.CreatedAt.Local().Format("2006-01-02 15:04:05"), dur)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "%d of %d runs.", len(page.Runs), page.Total)
	if page.NextCursor != "" {
		fmt.Fprintf(w, " Next page: %s", next(page.NextCursor))
	}
	fmt.Fprintln(w)
}
