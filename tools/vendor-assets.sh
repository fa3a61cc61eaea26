#!/usr/bin/env bash
# Refreshes the vendored browser libraries of the dashboard from the npm registry (released
# packages only; nothing is fetched at run time: `lodestone serve` embeds these files).
#   bash tools/vendor-assets.sh            # needs npm
# Bump the version here, run, look at the pages, commit the files and VERSIONS together.
set -euo pipefail
cd "$(dirname "$0")/.."
ECHARTS=6.1.0
dest=crates/server/assets/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "echarts@$ECHARTS" > /dev/null && tar xzf "echarts-$ECHARTS.tgz")
mkdir -p "$dest/echarts"
cp "$tmp/package/dist/echarts.min.js" "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$dest/echarts/"
printf 'echarts %s (npm; dist/echarts.min.js, Apache-2.0: see echarts/LICENSE and echarts/NOTICE)\n' "$ECHARTS" > "$dest/VERSIONS"
sha256sum "$dest/echarts/echarts.min.js"
