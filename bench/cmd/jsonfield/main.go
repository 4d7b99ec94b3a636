// Command jsonfield prints fields of a JSON file, one per line, so that bench/run.sh
// needs neither jq nor python. Paths use gjson syntax: "metrics.http_reqs.count",
// "generator.schedule_lag_p99"; escape a dot inside a key with a backslash
// ("metrics.http_req_duration.p99\.9").
//
// Usage:
//
//	jsonfield FILE PATH...
//
// A missing field prints an empty line and makes the exit status 1; an unreadable
// or invalid file exits 2.
package main

import (
	"fmt"
	"os"

	"github.com/tidwall/gjson"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: jsonfield FILE PATH...")
		return 2
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsonfield:", err)
		return 2
	}
	if !gjson.ValidBytes(b) {
		fmt.Fprintf(os.Stderr, "jsonfield: %s: not valid JSON\n", args[0])
		return 2
	}
	code := 0
	for _, p := range args[1:] {
		r := gjson.GetBytes(b, p)
		if !r.Exists() {
			fmt.Fprintf(os.Stderr, "jsonfield: %s: no field %q\n", args[0], p)
			code = 1
		}
		fmt.Println(r.String())
	}
	return code
}
