#!/usr/bin/env bash
# Refreshes the vendored browser libraries of the dashboard from the npm registry (released
# packages only; nothing is fetched at run time: `lodestone serve` embeds these files).
#   bash tools/vendor-assets.sh            # needs npm
# Bump the version here, run, look at the pages, commit the files and VERSIONS together.
set -euo pipefail
cd "$(dirname "$0")/.."
ECHARTS=6.1.0
WORLD_ATLAS=2.0.2        # Natural Earth 1:110m countries as TopoJSON (ISO 3166 numeric ids)
TOPOJSON_CLIENT=3.1.0
dest=crates/server/assets/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unpack() { # NAME VERSION → $tmp/NAME/package
  mkdir -p "$tmp/$1"
  (cd "$tmp/$1" && npm pack --silent "$1@$2" > /dev/null && tar xzf "$1-$2.tgz")
}
unpack echarts "$ECHARTS"
unpack world-atlas "$WORLD_ATLAS"
unpack topojson-client "$TOPOJSON_CLIENT"
mkdir -p "$dest/echarts" "$dest/world-atlas" "$dest/topojson-client"
cp "$tmp/echarts/package/dist/echarts.min.js" "$tmp/echarts/package/LICENSE" "$tmp/echarts/package/NOTICE" "$dest/echarts/"
cp "$tmp/world-atlas/package/countries-110m.json" "$tmp/world-atlas/package/LICENSE" "$dest/world-atlas/"
cp "$tmp/topojson-client/package/dist/topojson-client.min.js" "$tmp/topojson-client/package/LICENSE" "$dest/topojson-client/"
# The atlas names countries by ISO 3166 numeric code; the dataset by alpha-3. The mapping comes
# from Debian's iso-codes (the same source as the dataset's country list).
iso=/usr/share/iso-codes/json/iso_3166-1.json
if [ ! -f "$iso" ]; then apt-get install -y -qq iso-codes > /dev/null; fi
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["3166-1"]; print(json.dumps({c["numeric"]: c["alpha_3"] for c in d}, sort_keys=True))' "$iso" > "$dest/iso3166-numeric.json"
{
  printf 'echarts %s (npm; dist/echarts.min.js, Apache-2.0: see echarts/LICENSE and echarts/NOTICE)\n' "$ECHARTS"
  printf 'world-atlas %s (npm; countries-110m.json from Natural Earth, public domain; ISC: see world-atlas/LICENSE)\n' "$WORLD_ATLAS"
  printf 'topojson-client %s (npm; dist/topojson-client.min.js, ISC: see topojson-client/LICENSE)\n' "$TOPOJSON_CLIENT"
  printf 'iso3166-numeric.json from Debian iso-codes %s\n' "$(dpkg-query -W -f '${Version}' iso-codes 2>/dev/null || echo unknown)"
} > "$dest/VERSIONS"
sha256sum "$dest"/*/*.js "$dest"/*/*.json "$dest"/*.json
