package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionFromBuildInfo (issue 15 item 10): `loadgate version` says
// what a user can report. The -ldflags version wins; without it (go
// install, go build) the module's tag or pseudo-version is used; the
// commit, whether the tree was modified, the Go version and the platform
// come from the build information and the runtime.
func TestVersionFromBuildInfo(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	goLine := "go:     " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		version string
		commit  string
	}{
		{"make build: the -ldflags version", "v1.4.0-3-g993ee43-dirty",
			&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.revision", "993ee43abc", "vcs.modified", "true")},
			"v1.4.0-3-g993ee43-dirty", "commit: 993ee43abc (modified)"},
		{"go install ...@v1.4.0: the tag", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}},
			"v1.4.0", "commit: unknown (built without version control information)"},
		{"go build in a checkout: the pseudo-version and the commit", "",
			&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261203101531-e8d64b0edcb6"},
				Settings: vcs("vcs.revision", "e8d64b0edcb60afb2cc4f2f6efb861b1a92d9c8a", "vcs.time", "2026-12-03T10:15:31Z", "vcs.modified", "false")},
			"v0.0.0-20261203101531-e8d64b0edcb6", "commit: e8d64b0edcb60afb2cc4f2f6efb861b1a92d9c8a, 2026-12-03T10:15:31Z"},
		{"nothing known", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev", "commit: unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolveVersion(tc.ldflags, tc.bi, true); got != tc.version {
				t.Errorf("version %q, want %q", got, tc.version)
			}
			d := buildDetails(tc.bi, true)
			if len(d) != 2 || !strings.HasPrefix(d[0], tc.commit) || d[1] != goLine {
				t.Errorf("details %q, want %q... and %q", d, tc.commit, goLine)
			}
		})
	}
	if got := resolveVersion("", nil, false); got != "dev" {
		t.Errorf("without build information: %q, want dev", got)
	}
}
