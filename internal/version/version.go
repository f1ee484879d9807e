// Package version reports what tagway binary this is, from the build
// information the Go toolchain embeds: the module version, the commit it was
// built from and the Go version.
package version

import (
	"fmt"
	"runtime/debug"
)

// Info is what a binary knows of its build.
type Info struct {
	// Module is the main module's version: a tag for `go install
	// ...@vX.Y.Z`, (devel) for a build in a checkout.
	Module string
	// Commit and Time name the VCS revision built, Modified whether the
	// work tree had changes; empty when built without VCS information
	// (-buildvcs=false, or outside a checkout).
	Commit, Time string
	Modified     bool
	// Go is the toolchain's version.
	Go string
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Module: "unknown", Go: "unknown"}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo returns the Info in bi.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Module: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the line `tagway --version` prints.
func (i Info) String() string {
	commit := "unknown (built without VCS information)"
	if i.Commit != "" {
		commit = i.Commit
		if i.Time != "" {
			commit += " " + i.Time
		}
		if i.Modified {
			commit += " (modified)"
		}
	}
	return fmt.Sprintf("tagway %s\ncommit: %s\ngo: %s\n", i.Module, commit, i.Go)
}
