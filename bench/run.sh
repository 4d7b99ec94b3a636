#!/usr/bin/env bash
# bench/run.sh: loadgate's speed goals, measured against wrk and nginx on loopback.
#
#   (a) wrk -t1 -c50 for BENCH_DURATION s             the reference: req/s and CPU µs/request
#   (b) loadgate closed model, 50 users (closed.yaml)  goal: ≥ 0.95× wrk req/s, ≤ 1.1× wrk CPU/req
#       (a) and (b) alternate BENCH_PAIRS times (3); each pair gives a ratio, and the
#       verdict is on the median: on a VM, wrk alone varies by ±5–10% from run to run
#   (c) loadgate open model 5000/s (open5k.yaml), for BENCH_DURATION s and BENCH_LONG s
#       goals: ≤ 25 µs CPU/req, achieved within 1% of planned, schedule lag p99 < 1 ms,
#              peak RSS ≤ 25 MiB, RSS(long) within 10% of RSS(short)
#
# nginx (1 worker, static 200, access_log off) is pinned to CPU 1 and the generator to
# CPU 0, with GOMAXPROCS=1 for loadgate, so that both tools get exactly one core.
# Missing tools are installed from Debian when we can (root or sudo); anything that
# still cannot run is reported as skipped and the script goes on. It exits 0 unless
# BENCH_STRICT=1 and a goal was missed.
#
# Environment: BENCH_DURATION (10), BENCH_LONG (60; 0 skips the long run), BENCH_PAIRS (3),
# BENCH_OUT (out/bench), BENCH_PORT (8089), BENCH_STRICT (0), BENCH_LOADGATE (bin/loadgate,
# built with `make build` when missing).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
DUR=${BENCH_DURATION:-10}
LONG=${BENCH_LONG:-60}
PAIRS=${BENCH_PAIRS:-3}
PORT=${BENCH_PORT:-8089}
OUT=${BENCH_OUT:-$ROOT/out/bench}
STRICT=${BENCH_STRICT:-0}
mkdir -p "$OUT"

skipped=()
skip() { skipped+=("$*"); echo "bench: skipped: $*" >&2; }
note() { echo "bench: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- tools ---------------------------------------------------------------------------

SUDO=""
if [ "$(id -u)" != 0 ]; then
	if have sudo && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
fi
apt_updated=0
# apt_install PKG...: installs the first package that installs; 0 on success.
apt_install() {
	if [ "$SUDO" = none ] || ! have apt-get; then return 1; fi
	if [ $apt_updated = 0 ]; then
		note "apt-get update"
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >"$OUT/apt.log" 2>&1 || return 1
		apt_updated=1
	fi
	local p
	for p in "$@"; do
		note "apt-get install $p"
		if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" </dev/null >>"$OUT/apt.log" 2>&1; then
			return 0
		fi
	done
	return 1
}
# need CMD PKG...: makes sure CMD exists, installing one of PKG... if needed.
need() {
	local cmd=$1
	shift
	have "$cmd" && return 0
	apt_install "$@" && have "$cmd"
}
# nginx is in /usr/sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

need wrk wrk || skip "wrk: not installed and could not be installed"
need nginx nginx-light nginx || skip "nginx: not installed and could not be installed"
need /usr/bin/time time || note "/usr/bin/time missing: CPU from bash's time, no peak RSS"
need taskset util-linux || note "taskset missing: nothing is pinned"

GEN_PIN=() SRV_PIN=()
if have taskset && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
	GEN_PIN=(taskset -c 0)
	SRV_PIN=(taskset -c 1)
else
	note "fewer than 2 CPUs or no taskset: generator and server share the CPUs"
fi

# Helpers built from this repository.
JSONFIELD="$OUT/jsonfield"
if ! go build -o "$JSONFIELD" ./bench/cmd/jsonfield; then
	JSONFIELD=""
	skip "jsonfield: build failed, loadgate reports cannot be read"
fi
LOADGATE=${BENCH_LOADGATE:-$ROOT/bin/loadgate}
if [ ! -x "$LOADGATE" ] && [ -z "${BENCH_LOADGATE:-}" ]; then
	note "building bin/loadgate"
	make -s build >"$OUT/build.log" 2>&1 || true
fi
if [ ! -x "$LOADGATE" ]; then
	LOADGATE=""
	skip "loadgate runs: bin/loadgate could not be built (see $OUT/build.log)"
fi

# ---- measuring -----------------------------------------------------------------------

# measure NAME CMD...: runs CMD pinned to the generator CPU; leaves "wall user sys rss_kb"
# in $OUT/NAME.time ("-" for what could not be measured), stdout in $OUT/NAME.out and
# stderr in $OUT/NAME.err. Returns CMD's exit status.
measure() {
	local name=$1
	shift
	local tf="$OUT/$name.time" rc
	if [ -x /usr/bin/time ]; then
		"${GEN_PIN[@]}" /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
		rc=$?
		# time prefixes a "Command exited with non-zero status" line; keep the last.
		tail -n 1 "$tf" >"$tf.tmp" && mv "$tf.tmp" "$tf"
	else
		local TIMEFORMAT='%R %U %S -'
		{ time "${GEN_PIN[@]}" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; } 2>"$tf"
		rc=$?
	fi
	return $rc
}

# calc EXPR: floating-point arithmetic with awk; prints "-" when an operand is "-" or empty.
calc() { awk "BEGIN { r = $1; printf \"%.6g\", r }" 2>/dev/null || echo -; }
num() { [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
ratio() { if num "$1" && num "$2"; then calc "$1 / $2"; else echo -; fi; }
# median V...: the median of the numeric values, or "-" when there are none.
median() {
	local vs=() v
	for v in "$@"; do num "$v" && vs+=("$v"); done
	[ ${#vs[@]} -gt 0 ] || { echo -; return; }
	printf '%s\n' "${vs[@]}" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# field FILE PATH: one field of a loadgate JSON report, or "-".
field() {
	local v=""
	if [ -n "$JSONFIELD" ] && [ -f "$1" ]; then v=$("$JSONFIELD" "$1" "$2" 2>/dev/null); fi
	if num "$v"; then echo "$v"; else echo -; fi
}

# ---- nginx ---------------------------------------------------------------------------

NGINX_PID=""
NGX=$(mktemp -d)
cleanup() {
	if [ -n "$NGINX_PID" ]; then
		kill "$NGINX_PID" 2>/dev/null
		wait "$NGINX_PID" 2>/dev/null
	fi
	rm -rf "$NGX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_nginx() {
	have nginx || return 1
	mkdir -p "$NGX/tmp"
	cat >"$NGX/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:$PORT;
        location / {
            default_type text/plain;
            return 200 "Hello, World!\n";
        }
    }
}
EOF
	"${SRV_PIN[@]}" nginx -e "$NGX/error.log" -p "$NGX" -c "$NGX/nginx.conf" >"$OUT/nginx.log" 2>&1 &
	NGINX_PID=$!
	local i
	for i in $(seq 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
		kill -0 "$NGINX_PID" 2>/dev/null || break
		sleep 0.1
	done
	note "nginx did not come up on 127.0.0.1:$PORT: $(cat "$NGX/error.log" "$OUT/nginx.log" 2>/dev/null | tail -n 3)"
	NGINX_PID=""
	return 1
}

# ---- runs ----------------------------------------------------------------------------

# Results, "-" when not measured.
wrk_rps=- wrk_cpu=-
lg_rps=- lg_cpu=-
pair_rps=() pair_cpu=() pair_text=()
declare -A o_cpu o_ach o_lag o_rss

run_wrk() {
	have wrk || return
	measure wrk wrk -t1 -c50 -d"${DUR}s" --timeout 5s "http://127.0.0.1:$PORT/"
	local reqs user sys
	reqs=$(awk '/requests in/ { print $1 }' "$OUT/wrk.out")
	wrk_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$OUT/wrk.out")
	read -r _ user sys _ <"$OUT/wrk.time"
	num "$wrk_rps" || wrk_rps=-
	if num "$reqs" && num "$user" && num "$sys"; then
		wrk_cpu=$(calc "($user + $sys) * 1e6 / $reqs")
	fi
}

# scenario SRC SECONDS DEST: SRC with its stage duration set to SECONDS.
scenario() { sed -E "s/duration: *[0-9]+s/duration: ${2}s/" "$1" >"$3"; }

# run_loadgate NAME SCENARIO: one loadgate run; sets REQS CPU_US RSS LAG ACH.
run_loadgate() {
	local name=$1 sc=$2 json="$OUT/$1.json" user sys rss planned dur
	rm -f "$json"
	GOMAXPROCS=1 measure "$name" "$LOADGATE" run "$sc" --quiet -o "json=$json"
	local rc=$?
	[ $rc = 0 ] || note "loadgate $name exited $rc (see $OUT/$name.err)"
	REQS=$(field "$json" metrics.http_reqs.count)
	LAG=$(field "$json" generator.schedule_lag_p99)
	planned=$(field "$json" generator.planned)
	dur=$(field "$json" duration_s)
	read -r _ user sys rss <"$OUT/$name.time"
	CPU_US=- RSS=- ACH=- RPS=-
	if num "$REQS" && num "$user" && num "$sys"; then CPU_US=$(calc "($user + $sys) * 1e6 / $REQS"); fi
	if num "$rss"; then RSS=$rss; fi
	if num "$REQS" && num "$planned"; then ACH=$(calc "$REQS / $planned"); fi
	if num "$REQS" && num "$dur"; then RPS=$(calc "$REQS / $dur"); fi
}

if start_nginx; then
	note "nginx on 127.0.0.1:$PORT (pid $NGINX_PID)"
	scenario bench/closed.yaml "$DUR" "$OUT/closed.yaml"
	for p in $(seq "$PAIRS"); do
		note "(a) wrk -t1 -c50 -d${DUR}s (pair $p of $PAIRS)"
		run_wrk
		[ -n "$LOADGATE" ] || continue
		note "(b) loadgate closed, 50 users, ${DUR}s (pair $p of $PAIRS)"
		run_loadgate closed "$OUT/closed.yaml"
		lg_rps=$RPS lg_cpu=$CPU_US
		pair_rps+=("$(ratio "$lg_rps" "$wrk_rps")") pair_cpu+=("$(ratio "$lg_cpu" "$wrk_cpu")")
		pair_text+=("$wrk_rps $wrk_cpu $lg_rps $lg_cpu")
	done
	if [ -n "$LOADGATE" ]; then
		for secs in "$DUR" "$LONG"; do
			[ "$secs" != 0 ] || { skip "open 5k long run (BENCH_LONG=0)"; continue; }
			note "(c) loadgate open 5000/s, ${secs}s"
			scenario bench/open5k.yaml "$secs" "$OUT/open5k-${secs}s.yaml"
			run_loadgate "open5k-${secs}s" "$OUT/open5k-${secs}s.yaml"
			o_cpu[$secs]=$CPU_US o_ach[$secs]=$ACH o_lag[$secs]=$LAG o_rss[$secs]=$RSS
		done
	fi
else
	skip "every run: no nginx to measure against"
fi

# ---- report --------------------------------------------------------------------------

failed=0
# row NAME VALUE GOAL CHECK: CHECK is an awk condition on v, or "" for information.
row() {
	local verdict=info
	if [ -n "$4" ]; then
		if num "$2"; then
			if awk -v v="$2" "BEGIN { exit !($4) }"; then verdict=ok; else verdict=MISSED failed=1; fi
		else
			verdict=n/a
		fi
	fi
	printf '%-40s %14s  %-22s %s\n' "$1" "$2" "$3" "$verdict"
}

echo
printf '%-40s %14s  %-22s %s\n' "measure" "value" "goal" "verdict"
printf '%-40s %14s  %-22s %s\n' "-------" "-----" "----" "-------"
for i in "${!pair_text[@]}"; do
	read -r w_rps w_cpu l_rps l_cpu <<<"${pair_text[$i]}"
	printf '  pair %d: wrk %s req/s at %s us/req, loadgate %s req/s at %s us/req: ratios %s and %s\n' \
		$((i + 1)) "$w_rps" "$w_cpu" "$l_rps" "$l_cpu" "${pair_rps[$i]}" "${pair_cpu[$i]}"
done
row "closed req/s vs wrk (median of pairs)" "$(median "${pair_rps[@]}")" ">= 0.95x wrk" "v >= 0.95"
row "closed CPU/req vs wrk (median of pairs)" "$(median "${pair_cpu[@]}")" "<= 1.1x wrk" "v <= 1.1"
for secs in "$DUR" "$LONG"; do
	[ "$secs" != 0 ] || continue
	row "open 5k ${secs}s CPU us/req" "${o_cpu[$secs]:--}" "<= 25" "v <= 25"
	row "open 5k ${secs}s achieved/planned" "${o_ach[$secs]:--}" "0.99 .. 1.01" "v >= 0.99 && v <= 1.01"
	row "open 5k ${secs}s schedule_lag p99 (ms)" "${o_lag[$secs]:--}" "< 1" "v < 1"
	row "open 5k ${secs}s peak RSS (KiB)" "${o_rss[$secs]:--}" "<= 25600 (25 MiB)" "v <= 25600"
done
if [ "$LONG" != 0 ]; then
	row "RSS ${LONG}s / RSS ${DUR}s" "$(ratio "${o_rss[$LONG]:--}" "${o_rss[$DUR]:--}")" "<= 1.10" "v <= 1.10"
fi
echo
if [ ${#skipped[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  - %s\n' "${skipped[@]}"
fi
echo "raw outputs in $OUT"
if [ "$STRICT" = 1 ] && [ $failed = 1 ]; then exit 1; fi
exit 0
