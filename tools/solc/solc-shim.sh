#!/usr/bin/env bash
# loranet solc shim (see solc-shim.js). Installed as $SOLCX_BINARY_PATH/solc-v<version> by
# tools/solc/install.sh. Runs solc-js through node, lets it write its output to a temporary
# file, then prints that file: robust to stdout truncation and to solcjs' ">>>" notices.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
: "${LORANET_PROJECT_ROOT:=$(cd "$here/../.." && pwd)}"
export LORANET_PROJECT_ROOT
out="$(mktemp "${TMPDIR:-/tmp}/loranet-solc.XXXXXX")"
trap 'rm -f "$out"' EXIT
LORANET_SOLC_OUT="$out" node "$here/solc-shim.js" "$@"
cat "$out"
