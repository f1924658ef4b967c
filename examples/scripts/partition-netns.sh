#!/usr/bin/env bash
# A network partition across network namespaces. Needs root on Linux (ip, network namespaces).
#
# Puts 4 `moeflux rank` processes in 4 network namespaces this script creates, each with its own
# address in 10.77.0.0/24 on a veth pair to a bridge in a fifth namespace (nothing outside these
# namespaces is touched or reached). Round 1 runs a short workload to the end: every rank must exit
# 0 with 0 mismatches. Round 2 starts the group again, waits until it steps, and takes one rank's
# link down: every surviving rank must exit non-zero, naming the lost rank, within twice the peer
# timeout. Round 3 does the same to 4 `moeflux serve --rank` processes, idle (no request in
# flight): every surviving rank must stay up and, within twice the peer timeout, say on /status
# that the group failed, naming the lost rank (the error every request then gets). The last line
# is one JSON object with the detection times.
#
#   examples/scripts/partition-netns.sh [--lost R] [--peer-timeout S] [--steps N] [--rate KBIT]
#   MOEFLUX_CMD="java -cp CLASSPATH io.moeflux.cli.MoefluxCommand" examples/scripts/partition-netns.sh
#
# --rate puts a tbf rate limit (kbit/s) on every rank's link, to show the effect of link speed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
jar="${MOEFLUX_JAR:-$here/../cli/target/moeflux.jar}"
cmd="${MOEFLUX_CMD:-java --add-modules jdk.incubator.vector -jar $jar}"
world=4
lost=3
peer_timeout=4
steps=30
rate=""
while [ $# -gt 0 ]; do
  case "$1" in
    --lost) lost="$2"; shift 2 ;;
    --peer-timeout) peer_timeout="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "partition-netns.sh needs root and the ip tool (network namespaces)" >&2
  exit 3
fi

tag="mfx$$"
hub="${tag}hub"
logs="$(mktemp -d "${TMPDIR:-/tmp}/moeflux-partition.XXXXXX")"
secret="$logs/secret"
head -c 32 /dev/urandom | base64 >"$secret"
pids=()

cleanup() {
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  done
  for ((r = 0; r < world; r++)); do
    ip netns del "${tag}r$r" 2>/dev/null
  done
  ip netns del "$hub" 2>/dev/null
}
trap cleanup EXIT

ip netns add "$hub"
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
peers=""
for ((r = 0; r < world; r++)); do
  ns="${tag}r$r"
  ip netns add "$ns"
  ip -n "$hub" link add "b$r" type veth peer name eth0 netns "$ns"
  ip -n "$hub" link set "b$r" master br0 up
  ip -n "$ns" addr add "10.77.0.$((r + 1))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  if [ -n "$rate" ]; then
    ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "${rate}kbit" burst 32kbit latency 400ms
  fi
  peers+="${peers:+,}10.77.0.$((r + 1)):7000"
done

# Starts round $1 with $2 steps; each rank's output in $logs/round$1-rank$r.{out,err}.
start_round() {
  pids=()
  for ((r = 0; r < world; r++)); do
    ip netns exec "${tag}r$r" $cmd rank --rank "$r" --world "$world" --peers "$peers" \
      --secret-file "$secret" --steps "$2" --peer-timeout "$peer_timeout" --connect-timeout 120 \
      --hidden 32 --max-tokens 4 >"$logs/round$1-rank$r.out" 2>"$logs/round$1-rank$r.err" &
    pids+=($!)
  done
}

now() { date +%s.%N; }

# Round 1: the whole workload, every output checked by its rank.
start_round 1 "$steps"
round1_ok=true
for ((r = 0; r < world; r++)); do
  if ! wait "${pids[$r]}" || ! tail -n 1 "$logs/round1-rank$r.out" | grep -q '"mismatches":0'; then
    round1_ok=false
    echo "round 1: rank $r failed: $(tail -n 3 "$logs/round1-rank$r.err" | tr '\n' ' ')" >&2
  fi
done
echo "round 1: $world ranks, $steps steps each, outputs checked: $round1_ok"

# Round 2: a long run; once every rank steps, rank $lost's link goes down.
start_round 2 100000000
deadline=$(($(date +%s) + 180))
until [ "$(cat "$logs"/round2-rank*.out 2>/dev/null | grep -c 'mesh up')" -eq "$world" ]; do
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "round 2: the group did not come up" >&2
    exit 1
  fi
  sleep 0.2
done
sleep 2
ip -n "$hub" link set "b$lost" down
down_at=$(now)
echo "round 2: rank $lost's link is down"

# every survivor must exit on its own: poll until each is gone, noting when
declare -A gone_at
deadline=$(($(date +%s) + 4 * peer_timeout + 30))
while :; do
  left=0
  for ((r = 0; r < world; r++)); do
    [ "$r" -eq "$lost" ] && continue
    if [ -z "${gone_at[$r]:-}" ]; then
      if kill -0 "${pids[$r]}" 2>/dev/null; then
        left=$((left + 1))
      else
        gone_at[$r]=$(now)
      fi
    fi
  done
  [ "$left" -eq 0 ] && break
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "round 2: survivors still running $((deadline - ${down_at%.*}))s after the link went down" >&2
    break
  fi
  sleep 0.05
done

detections=()
named=true
exited_nonzero=true
for ((r = 0; r < world; r++)); do
  [ "$r" -eq "$lost" ] && continue
  if [ -z "${gone_at[$r]:-}" ]; then
    kill -9 "${pids[$r]}" 2>/dev/null
    gone_at[$r]=$(now)
  fi
  wait "${pids[$r]}"
  code=$?
  elapsed=$(awk -v a="${gone_at[$r]}" -v b="$down_at" 'BEGIN { printf "%.2f", a - b }')
  detections+=("$elapsed")
  [ "$code" -ne 0 ] || exited_nonzero=false
  if ! grep -q "rank $lost\b" "$logs/round2-rank$r.err"; then
    named=false
    echo "rank $r did not name rank $lost: $(tail -n 2 "$logs/round2-rank$r.err" | tr '\n' ' ')" >&2
  fi
  echo "rank $r: exit $code ${elapsed}s after the link went down: $(grep -m1 'rank' "$logs/round2-rank$r.err" | head -c 300)"
done
kill -9 "${pids[$lost]}" 2>/dev/null
# reaped here, quietly: the shell would otherwise report the kill after the JSON line
wait "${pids[$lost]}" 2>/dev/null

# Round 3: serving ranks (clients on 7001, /status on 8080, the mesh on 7000), idle; then rank
# $lost's link goes down again.
ip -n "$hub" link set "b$lost" up
tokens="$logs/tokens"
head -c 32 /dev/urandom | base64 >"$tokens"
pids=()
for ((r = 0; r < world; r++)); do
  ip netns exec "${tag}r$r" $cmd serve --rank "$r" --world "$world" --peers "$peers" \
    --secret-file "$secret" --auth-token-file "$tokens" --bind "10.77.0.$((r + 1))" --port 7001 \
    --http-port 8080 --http-open-status --peer-timeout "$peer_timeout" --connect-timeout 120 \
    --hidden 32 --max-tokens 4 >"$logs/round3-rank$r.out" 2>"$logs/round3-rank$r.err" &
  pids+=($!)
done
deadline=$(($(date +%s) + 180))
until [ "$(cat "$logs"/round3-rank*.out 2>/dev/null | grep -c 'serving rank')" -eq "$world" ]; do
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "round 3: the serving group did not come up" >&2
    exit 1
  fi
  sleep 0.2
done
sleep 2
status() { ip netns exec "${tag}r$1" curl -s --max-time 1 "http://10.77.0.$(($1 + 1)):8080/status"; }
ip -n "$hub" link set "b$lost" down
down_at=$(now)
echo "round 3: serving, idle; rank $lost's link is down"
declare -A failed_at
deadline=$(($(date +%s) + 4 * peer_timeout + 30))
while :; do
  left=0
  for ((r = 0; r < world; r++)); do
    [ "$r" -eq "$lost" ] && continue
    if [ -z "${failed_at[$r]:-}" ]; then
      if status "$r" | grep -q '"state":"failed"'; then
        failed_at[$r]=$(now)
      else
        left=$((left + 1))
      fi
    fi
  done
  [ "$left" -eq 0 ] && break
  [ "$(date +%s)" -gt "$deadline" ] && break
  sleep 0.1
done
serve_detections=()
serve_named=true
serve_alive=true
for ((r = 0; r < world; r++)); do
  [ "$r" -eq "$lost" ] && continue
  answer="$(status "$r")"
  if [ -z "${failed_at[$r]:-}" ]; then
    serve_detections+=("null")
    serve_named=false
    echo "round 3: rank $r never said the group failed: $answer" >&2
    continue
  fi
  elapsed=$(awk -v a="${failed_at[$r]}" -v b="$down_at" 'BEGIN { printf "%.2f", a - b }')
  serve_detections+=("$elapsed")
  printf '%s' "$answer" | grep -q "rank $lost\b" || serve_named=false
  kill -0 "${pids[$r]}" 2>/dev/null || serve_alive=false
  echo "round 3: rank $r up, failed ${elapsed}s after the link went down: $(printf '%s' "$answer" | grep -o '"failure":"[^"]*"' | head -c 300)"
done
# reaped here, so that the shell's "Killed" notices come now, not after the JSON line
for pid in "${pids[@]}"; do
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
serve_max=$(printf '%s\n' "${serve_detections[@]}" | awk 'BEGIN { m = 0 } { if ($1 == "null") m = 1e9; else if ($1 > m) m = $1 } END { printf "%.2f", m }')

max=$(printf '%s\n' "${detections[@]}" | awk 'BEGIN { m = 0 } { if ($1 > m) m = $1 } END { printf "%.2f", m }')
limit=$((2 * peer_timeout))
within=$(awk -v m="$max" -v l="$limit" 'BEGIN { print (m <= l) ? 1 : 0 }')
serve_within=$(awk -v m="$serve_max" -v l="$limit" 'BEGIN { print (m <= l) ? 1 : 0 }')
passed=false
if $round1_ok && $named && $exited_nonzero && [ "$within" -eq 1 ] && $serve_named && $serve_alive \
  && [ "$serve_within" -eq 1 ]; then
  passed=true
fi
echo "logs in $logs"
printf '{"ranks":%d,"round1_steps":%d,"round1_ok":%s,"lost_rank":%d,"peer_timeout_s":%d,"detection_s":[%s],"max_detection_s":%s,"limit_s":%d,"survivors_named_lost_rank":%s,"survivors_exit_nonzero":%s,"serve_detection_s":[%s],"serve_max_detection_s":%s,"serve_named_lost_rank":%s,"serve_ranks_up":%s,"rate_kbit":%s,"passed":%s}\n' \
  "$world" "$steps" "$round1_ok" "$lost" "$peer_timeout" "$(IFS=,; echo "${detections[*]}")" \
  "$max" "$limit" "$named" "$exited_nonzero" "$(IFS=,; echo "${serve_detections[*]}")" \
  "$serve_max" "$serve_named" "$serve_alive" "${rate:-null}" "$passed"
$passed
