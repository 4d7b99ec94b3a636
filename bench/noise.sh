#!/usr/bin/env bash
# bench/noise.sh: does the gate flake? (docs/thresholds.md, "Limits that do not
# flake"). NOISE_PAIRS (20) pairs of runs of one build against the built-in target,
# and as many pairs whose new run is 20% slower (--latency-scale 1.2). Each run is
# NOISE_RATE/s (200) for NOISE_DURATION s (10: ~2000 requests) of GET /search (a
# log-normal latency around 20 ms) with p(95) and error-rate thresholds at a 95%
# confidence. It counts: identical pairs that `loadgate compare` calls a regression
# (want 0), runs whose confidence thresholds failed (want 0; undecided is allowed),
# and slower pairs flagged as a significant regression (want at least 19 of 20).
# It takes about 3 × pairs × duration seconds; run it on an otherwise idle machine.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
PAIRS=${NOISE_PAIRS:-20}
RATE=${NOISE_RATE:-200}
DUR=${NOISE_DURATION:-10}
OUT=${NOISE_OUT:-out/noise}
LG=${NOISE_LOADGATE:-bin/loadgate}
[ -x "$LG" ] || make build >/dev/null || exit 1
mkdir -p "$OUT"
rm -f "$OUT"/*.json
go build -o "$OUT/jsonfield" ./bench/cmd/jsonfield || exit 1
"$LG" target --listen 127.0.0.1:18181 --seed 1 >/dev/null &
same=$!
"$LG" target --listen 127.0.0.1:18182 --seed 2 --latency-scale 1.2 >/dev/null &
slow=$!
trap 'kill $same $slow 2>/dev/null' EXIT
sleep 1
scenario() {
	cat <<YAML
name: noise
base_url: http://$1
load: { rate: $RATE, duration: ${DUR}s }
flows:
  - name: search
    steps: [ { name: search, get: "/search?q=x" } ]
confidence: 95%
thresholds:
  http_req_duration: [ "p(95) < 60ms" ]
  http_req_failed: [ "rate < 1%" ]
YAML
}
scenario 127.0.0.1:18181 >"$OUT/same.yaml"
scenario 127.0.0.1:18182 >"$OUT/slow.yaml"
regressions=0 failed=0 undecided=0 flagged=0
for ((i = 1; i <= PAIRS; i++)); do
	for kind in base new slow; do
		yaml=same
		[ $kind = slow ] && yaml=slow
		"$LG" run "$OUT/$yaml.yaml" --quiet -o "json=$OUT/$kind$i.json" >/dev/null 2>&1
		case $? in
		1) failed=$((failed + 1)); echo "pair $i: the $kind run failed a threshold" ;;
		4) undecided=$((undecided + 1)) ;;
		esac
	done
	if ! "$LG" compare "$OUT/base$i.json" "$OUT/new$i.json" >"$OUT/same$i.txt" 2>&1; then
		regressions=$((regressions + 1))
		echo "pair $i: one build compared with itself is a regression:"
		grep -E '^\s+- ' "$OUT/same$i.txt"
	fi
	if "$LG" compare "$OUT/base$i.json" "$OUT/slow$i.json" >"$OUT/slow$i.txt" 2>&1; then
		echo "pair $i: 20% slower not flagged"
	else
		flagged=$((flagged + 1))
	fi
	n=$("$OUT/jsonfield" "$OUT/base$i.json" metrics.http_reqs.count 2>/dev/null || true)
	echo "pair $i done (requests per run: ${n:-?})"
done
echo "--- noise: $PAIRS pairs of $RATE/s for ${DUR}s"
echo "identical pairs called a regression: $regressions (want 0)"
echo "runs with a failed confidence threshold: $failed of $((3 * PAIRS)) (want 0; undecided: $undecided)"
echo "20% slower pairs flagged: $flagged of $PAIRS (want >= $((PAIRS * 19 / 20)))"
[ $regressions -eq 0 ] && [ $failed -eq 0 ] && [ $flagged -ge $((PAIRS * 19 / 20)) ]
