#!/usr/bin/env bash
# End-to-end comparison on loopback, in one run: `pando artp send` -> `pando artp recv` (ARTP/1, two JVMs)
# against raw UDP (udp-ref `blast` -> `sink`, C, sendmmsg/recvmmsg, no reliability) at several sizes.
# Prints one markdown row per (size, run) and a summary with medians: delivered rate, the ratio ARTP/raw,
# and CPU microseconds per datagram (sender + receiver, user + system, whole processes: for pando this
# includes JVM start-up and JIT compilation, so use N >= 1,000,000).
#
# usage: test/benchmarks/e2e.sh                      (N=1000000 RUNS=3 SIZES="64 512 1400")
#        N=300000 RUNS=1 SIZES=1400 test/benchmarks/e2e.sh
# needs: the built CLI jar (./mvnw -q -DskipTests package) and the udp-ref sources (UDP_REF=dir, default
#        ../shared/tools/udp-ref beside the project), built here with make into target/.
set -euo pipefail
N=${N:-1000000}; RUNS=${RUNS:-3}; SIZES=${SIZES:-"64 512 1400"}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${UDP_REF:-$ROOT/../shared/tools/udp-ref}
OUT=$ROOT/test/benchmarks/target/e2e
mkdir -p "$OUT/udp-ref"
[ -f "$SRC/blast.c" ] || { echo "udp-ref sources not found in $SRC (set UDP_REF)" >&2; exit 2; }
make -s -C "$OUT/udp-ref" -f "$SRC/Makefile" VPATH="$SRC" CFLAGS="-O2 -Wall -I$SRC" blast sink
JAR=$(ls "$ROOT"/bundles/client/target/pando-client-*-cli.jar 2>/dev/null | head -1)
[ -n "$JAR" ] || { echo "build the CLI first: ./mvnw -q -DskipTests package" >&2; exit 2; }
PORT=${PORT:-9470}
T="/usr/bin/time -f %U+%S -o"

cpu() { echo "$(cat "$1")" | bc -l; }

raw() { # size -> "rate cpu_us"
    $T "$OUT/sink.t" "$OUT/udp-ref/sink" -l 127.0.0.1:$PORT -n "$N" -t 120 -i 2 > "$OUT/sink.out" & local sp=$!
    sleep 0.3
    $T "$OUT/blast.t" "$OUT/udp-ref/blast" -d 127.0.0.1:$PORT -n "$N" -s "$1" > "$OUT/blast.out"
    wait $sp
    local rcvd mpps
    rcvd=$(sed -n 's/.*rcvd=\([0-9]*\).*/\1/p' "$OUT/sink.out")
    mpps=$(sed -n 's/.*mpps=\([0-9.]*\).*/\1/p' "$OUT/sink.out")
    echo "$(echo "$mpps * 1000000" | bc -l) $(echo "($(cpu "$OUT/sink.t") + $(cpu "$OUT/blast.t")) * 1000000 / $N" | bc -l) $rcvd"
}

artp() { # size -> "rate cpu_us received"
    $T "$OUT/recv.t" java -jar "$JAR" artp recv --listen 127.0.0.1:$PORT --count "$N" --timeout 300 --json > "$OUT/recv.out" & local rp=$!
    sleep 1.5
    $T "$OUT/send.t" java -jar "$JAR" artp send --to 127.0.0.1:$PORT --count "$N" --size "$1" --timeout 300 --json > "$OUT/send.out"
    wait $rp
    local line rate rcvd
    line=$(tail -1 "$OUT/recv.out")
    rate=$(echo "$line" | sed -n 's/.*"datagrams_per_s":\([0-9.]*\).*/\1/p')
    rcvd=$(echo "$line" | sed -n 's/^{"received":\([0-9]*\).*/\1/p')
    echo "$rate $(echo "($(cpu "$OUT/recv.t") + $(cpu "$OUT/send.t")) * 1000000 / $N" | bc -l) $rcvd"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "# e2e loopback, N=$N, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "| size | run | raw UDP dg/s | ARTP dg/s | ARTP/raw | raw CPU us/dg | ARTP CPU us/dg | ARTP delivered |"
echo "|---|---|---|---|---|---|---|---|"
for s in $SIZES; do
    : > "$OUT/ratios.$s"; : > "$OUT/raw.$s"; : > "$OUT/artp.$s"; : > "$OUT/rawcpu.$s"; : > "$OUT/artpcpu.$s"
    for r in $(seq "$RUNS"); do
        read -r rr rc rn < <(raw "$s")
        read -r ar ac an < <(artp "$s")
        ratio=$(echo "$ar / $rr" | bc -l)
        printf '| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2f | %s/%s |\n' "$s" "$r" "$rr" "$ar" "$ratio" "$rc" "$ac" "$an" "$N"
        echo "$ratio" >> "$OUT/ratios.$s"; echo "$rr" >> "$OUT/raw.$s"; echo "$ar" >> "$OUT/artp.$s"
        echo "$rc" >> "$OUT/rawcpu.$s"; echo "$ac" >> "$OUT/artpcpu.$s"
    done
done
echo
echo "| size | raw UDP dg/s (median) | ARTP dg/s (median) | ARTP/raw (median of runs) | raw CPU us/dg | ARTP CPU us/dg |"
echo "|---|---|---|---|---|---|"
for s in $SIZES; do
    printf '| %s | %.0f | %.0f | %.2f | %.2f | %.2f |\n' "$s" "$(median < "$OUT/raw.$s")" "$(median < "$OUT/artp.$s")" \
        "$(median < "$OUT/ratios.$s")" "$(median < "$OUT/rawcpu.$s")" "$(median < "$OUT/artpcpu.$s")"
done
