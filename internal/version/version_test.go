package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-11-25T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := FromBuildInfo(bi).String(), "tagway v1.2.3\ncommit: 0123456789abcdef 2026-11-25T10:00:00Z (modified)\ngo: go1.26.8\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	bi.Settings = nil
	if got := FromBuildInfo(bi).String(); !strings.Contains(got, "commit: unknown") {
		t.Errorf("without VCS: %q", got)
	}
	if i := Read(); i.Go == "" || i.Module == "" {
		t.Errorf("Read() = %+v", i)
	}
}
