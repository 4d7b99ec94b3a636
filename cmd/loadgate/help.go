package main

import (
	"fmt"
	"io"
	"strings"
)

// helpExamples are the example lines that each command's --help prints
// after its flags (newFlagSet), and the top-level help after the commands.
var helpExamples = map[string][]string{
	"": {
		"loadgate demo                                     # try it: the built-in target and examples/demo.yaml",
		"loadgate validate examples/smoke.yaml",
		"loadgate run examples/smoke.yaml -e BASE_URL=https://staging.example -o junit=smoke.xml -o json=smoke.json",
		"loadgate run --url http://127.0.0.1:8088/ --rate 100 --duration 30s --threshold 'http_req_duration: p(95) < 300ms'",
		"loadgate compare base.json new.json",
		"source <(loadgate completion bash)",
	},
	"run": {
		"loadgate run examples/smoke.yaml -e BASE_URL=https://staging.example",
		"loadgate run smoke.yaml -o junit=out/smoke.xml -o json=out/smoke.json -o html=out/smoke.html",
		"loadgate run smoke.yaml --duration 3s --rate 20                   # a shorter constant load",
		"loadgate run canary.yaml --baseline stable.json                   # thresholds like p(95) < baseline + 10%",
		"loadgate run smoke.yaml --exit-code-on-fail 11                    # a failed gate exits 11, not 1",
		"loadgate run ramp.yaml --segment 0/4 -o json=seg0.json            # one shard of four",
		"loadgate run --url http://127.0.0.1:8088/search?q=x --rate 50 --duration 10s --threshold 'http_req_failed: rate < 1%'",
		"LOADGATE_RATE=20 loadgate run smoke.yaml                          # every flag also from LOADGATE_<NAME>",
	},
	"capacity": {
		"loadgate capacity examples/capacity.yaml                           # load.search in the file",
		"loadgate capacity smoke.yaml --from 50 --max 5000 --step 30s --precision 5%",
		"loadgate capacity capacity.yaml --min-rate 500 -o junit=capacity.xml # a gate: exit 0 at 500/s or more, 1 below",
	},
	"validate": {
		"loadgate validate examples/smoke.yaml",
		"loadgate validate examples/canary.yaml -e BASE_URL=https://canary.example",
	},
	"demo": {
		"loadgate demo",
		"loadgate demo -o html=demo.html --metrics-addr 127.0.0.1:9464",
	},
	"target": {
		"loadgate target                                   # http://127.0.0.1:8088",
		"loadgate target --listen 127.0.0.1:9000 --fail-rate 0.05",
		"loadgate target --grpc-listen 127.0.0.1:8089           # and gRPC, for examples/grpc.yaml",
	},
	"report": {
		"loadgate report run.json -o html=run.html -o junit=run.xml",
		"loadgate report run.json -o text=-",
	},
	"compare": {
		"loadgate compare stable.json canary.json",
		"loadgate compare stable.json canary.json --max p95=+5% --max error_rate=+0.5pp --json",
	},
	"merge": {
		"loadgate merge seg0.json seg1.json seg2.json seg3.json -o json=run.json -o html=run.html",
	},
	"completion": {
		"source <(loadgate completion bash)                # bash, now; add it to ~/.bashrc to keep it",
		"loadgate completion zsh > \"${fpath[1]}/_loadgate\" # zsh",
	},
}

// printExamples writes the examples of command name, if any.
func printExamples(w io.Writer, name string) {
	ex := helpExamples[name]
	if len(ex) == 0 {
		return
	}
	fmt.Fprintln(w, "\nexamples:")
	for _, e := range ex {
		fmt.Fprintln(w, "  "+strings.TrimRight(e, " "))
	}
}

// exitCodesHelp sums up docs/exit-codes.md for the top-level help.
const exitCodesHelp = `
exit codes: 0 passed, 1 a threshold failed (the performance gate; see --exit-code-on-fail),
2 invalid input, 3 preflight failed, 4 inconclusive measurement, 70 internal error,
74 a report could not be written, 130 interrupted. See docs/exit-codes.md.`
