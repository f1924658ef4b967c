#!/usr/bin/env bash
# Runs the torch.distributed (gloo) baseline with Debian's python3-torch, installing it first when
# /usr/bin/python3 cannot import torch. Arguments go to gloo_bench.py unchanged.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python=/usr/bin/python3

if ! "$python" -c 'import torch' >/dev/null 2>&1; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo_cmd=(sudo)
  fi
  echo "installing python3-torch with apt-get (once)" >&2
  "${sudo_cmd[@]}" apt-get update >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch >&2
fi

exec "$python" "$here/gloo_bench.py" "$@"
