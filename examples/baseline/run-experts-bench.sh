#!/usr/bin/env bash
# Runs the torch peer of `moeflux bench experts` (experts_bench.py) with Debian's python3-torch and
# Debian's OpenBLAS (libopenblas0-pthread; without it torch falls back to the reference BLAS, about
# 30x slower), installing both with apt-get when missing. Arguments go to experts_bench.py
# unchanged; --threads N (default 1) also sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS.
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some machines set and which slow a current
# OpenBLAS, are unset for this command only. Compare on one core, both sides pinned:
#   taskset -c 0 examples/baseline/run-experts-bench.sh --tokens 128 --hidden 1024 ...
#   taskset -c 0 examples/cli/target/moeflux bench experts --tokens 128 --hidden 1024 ...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python=/usr/bin/python3

missing=()
"$python" -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || missing+=(libopenblas0-pthread)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
  fi
  echo "installing ${missing[*]} with apt-get (once)" >&2
  "${sudo_cmd[@]}" apt-get update >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
fi

threads=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = "--threads" ] && [ $((i + 1)) -lt ${#args[@]} ]; then
    threads="${args[$((i + 1))]}"
  fi
done

exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" \
  "$python" "$here/experts_bench.py" "$@"
