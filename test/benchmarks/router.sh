#!/usr/bin/env bash
# The whole router on loopback, in one run: the same stream (a) sender -> receiver directly over ARTP, the
# baseline, and (b) through a Pando node (distribution unit -> k parallel AR units running PROGRAM ->
# aggregation unit) for each k in UNITS. Prints one markdown row per (size, k, run) and the medians of the
# ratio router/direct. CPU: the node's process CPU per datagram (user + system, from /proc).
#
# usage: test/benchmarks/router.sh            (N=200000 RUNS=3 SIZES="64 1200" UNITS="1 2" PROGRAM=passthrough)
# needs: the built distribution (./mvnw -q -DskipTests package) and python3. Runs its own copy of the node
#        on SSH port 8501 and ingress port 17600 (PORT_BASE), stopped at the end.
set -euo pipefail
N=${N:-200000}; RUNS=${RUNS:-3}; SIZES=${SIZES:-"64 1200"}; UNITS=${UNITS:-"1 2"}; PROGRAM=${PROGRAM:-passthrough}
SSH_PORT=${SSH_PORT:-8501}; PORT_BASE=${PORT_BASE:-17600}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$ROOT/karaf-assembly/target/assembly
OUT=$ROOT/test/benchmarks/target/router
[ -x "$SRC/bin/pando" ] || { echo "build the distribution first: ./mvnw -q -DskipTests package" >&2; exit 2; }
rm -rf "$OUT" && mkdir -p "$OUT" && cp -r "$SRC" "$OUT/node"
NODE=$OUT/node
sed -i "s/^sshPort *=.*/sshPort = $SSH_PORT/" "$NODE/etc/org.apache.karaf.shell.cfg"
printf 'ingress.port = %d\n' "$PORT_BASE" > "$NODE/etc/io.pando.distribution.cfg"
P="$NODE/bin/pando"
json() { python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print($1)"; }
cleanup() { "$NODE/bin/stop" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$NODE/bin/start"
"$P" console --wait 120 "pando:units" > /dev/null
KPID=$(pgrep -f "karaf.home=$NODE" | head -1)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$KPID/stat"; }
HZ=$(getconf CLK_TCK)

run() { # size units(0 = direct) -> "rate node_cpu_us received"
    local size=$1 k=$2 port=$((PORT_BASE + 1)) to sid=
    "$P" artp recv --listen 127.0.0.1:$port --count "$N" --idle 15 --timeout 300 --json > "$OUT/recv.out" & local rp=$!
    sleep 1.5
    if [ "$k" = 0 ]; then
        to=127.0.0.1:$port
    else
        sid=$("$P" console "pando:session-create --json --name bench$RANDOM --program $PROGRAM --to 127.0.0.1:$port --units $k" | json "d['id']")
        to=127.0.0.1:$PORT_BASE
    fi
    local c0; c0=$(cpu_ticks)
    "$P" artp send --to "$to" --session "${sid:-1}" --count "$N" --size "$size" --timeout 300 --json > "$OUT/send.out"
    wait $rp || true
    local c1; c1=$(cpu_ticks)
    [ -n "$sid" ] && "$P" console "pando:session-close $sid" > /dev/null
    local rate rcvd
    rate=$(json "d['datagrams_per_s']" < "$OUT/recv.out")
    rcvd=$(json "d['received']" < "$OUT/recv.out")
    echo "$rate $(python3 -c "print(($c1 - $c0) / $HZ * 1e6 / $N)") $rcvd"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "# router on loopback, N=$N, program $PROGRAM, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "| size | units | run | direct dg/s | router dg/s | router/direct | node CPU us/dg | delivered |"
echo "|---|---|---|---|---|---|---|---|"
for s in $SIZES; do
    for k in $UNITS; do
        : > "$OUT/ratios.$s.$k"
        for r in $(seq "$RUNS"); do
            read -r dr _ dn < <(run "$s" 0)
            read -r rr rc rn < <(run "$s" "$k")
            ratio=$(python3 -c "print(round($rr / $dr, 3))")
            echo "$ratio" >> "$OUT/ratios.$s.$k"
            printf '| %s | %s | %s | %.0f | %.0f | %s | %.1f | %s/%s |\n' "$s" "$k" "$r" "$dr" "$rr" "$ratio" "$rc" "$rn" "$N"
        done
    done
done
echo
echo "| size | units | median router/direct |"
echo "|---|---|---|"
for s in $SIZES; do for k in $UNITS; do
    echo "| $s | $k | $(median < "$OUT/ratios.$s.$k") |"
done; done
