#!/usr/bin/env bash
# Install the solc shim where py-solc-x (and so ape-solidity) looks for compilers:
# $SOLCX_BINARY_PATH/solc-v<version>. Idempotent: does nothing when the link is already right.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="${SOLCX_BINARY_PATH:-$root/.cache/solcx}"
version="$(node -p "require(require.resolve('solc/package.json', {paths: ['$root']})).version")"
target="$dest/solc-v$version"
mkdir -p "$dest"
if [ "$(readlink -f "$target" 2>/dev/null || true)" != "$here/solc-shim.sh" ]; then
  ln -sfn "$here/solc-shim.sh" "$target"
  echo "solc shim: $target -> $here/solc-shim.sh"
fi
chmod +x "$here/solc-shim.sh"
"$target" --version | grep -q "Version: $version" || { echo "solc shim: $target does not answer --version" >&2; exit 1; }
