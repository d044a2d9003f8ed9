package dockeropts

import (
	"fmt"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/skiffrt/skiff"
)

// StatusText renders a container's state as docker ps's STATUS column does at now:
// "Up 3 seconds (healthy)", "Up 2 minutes (Paused)", "Restarting (1) 5 seconds ago",
// "Exited (0) 2 minutes ago", "Created". An exit whose time is unknown (a container
// found lost, not yet recorded) has no age: "Exited (255)".
func StatusText(st skiff.State, now time.Time) string {
	ago := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return " " + units.HumanDuration(now.Sub(t)) + " ago"
	}
	switch st.Status {
	case skiff.StatusRunning:
		return "Up " + units.HumanDuration(now.Sub(st.Started)) + HealthSuffix(st)
	case skiff.StatusPaused:
		return "Up " + units.HumanDuration(now.Sub(st.Started)) + " (Paused)"
	case skiff.StatusExited:
		word := "Exited"
		if st.Restarting {
			word = "Restarting"
		}
		return fmt.Sprintf("%s (%d)%s", word, st.ExitCode, ago(st.Finished))
	case "":
		return "Created"
	}
	return strings.ToUpper(string(st.Status[:1])) + string(st.Status[1:])
}
