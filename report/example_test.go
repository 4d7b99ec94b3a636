package report_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/loadgate/loadgate/report"
)

func ExampleNewRedactor() {
	r := report.NewRedactor([]string{"hunter2"})
	fmt.Println(r.String("POST /login?password=hunter2: status 401"))
	// Output: POST /login?password=***: status 401
}

func ExampleWriteFileAtomic() {
	dir, err := os.MkdirTemp("", "loadgate-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s := report.Build(report.Run{Status: "invalid", Started: t0, Ended: t0,
		Reasons: []string{"checkout.yaml:3:7: unknown key \"stgaes\" (did you mean \"stages\"?)"}})
	path := filepath.Join(dir, "run.json")
	err = report.WriteFileAtomic(path, func(w io.Writer) error { return report.WriteJSON(w, s) })
	fmt.Println(err)

	back, err := report.ReadJSON(path)
	fmt.Println(back.Status, back.ExitCode, len(back.Reasons), err)
	// Output:
	// <nil>
	// invalid 2 1 <nil>
}

func ExampleAgent_Coverage() {
	lost := report.Agent{Addr: "10.0.0.3:7070", Segment: "1/2", Status: "lost", Planned: 2500, Started: 1997}
	closed := report.Agent{Addr: "10.0.0.4:7070", Segment: "0/1", Status: "complete"} // closed model: no schedule
	fmt.Printf("%.2f%% %.0f%%\n", 100*lost.Coverage(), 100*closed.Coverage())
	// Output: 79.88% 100%
}
