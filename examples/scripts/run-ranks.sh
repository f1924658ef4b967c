#!/usr/bin/env bash
# Starts W `moeflux rank` processes on this host (loopback TCP), waits for all of them and prints
# each rank's last JSON line. Exits non-zero if any rank failed.
#
#   examples/scripts/run-ranks.sh [W] [moeflux rank options...]
#   BASE_PORT=7400 examples/scripts/run-ranks.sh 4 --steps 100 --hidden 512
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${MOEFLUX_JAR:-$here/../cli/target/moeflux.jar}"
world="${1:-4}"
[ $# -gt 0 ] && shift
base_port="${BASE_PORT:-7400}"
logs="$(mktemp -d "${TMPDIR:-/tmp}/moeflux-ranks.XXXXXX")"

if [ ! -f "$jar" ]; then
  echo "no $jar: build it with 'mvn -B -q -DskipTests package' first" >&2
  exit 2
fi

peers=""
for ((r = 0; r < world; r++)); do
  peers+="${peers:+,}127.0.0.1:$((base_port + r))"
done

pids=()
for ((r = 0; r < world; r++)); do
  java --add-modules jdk.incubator.vector -jar "$jar" rank --rank "$r" --world "$world" --peers "$peers" "$@" \
    >"$logs/rank-$r.out" 2>"$logs/rank-$r.err" &
  pids+=($!)
done

failed=0
for ((r = 0; r < world; r++)); do
  if wait "${pids[$r]}"; then
    echo "rank $r: ok   $(tail -n 1 "$logs/rank-$r.out")"
  else
    failed=1
    echo "rank $r: FAILED $(tail -n 3 "$logs/rank-$r.err" | tr '\n' ' ')"
  fi
done
echo "logs in $logs"
exit "$failed"
