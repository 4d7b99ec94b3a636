#!/usr/bin/env bash
# bench/run.sh: loadgate's speed goals, measured against wrk, wrk2 and nginx on loopback.
#
#   (a) wrk -t1 -c50 for BENCH_DURATION s             the reference: req/s and CPU µs/request
#   (b) loadgate closed model, 50 users (closed.yaml)  goal (issue 19): ≥ 1.0× wrk req/s, ≤ 1.0× CPU/req
#       (a) and (b) alternate BENCH_PAIRS times (3); each pair gives a ratio, and the
#       verdict is on the median: on a VM, wrk alone varies by ±5–10% from run to run
#   (c) loadgate open model 5000/s (open5k.yaml), for BENCH_DURATION s and BENCH_LONG s
#       goals: achieved within 1% of planned, schedule lag p99 < 1 ms, peak RSS ≤ 16 MiB,
#              RSS(long) within 10% of RSS(short); the split of its memory (its report's
#              generator.process) is printed for the long run
#   (d) wrk2 -t1 -c50 -R5000, the open-model reference, when WRK2=/path/to/wrk2 is given:
#       (d) and (c) alternate BENCH_PAIRS times for BENCH_DURATION s (once more for
#       BENCH_LONG s); loadgate's CPU/req, achieved rate, lag p99, latency p99 and peak
#       RSS as ratios to wrk2's, judged on the medians. Goals (issue 19): CPU/req ≤ 1.0×
#       wrk2, achieved ≥ 0.99× wrk2's. Without WRK2 the comparison is skipped (and (c)
#       runs once). wrk2 does not report its schedule lag: see run_wrk2. Each pair also
#       runs loadgate with its slack at wrk2's wake-up interval (see open_pair), and
#       prints every tool's wake-ups per second and nginx's.
#   (e) BENCH_MAXRATE=1: how far one core goes. The highest constant rate with achieved
#       within 1% and lag p99 < 1 ms, for loadgate and wrk2 side by side: steps of
#       BENCH_MAXRATE_STEP s (5), doubling from BENCH_MAXRATE_START (5000/s), then
#       bisecting to 5%. Goal (issue 19): at least wrk2's. It takes minutes.
#
# nginx (1 worker, static 200, access_log off) is pinned to CPU 1 and the generator to
# CPU 0, with GOMAXPROCS=1 for loadgate, so that both tools get exactly one core. CPU
# and peak RSS of every tool come from /usr/bin/time (user + sys, max RSS) the same way.
# Before each run the script waits until the machine is quiet: fewer than BENCH_QUIET
# (0.25) CPUs busy over 2 s in /proc/stat, polled every 30 s, up to BENCH_QUIET_WAIT
# (1200) s in all; runs measured anyway are listed as noisy. (Not the load average: it
# is a minute-long mean that the script's own runs raise.)
# Missing tools are installed from Debian when we can (root or sudo); anything that
# still cannot run is reported as skipped and the script goes on. It exits 0 unless
# BENCH_STRICT=1 and a goal was missed.
#
# Environment: BENCH_DURATION (10), BENCH_LONG (60; 0 skips the long run), BENCH_PAIRS (3),
# BENCH_OUT (out/bench), BENCH_PORT (8089), BENCH_STRICT (0), BENCH_LOADGATE (bin/loadgate,
# built with `make build` when missing), WRK2 (a wrk2 binary; none), BENCH_WRK2_CONNS (50),
# BENCH_MAXRATE (0), BENCH_MAXRATE_STEP (5), BENCH_MAXRATE_START (5000),
# BENCH_MAXRATE_WRK2_CONNS (200), BENCH_QUIET
# (0.25), BENCH_QUIET_WAIT (1200; 0 never waits).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
DUR=${BENCH_DURATION:-10}
LONG=${BENCH_LONG:-60}
PAIRS=${BENCH_PAIRS:-3}
PORT=${BENCH_PORT:-8089}
OUT=${BENCH_OUT:-$ROOT/out/bench}
STRICT=${BENCH_STRICT:-0}
WRK2=${WRK2:-}
W2C=${BENCH_WRK2_CONNS:-50}
# The probe of (e) gives wrk2 as many connections as loadgate's max_in_flight in
# open5k.yaml: with 50, each wrk2 connection carries one request at a time and its
# rate stops near 19,000/s whatever the CPU.
MR_W2C=${BENCH_MAXRATE_WRK2_CONNS:-200}
MAXRATE=${BENCH_MAXRATE:-0}
MR_STEP=${BENCH_MAXRATE_STEP:-5}
MR_START=${BENCH_MAXRATE_START:-5000}
QUIET=${BENCH_QUIET:-0.25}
QUIET_WAIT=${BENCH_QUIET_WAIT:-1200}
OPEN_RATE=5000
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

# wrk2 is not packaged: it is used only when WRK2 names a binary (README: building wrk2).
wrk2_why=""
if [ -z "$WRK2" ]; then
	wrk2_why="WRK2 is not set (wrk2 is not packaged: build it from github.com/giltene/wrk2, see the README, and run with WRK2=/path/to/wrk)"
elif [ ! -x "$WRK2" ] || [ -d "$WRK2" ]; then
	wrk2_why="WRK2=$WRK2 is not an executable file"
else
	wrk2_help=$(timeout 5 "$WRK2" --help </dev/null 2>&1)
	[[ $wrk2_help == *--rate* ]] || wrk2_why="WRK2=$WRK2 has no --rate option: it is not wrk2"
fi
if [ -n "$wrk2_why" ]; then
	WRK2=""
	skip "open model vs wrk2: $wrk2_why"
fi

NCPU=$(nproc 2>/dev/null || echo 1)
GEN_PIN=() SRV_PIN=()
if have taskset && [ "$NCPU" -ge 2 ]; then
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

# cpu_busy: how many CPUs were busy over the next 2 s, all processes (user, nice, system,
# irq, softirq, steal in /proc/stat), e.g. 0.04; "-" without /proc/stat.
cpu_busy() {
	[ -r /proc/stat ] || { echo -; return; }
	# shellcheck disable=SC2016 # an awk program
	local sample='/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' a b
	a=$(awk "$sample" /proc/stat)
	sleep 2
	b=$(awk "$sample" /proc/stat)
	awk -v a="$a" -v b="$b" -v n="$NCPU" 'BEGIN {
		split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
		if (t <= 0) print "-"; else printf "%.2f", (y[1] - x[1]) / t * n }'
}

# quiet NAME: waits until fewer than QUIET CPUs are busy (nothing of ours runs between
# runs: nginx idles), polling every 30 s while the QUIET_WAIT budget lasts; then NAME is
# measured anyway and listed as noisy.
quiet_waited=0
busy_seen=() noisy=()
quiet() {
	local b
	while :; do
		b=$(cpu_busy)
		num "$b" || return 0
		if awk -v b="$b" -v q="$QUIET" 'BEGIN { exit !(b < q) }'; then break; fi
		if [ "$quiet_waited" -ge "$QUIET_WAIT" ]; then
			noisy+=("$1: $b CPUs busy before it")
			note "$1: $b CPUs busy before it; measured anyway (BENCH_QUIET_WAIT=$QUIET_WAIT s used up)"
			break
		fi
		note "$1: $b CPUs busy before it (BENCH_QUIET=$QUIET); waiting 30 s"
		sleep 30
		quiet_waited=$((quiet_waited + 30))
	done
	busy_seen+=("$b")
}

# measure NAME CMD...: waits for a quiet machine, runs CMD pinned to the generator CPU;
# leaves "wall user sys rss_kb sleeps" in $OUT/NAME.time ("-" for what could not be
# measured; sleeps: CMD's voluntary context switches, one per time it slept and was woken)
# and nginx's sleeps during the run in $OUT/NAME.srv, stdout in $OUT/NAME.out and stderr
# in $OUT/NAME.err. Returns CMD's exit status.
measure() {
	local name=$1
	shift
	local tf="$OUT/$name.time" rc s0
	quiet "$name"
	s0=$(srv_sleeps)
	if [ -x /usr/bin/time ]; then
		"${GEN_PIN[@]}" /usr/bin/time -o "$tf" -f '%e %U %S %M %w' "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
		rc=$?
		# time prefixes a "Command exited with non-zero status" line; keep the last.
		tail -n 1 "$tf" >"$tf.tmp" && mv "$tf.tmp" "$tf"
		srv_sleeps "$s0" >"$OUT/$name.srv"
	else
		local TIMEFORMAT='%R %U %S - -'
		{ time "${GEN_PIN[@]}" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; } 2>"$tf"
		rc=$?
	fi
	return $rc
}

# calc EXPR: floating-point arithmetic with awk; prints "-" when an operand is "-" or empty.
calc() { awk "BEGIN { r = $1; printf \"%.6g\", r }" 2>/dev/null || echo -; }
num() { [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
ratio() { if num "$1" && num "$2"; then calc "$1 / $2"; else echo -; fi; }
# sig N V: V to N significant digits, or "-".
sig() { if num "$2"; then awk -v v="$2" "BEGIN { printf \"%.${1}g\", v }"; else echo -; fi; }
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

# srv_sleeps [BEFORE]: the nginx worker's voluntary context switches so far (minus BEFORE),
# or "-": how many times the server went to sleep and a request woke it. Every wake-up of
# the generator that sends requests to an idle server wakes the server too, and on a
# virtual machine the generator pays for that wake-up (an interprocessor interrupt sent
# from its write), so a generator that wakes more often costs more CPU per request.
srv_sleeps() {
	local w n
	w=$(pgrep -P "${NGINX_PID:-0}" 2>/dev/null | head -n 1)
	n=$(awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/${w:-0}/status" 2>/dev/null)
	if ! num "$n"; then echo -; elif [ -n "${1:-}" ] && num "$1"; then echo $((n - $1)); else echo "$n"; fi
}

NGINX_PID=""
NGX=$(mktemp -d)
# shellcheck disable=SC2317 # called by the EXIT trap
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

# scenario SRC SECONDS DEST [RATE]: SRC with its stage duration set to SECONDS (and its
# start and target rates to RATE).
scenario() {
	local rate=${4:-}
	if [ -n "$rate" ]; then
		sed -E "s/duration: *[0-9]+s/duration: ${2}s/; s/(start_rate|target): *[0-9]+/\1: $rate/" "$1" >"$3"
	else
		sed -E "s/duration: *[0-9]+s/duration: ${2}s/" "$1" >"$3"
	fi
}

# wrk2_p99 FILE: "corrected uncorrected" p99 latencies in ms from wrk2's -L -U output.
wrk2_p99() {
	awk '
	function ms(x,   n, u) {
		n = x + 0; u = x; sub(/^[0-9.]+/, "", u)
		if (u == "us") return n / 1000; if (u == "ms") return n; if (u == "s") return n * 1000
		if (u == "m") return n * 60000; if (u == "h") return n * 3600000; return "-"
	}
	/Latency Distribution \(HdrHistogram - Recorded/ { s = "c" }
	/Latency Distribution \(HdrHistogram - Uncorrected/ { s = "u" }
	s != "" && $1 == "99.000%" { v[s] = ms($2); s = "" }
	END { printf "%s %s\n", ("c" in v) ? v["c"] : "-", ("u" in v) ? v["u"] : "-" }' "$1"
}

# per_s N SECONDS: N per second, rounded, or "-".
per_s() { if num "$1" && num "$2"; then sig 4 "$(calc "$1 / $2")"; else echo -; fi; }

# run_wrk2 NAME RATE SECONDS: one wrk2 run, -t1 -c$W2C, pinned and timed as the others.
# Sets W_REQS W_CPU W_RSS W_UTIL, W_ACH, W_LAT (p99 latency from the intended time, ms),
# W_LAG (ms), W_WAKE (its wake-ups per second) and W_SRV (nginx's, per second).
#
# Achieved: wrk2 staggers its connections' starts 5 ms apart and paces each from its
# own start, its first request at once, so what it plans is about
# RATE × (SECONDS - 5 ms × (c - 1) / 2) + c / 2 requests in its fixed SECONDS; W_ACH is
# against that (loadgate's against its planned rate).
# Lag: wrk2 does not report it. It reports latency from the intended time (-L) and from
# the actual send (-U); per request the first is the lag plus the second, so W_LAG is
# estimated as p99(-L) - p99(-U) (and p99(-L) bounds the lag's p99 from above). Its
# waits are timers of whole milliseconds, rounded up, so it sends up to ~1.5 ms late.
# A run longer than 10 s measures latency after wrk2's calibration at 10 s only.
run_wrk2() {
	local name=$1 rate=$2 secs=$3 wall user sys rss lat ulat
	measure "$name" "$WRK2" -t1 -c"$W2C" -d"${secs}s" -R"$rate" --timeout 5s -L -U "http://127.0.0.1:$PORT/"
	local rc=$?
	[ $rc = 0 ] || note "wrk2 $name exited $rc (see $OUT/$name.err)"
	if grep -qE 'Socket errors|Non-2xx' "$OUT/$name.out"; then
		note "wrk2 $name: $(grep -E 'Socket errors|Non-2xx' "$OUT/$name.out" | tr -s ' ' | tr '\n' ' ')"
	fi
	W_REQS=$(awk '/ requests in / { print $1 }' "$OUT/$name.out")
	read -r lat ulat < <(wrk2_p99 "$OUT/$name.out")
	read -r wall user sys rss sleeps <"$OUT/$name.time"
	W_CPU=- W_RSS=- W_ACH=- W_LAT=- W_LAG=- W_UTIL=-
	W_WAKE=$(per_s "$sleeps" "$wall") W_SRV=$(per_s "$(cat "$OUT/$name.srv" 2>/dev/null)" "$wall")
	num "$W_REQS" || W_REQS=-
	if num "$W_REQS" && num "$user" && num "$sys"; then W_CPU=$(calc "($user + $sys) * 1e6 / $W_REQS"); fi
	if num "$wall" && num "$user" && num "$sys"; then W_UTIL=$(calc "($user + $sys) / $wall"); fi
	if num "$rss"; then W_RSS=$rss; fi
	if num "$W_REQS"; then W_ACH=$(calc "$W_REQS / ($rate * ($secs - 0.005 * ($W2C - 1) / 2) + $W2C / 2)"); fi
	if num "$lat"; then W_LAT=$lat; fi
	if num "$lat" && num "$ulat"; then W_LAG=$(calc "$lat - $ulat"); fi
}

# run_loadgate NAME SCENARIO [SECONDS]: one loadgate run; sets REQS CPU_US RSS LAG RPS, LAT
# (the p99 latency from the intended time, ms), UTIL (CPU seconds per second of the run),
# WAKE and SRV (loadgate's and nginx's wake-ups per second), WLATE (how late its clock's
# wake-ups came, p99 ms), MEM (the report's split of its memory at the end: binary pages,
# anonymous, of which Go heap, stacks, runtime; MiB)
# and ACH: requests over planned; given the SECONDS of the schedule, the rate achieved
# over the planned rate (REQS / duration_s over planned / SECONDS): loadgate sends every
# planned request, late when it falls behind, and then the run lasts longer.
run_loadgate() {
	local name=$1 sc=$2 secs=${3:-} json="$OUT/$1.json" wall user sys rss planned dur
	rm -f "$json"
	GOMAXPROCS=1 measure "$name" "$LOADGATE" run "$sc" --quiet -o "json=$json"
	local rc=$?
	[ $rc = 0 ] || note "loadgate $name exited $rc (see $OUT/$name.err)"
	REQS=$(field "$json" metrics.http_reqs.count)
	LAG=$(field "$json" generator.schedule_lag_p99)
	LAT=$(field "$json" metrics.http_req_duration.p99)
	planned=$(field "$json" generator.planned)
	dur=$(field "$json" duration_s)
	read -r wall user sys rss sleeps <"$OUT/$name.time"
	CPU_US=- RSS=- ACH=- RPS=- UTIL=-
	WAKE=$(per_s "$sleeps" "$wall") SRV=$(per_s "$(cat "$OUT/$name.srv" 2>/dev/null)" "$wall")
	WLATE=$(field "$json" generator.wake_late_p99)
	MEM=$(for k in rss_file rss_anon heap stacks runtime; do field "$json" "generator.process.${k}_mib"; done | tr '\n' ' ')
	if num "$REQS" && num "$user" && num "$sys"; then CPU_US=$(calc "($user + $sys) * 1e6 / $REQS"); fi
	if num "$wall" && num "$user" && num "$sys"; then UTIL=$(calc "($user + $sys) / $wall"); fi
	if num "$rss"; then RSS=$rss; fi
	if num "$REQS" && num "$planned"; then
		if [ -n "$secs" ] && num "$dur"; then
			ACH=$(calc "($REQS / $dur) / ($planned / $secs)")
		else
			ACH=$(calc "$REQS / $planned")
		fi
	fi
	if num "$REQS" && num "$dur"; then RPS=$(calc "$REQS / $dur"); fi
}

# ---- how far one core goes (BENCH_MAXRATE=1) -------------------------------------------

# One short step per tool and rate, remembered: "achieved_ok lag_ok" (1 or 0).
declare -A mr_res
mr_log=() mr_w2lag=()
MR_CAP=$((MR_START * 256))
MR_FLOOR=$((MR_START / 16))
# mr_run TOOL RATE TRY: one step; sets A_OK and L_OK (1 or 0) and logs it.
mr_run() {
	local tool=$1 rate=$2 name="maxrate-$1-$2-$3" ach lag lat util cpu
	note "(e) $tool at ${rate}/s for ${MR_STEP}s (try $3)"
	if [ "$tool" = loadgate ]; then
		scenario bench/open5k.yaml "$MR_STEP" "$OUT/maxrate.yaml" "$rate"
		run_loadgate "$name" "$OUT/maxrate.yaml" "$MR_STEP"
		ach=$ACH lag=$LAG lat=$LAT util=$UTIL cpu=$CPU_US
	else
		W2C=$MR_W2C run_wrk2 "$name" "$rate" "$MR_STEP"
		ach=$W_ACH lag=$W_LAG lat=$W_LAT util=$W_UTIL cpu=$W_CPU
	fi
	if [ "$tool" = wrk2 ] && num "$lag"; then mr_w2lag+=("$lag"); fi
	A_OK=0 L_OK=0
	if num "$ach" && awk -v v="$ach" 'BEGIN { exit !(v >= 0.99 && v <= 1.01) }'; then A_OK=1; fi
	if num "$lag" && awk -v v="$lag" 'BEGIN { exit !(v < 1) }'; then L_OK=1; fi
	mr_log+=("$(printf '%-8s %7s/s try %s: achieved %-6s lag p99 %-9s latency p99 %-9s %4s us/req, %4s of the core' \
		"$tool" "$rate" "$3" "$(sig 4 "$ach")" "${lag}ms" "${lat}ms" "$(sig 3 "$cpu")" "$(sig 2 "$util")")")
}
# mr_step TOOL RATE: runs the step unless it ran already; a step that fails runs once
# more, and passes what either try passed (noise only makes a step worse: a busy
# neighbour, or wrk2's event loop, which now and then sleeps its first second away when
# a due timer straddles a second boundary).
mr_step() {
	local tool=$1 rate=$2 a l
	[ -z "${mr_res[$tool $rate]:-}" ] || return 0
	mr_run "$tool" "$rate" 1
	a=$A_OK l=$L_OK
	if [ "$a" = 0 ] || [ "$l" = 0 ]; then
		mr_run "$tool" "$rate" 2
		[ "$A_OK" = 0 ] || a=1
		[ "$L_OK" = 0 ] || l=1
	fi
	mr_res[$tool $rate]="$a $l"
}
# mr_ok TOOL RATE CRITERION: whether the step passes: "ach" (achieved within 1%) or
# "both" (and lag p99 < 1 ms).
mr_ok() {
	local a l
	mr_step "$1" "$2"
	read -r a l <<<"${mr_res[$1 $2]}"
	[ "$a" = 1 ] && { [ "$3" = ach ] || [ "$l" = 1 ]; }
}
# mr_search TOOL CRITERION: sets MR_LO, the highest rate that passed ("-" if none down
# to MR_FLOOR), and MR_HI, the lowest above it that failed ("-" if none up to MR_CAP):
# doubling from MR_START (halving when it fails), then bisecting to 5%. It takes the
# criterion to be monotonic in the rate; one noisy step can end the search early.
mr_search() {
	local tool=$1 crit=$2 lo=0 hi=0 r=$MR_START mid
	if mr_ok "$tool" "$r" "$crit"; then
		lo=$r
		while [ "$r" -lt "$MR_CAP" ]; do
			r=$((r * 2))
			if mr_ok "$tool" "$r" "$crit"; then
				lo=$r
			else
				hi=$r
				break
			fi
		done
	else
		hi=$r
		while [ "$r" -gt "$MR_FLOOR" ]; do
			r=$((r / 2))
			if mr_ok "$tool" "$r" "$crit"; then
				lo=$r
				break
			fi
			hi=$r
		done
	fi
	while [ "$lo" -gt 0 ] && [ "$hi" -gt 0 ] && [ $((hi * 100)) -gt $((lo * 105)) ]; do
		mid=$(((lo + hi) / 2))
		mid=$((mid - mid % 100))
		if [ "$mid" -le "$lo" ] || [ "$mid" -ge "$hi" ]; then break; fi
		if mr_ok "$tool" "$mid" "$crit"; then lo=$mid; else hi=$mid; fi
	done
	MR_LO=$lo MR_HI=$hi
	[ "$lo" != 0 ] || MR_LO=-
	[ "$hi" != 0 ] || MR_HI=-
}
declare -A mr_max

# ---- runs, in order ------------------------------------------------------------------

# Open model: loadgate's runs (medians) and ratios to wrk2, per pair.
declare -A o_cpu o_ach o_lag o_rss
s_cpu=() s_ach=() s_lag=() s_rss=()
r_cpu=() r_ach=() r_lag=() r_lat=() r_rss=() r_mcpu=() open_text=()
o_mem=
declare -A l_ratio
n_open=0

# open_pair NAME SECONDS: wrk2 (when given), loadgate with its slack at wrk2's wake-up
# interval (idem), then loadgate as shipped, at 5000/s for SECONDS; appends lines to
# open_text and sets the ratios PR_CPU PR_ACH PR_LAG PR_LAT PR_RSS and PR_MCPU (the
# matched run's CPU per request over wrk2's).
#
# Why the matched run: an arrival waits at most the slack for the wake-up that starts it,
# so a generator that wakes W times a second has a schedule lag p99 of about 1/W, and
# each wake-up costs CPU (the generator's, and nginx's, which the generator's write pays
# for on a VM). The lag goal (< 1 ms) needs over 1000 wake-ups a second; wrk2 wakes on
# whole-millisecond timers and for its responses, fewer times, later. At wrk2's wake-up
# rate the CPU per request of the two compares without that difference (wrk2 wakes
# twice per burst of sends, loadgate once: nginx's wake-ups say how many bursts).
open_pair() {
	local name=$1 secs=$2 m_us="" m_line=""
	PR_CPU=- PR_ACH=- PR_LAG=- PR_LAT=- PR_RSS=- PR_MCPU=-
	if [ -n "$WRK2" ]; then
		note "(d) wrk2 -t1 -c$W2C -R$OPEN_RATE, ${secs}s ($name)"
		run_wrk2 "wrk2-$name" "$OPEN_RATE" "$secs"
		if num "$W_WAKE" && awk -v w="$W_WAKE" 'BEGIN { exit !(w > 10) }'; then
			m_us=$(awk -v w="$W_WAKE" 'BEGIN { printf "%d", 1e6 / w }')
			note "(d) loadgate open ${OPEN_RATE}/s with slack ${m_us}us (wrk2's wake-up interval), ${secs}s ($name)"
			scenario bench/open5k.yaml "$secs" "$OUT/open5k-${secs}s-matched.yaml"
			sed -i -E "s/^(  max_in_flight: .*)$/\1\n  slack: ${m_us}us/" "$OUT/open5k-${secs}s-matched.yaml"
			run_loadgate "open5k-matched-$name" "$OUT/open5k-${secs}s-matched.yaml" "$secs"
			PR_MCPU=$(ratio "$CPU_US" "$W_CPU")
			m_line=$(printf '\n  %*s  loadgate at slack %sus (wrk2'"'"'s wake-up interval): %s us/req, achieved %s, lag p99 %s ms, %s wake-ups/s (nginx %s): CPU ratio %s' \
				${#name} "" "$m_us" "$(sig 3 "$CPU_US")" "$(sig 4 "$ACH")" "$LAG" "$WAKE" "$SRV" "$(sig 3 "$PR_MCPU")")
		fi
	fi
	note "(c) loadgate open ${OPEN_RATE}/s, ${secs}s ($name)"
	scenario bench/open5k.yaml "$secs" "$OUT/open5k-${secs}s.yaml"
	run_loadgate "open5k-$name" "$OUT/open5k-${secs}s.yaml" "$secs"
	[ -n "$WRK2" ] || return 0
	PR_CPU=$(ratio "$CPU_US" "$W_CPU") PR_ACH=$(ratio "$ACH" "$W_ACH") PR_LAG=$(ratio "$LAG" "$W_LAG")
	PR_LAT=$(ratio "$LAT" "$W_LAT") PR_RSS=$(ratio "$RSS" "$W_RSS")
	open_text+=("$(printf '  %s: wrk2 %s us/req, achieved %s, lag p99 %s ms (est.; latency p99 %s ms), RSS %s KiB, %s wake-ups/s (nginx %s)\n  %*s  loadgate %s us/req, achieved %s, lag p99 %s ms (latency p99 %s ms), RSS %s KiB, %s wake-ups/s (nginx %s), each late by p99 %s ms\n  %*s  ratios: CPU %s, achieved %s, lag %s, latency %s, RSS %s%s' \
		"$name" "$(sig 3 "$W_CPU")" "$(sig 4 "$W_ACH")" "$W_LAG" "$W_LAT" "$W_RSS" "$W_WAKE" "$W_SRV" \
		${#name} "" "$(sig 3 "$CPU_US")" "$(sig 4 "$ACH")" "$LAG" "$LAT" "$RSS" "$WAKE" "$SRV" "$WLATE" \
		${#name} "" "$(sig 3 "$PR_CPU")" "$(sig 4 "$PR_ACH")" "$(sig 3 "$PR_LAG")" "$(sig 3 "$PR_LAT")" "$(sig 3 "$PR_RSS")" "$m_line")")
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
		# With wrk2 the short open run alternates with it BENCH_PAIRS times; without, once.
		n_open=1
		[ -z "$WRK2" ] || n_open=$PAIRS
		for p in $(seq "$n_open"); do
			open_pair "${DUR}s-$p" "$DUR"
			s_cpu+=("$CPU_US") s_ach+=("$ACH") s_lag+=("$LAG") s_rss+=("$RSS")
			r_cpu+=("$PR_CPU") r_ach+=("$PR_ACH") r_lag+=("$PR_LAG") r_lat+=("$PR_LAT") r_rss+=("$PR_RSS") r_mcpu+=("$PR_MCPU")
		done
		o_cpu[short]=$(median "${s_cpu[@]}") o_ach[short]=$(median "${s_ach[@]}")
		o_lag[short]=$(median "${s_lag[@]}") o_rss[short]=$(median "${s_rss[@]}")
		if [ "$LONG" != 0 ]; then
			open_pair "${LONG}s" "$LONG"
			o_cpu[long]=$CPU_US o_ach[long]=$ACH o_lag[long]=$LAG o_rss[long]=$RSS o_mem=$MEM
			l_ratio[cpu]=$PR_CPU l_ratio[ach]=$PR_ACH l_ratio[lag]=$PR_LAG l_ratio[lat]=$PR_LAT l_ratio[rss]=$PR_RSS
		else
			skip "open 5k long run (BENCH_LONG=0)"
		fi
	fi
	if [ "$MAXRATE" = 1 ]; then
		for tool in loadgate wrk2; do
			if [ "$tool" = loadgate ] && [ -z "$LOADGATE" ]; then continue; fi
			if [ "$tool" = wrk2 ] && [ -z "$WRK2" ]; then
				skip "how far one core goes, wrk2: $wrk2_why"
				continue
			fi
			for crit in ach both; do
				mr_search "$tool" "$crit"
				mr_max[$tool $crit]="$MR_LO $MR_HI"
			done
		done
	else
		skip "how far one core goes (BENCH_MAXRATE=1 runs it; it takes minutes)"
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
row "closed req/s vs wrk (median of pairs)" "$(median "${pair_rps[@]}")" ">= 1.0x wrk" "v >= 1.0"
row "closed CPU/req vs wrk (median of pairs)" "$(median "${pair_cpu[@]}")" "<= 1.0x wrk" "v <= 1.0"
[ "$n_open" -le 1 ] || echo "  open 5k ${DUR}s: loadgate's medians of $n_open runs"
for run in short long; do
	secs=$DUR
	if [ $run = long ]; then
		[ "$LONG" != 0 ] || continue
		secs=$LONG
	fi
	row "open 5k ${secs}s CPU us/req" "${o_cpu[$run]:--}" "(vs wrk2 below)" ""
	row "open 5k ${secs}s achieved/planned" "${o_ach[$run]:--}" "0.99 .. 1.01" "v >= 0.99 && v <= 1.01"
	row "open 5k ${secs}s schedule_lag p99 (ms)" "${o_lag[$run]:--}" "< 1" "v < 1"
	row "open 5k ${secs}s peak RSS (KiB)" "${o_rss[$run]:--}" "<= 16384 (16 MiB)" "v <= 16384"
done
if [ -n "$o_mem" ]; then
	read -r m_file m_anon m_heap m_stacks m_rt <<<"$o_mem"
	echo "  loadgate's resident memory at the end of the ${LONG}s run (its report, MiB): binary pages $m_file,"
	echo "  anonymous $m_anon (Go heap $m_heap, stacks $m_stacks, runtime $m_rt; the rest is the C stack and"
	echo "  allocator slack); the binary's pages are what package initialization touched (docs/performance.md)"
fi
if [ "$LONG" != 0 ]; then
	row "RSS ${LONG}s / RSS ${DUR}s" "$(ratio "${o_rss[long]:--}" "${o_rss[short]:--}")" "<= 1.10" "v <= 1.10"
fi

echo
if [ -z "$WRK2" ]; then
	echo "open model vs wrk2: skipped: $wrk2_why"
else
	echo "open model ${OPEN_RATE}/s vs wrk2 -t1 -c$W2C (loadgate / wrk2; wrk2's lag is estimated as"
	echo "p99 latency from the intended time minus p99 from the send: it does not report it):"
	printf '%s\n' "${open_text[@]}"
	row "open 5k CPU/req vs wrk2 (median)" "$(median "${r_cpu[@]}")" "<= 1.0x wrk2" "v <= 1.0"
	row "  at wrk2's wake-up rate (median)" "$(median "${r_mcpu[@]}")" "(as many wake-ups)" ""
	row "open 5k achieved vs wrk2 (median)" "$(median "${r_ach[@]}")" ">= 0.99x wrk2" "v >= 0.99"
	row "open 5k lag p99 vs wrk2 est. (median)" "$(median "${r_lag[@]}")" "" ""
	row "open 5k latency p99 vs wrk2 (median)" "$(median "${r_lat[@]}")" "" ""
	row "open 5k peak RSS vs wrk2 (median)" "$(median "${r_rss[@]}")" "" ""
	if [ "$LONG" != 0 ]; then
		row "open 5k ${LONG}s CPU/req vs wrk2" "${l_ratio[cpu]:--}" "<= 1.0x wrk2" "v <= 1.0"
		row "open 5k ${LONG}s achieved vs wrk2" "${l_ratio[ach]:--}" ">= 0.99x wrk2" "v >= 0.99"
		row "open 5k ${LONG}s lag p99 vs wrk2 est." "${l_ratio[lag]:--}" "" ""
		row "open 5k ${LONG}s latency p99 vs wrk2" "${l_ratio[lat]:--}" "" ""
		row "open 5k ${LONG}s peak RSS vs wrk2" "${l_ratio[rss]:--}" "" ""
	fi
fi

if [ "$MAXRATE" = 1 ] && [ ${#mr_log[@]} -gt 0 ]; then
	echo
	echo "how far one core goes (${MR_STEP} s steps from ${MR_START}/s; achieved within 1%, lag p99 < 1 ms;"
	echo "wrk2 -t1 -c$MR_W2C, its lag estimated as above):"
	printf '  %s\n' "${mr_log[@]}"
	# mr_row TOOL CRIT LABEL: the highest rate that passed, and the lowest that failed.
	mr_row() {
		local lo hi
		read -r lo hi <<<"${mr_max[$1 $2]:-- -}"
		if [ "$hi" = - ]; then hi="none failed"; else hi="${hi}/s failed"; fi
		row "$3" "$lo" "$hi" ""
	}
	mr_row loadgate both "max rate loadgate, achieved + lag"
	mr_row loadgate ach "max rate loadgate, achieved only"
	if [ -n "$WRK2" ]; then
		mr_row wrk2 both "max rate wrk2, achieved + lag (est.)"
		mr_row wrk2 ach "max rate wrk2, achieved only"
		read -r lg_b _ <<<"${mr_max[loadgate both]:-- -}"
		read -r w_b _ <<<"${mr_max[wrk2 both]:-- -}"
		read -r lg_a _ <<<"${mr_max[loadgate ach]:-- -}"
		read -r w_a _ <<<"${mr_max[wrk2 ach]:-- -}"
		row "max rate vs wrk2, achieved + lag" "$(ratio "$lg_b" "$w_b")" ">= 1.0x wrk2" "v >= 1.0"
		row "max rate vs wrk2, achieved only" "$(ratio "$lg_a" "$w_a")" "" ""
		if [ ${#mr_w2lag[@]} -gt 0 ]; then
			echo "  wrk2's lag p99 (est.) over its steps: $(printf '%s\n' "${mr_w2lag[@]}" | sort -g | head -n 1) to $(printf '%s\n' "${mr_w2lag[@]}" | sort -g | tail -n 1) ms;"
			echo "  its waits are timers of whole milliseconds, rounded up, so its sends run up to ~1.5 ms late at any rate"
		fi
	fi
fi

echo
if [ ${#busy_seen[@]} -gt 0 ]; then
	printf 'CPUs busy before the runs (others): median %s, max %s, over %d runs\n' \
		"$(median "${busy_seen[@]}")" "$(printf '%s\n' "${busy_seen[@]}" | sort -g | tail -n 1)" ${#busy_seen[@]}
fi
if [ ${#noisy[@]} -gt 0 ]; then
	echo "noisy runs (measured anyway):"
	printf '  - %s\n' "${noisy[@]}"
fi
if [ ${#skipped[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  - %s\n' "${skipped[@]}"
fi
echo "raw outputs in $OUT"
if [ "$STRICT" = 1 ] && [ $failed = 1 ]; then exit 1; fi
exit 0
