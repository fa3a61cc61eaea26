// The world map of flows: the vendored Natural Earth atlas (TopoJSON, ISO numeric ids) turned
// into GeoJSON named by ISO alpha-3, and /api/map's country-to-country shipments drawn as lines
// from exporter to importer, width by t REO. No inline script (CSP: scripts from this server).
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || typeof echarts === "undefined" || typeof topojson === "undefined") { return; }
  var status = document.getElementById("map-status");
  function json(url) { return fetch(url).then(function (r) { return r.json(); }); }
  // Rings that cross the antimeridian (Russia's Chukotka, Fiji) jump from +180 to -180 and
  // draw a streak across the whole map: move the minority side's points to the majority's edge.
  function unwrapRing(ring) {
    var east = 0, west = 0, jumps = false;
    for (var i = 0; i < ring.length; i++) {
      if (ring[i][0] >= 0) { east++; } else { west++; }
      if (i > 0 && Math.abs(ring[i][0] - ring[i - 1][0]) > 180) { jumps = true; }
    }
    if (!jumps) { return ring; }
    var edge = east >= west ? 180 : -180;
    return ring.map(function (c) { return (edge > 0) === (c[0] >= 0) ? c : [edge, c[1]]; });
  }
  function unwrap(feature) {
    var g = feature.geometry;
    if (!g) { return; }
    if (g.type === "Polygon") { g.coordinates = g.coordinates.map(unwrapRing); }
    if (g.type === "MultiPolygon") { g.coordinates = g.coordinates.map(function (p) { return p.map(unwrapRing); }); }
  }
  // Colours of the stages (the legend names them).
  var STAGE_COLOURS = { mining: "#8a4b00", cracking: "#7a8f2a", separation: "#1d4e89", metal: "#5a3d8a", magnet: "#b00020", component: "#2e7d4f", mixed: "#666666" };
  // Centre of a feature: the middle of its largest ring's bounding box.
  function centre(feature) {
    var g = feature.geometry, polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
    var best = null, bestArea = -1;
    polys.forEach(function (p) {
      var ring = p[0], x0 = 180, x1 = -180, y0 = 90, y1 = -90;
      ring.forEach(function (c) { x0 = Math.min(x0, c[0]); x1 = Math.max(x1, c[0]); y0 = Math.min(y0, c[1]); y1 = Math.max(y1, c[1]); });
      var area = (x1 - x0) * (y1 - y0);
      if (area > bestArea) { bestArea = area; best = [(x0 + x1) / 2, (y0 + y1) / 2]; }
    });
    return best;
  }
  Promise.all([
    json("/assets/countries-110m.json"),
    json("/assets/iso3166-numeric.json"),
    fetch(el.dataset.api).then(function (r) { return r.json().then(function (v) { return { ok: r.ok, v: v }; }); })
  ]).then(function (all) {
    var topo = all[0], iso = all[1], res = all[2];
    if (!res.ok) { status.textContent = res.v.error.message; return; }
    var v = res.v;
    var geo = topojson.feature(topo, topo.objects.countries);
    // Antarctica ships nothing and takes a fifth of the map.
    geo.features = geo.features.filter(function (f) { return String(f.id) !== "010"; });
    geo.features.forEach(unwrap);
    var centres = {};
    geo.features.forEach(function (f) {
      var a3 = iso[String(f.id).padStart(3, "0")] || String(f.id);
      f.properties = { name: a3 };
      if (f.geometry) { centres[a3] = centre(f); }
    });
    echarts.registerMap("world", geo);
    var max = v.links.reduce(function (m, l) { return Math.max(m, l.value); }, 1);
    var shown = v.links.filter(function (l) { return centres[l.from] && centres[l.to]; });
    var exports = {};
    shown.forEach(function (l) { exports[l.from] = (exports[l.from] || 0) + l.value; });
    var chart = echarts.init(el, null, { renderer: "svg" });
    function stageOf(l) { return l.stages.length === 1 ? l.stages[0] : "mixed"; }
    var stages = Object.keys(STAGE_COLOURS).filter(function (st) {
      return shown.some(function (l) { return stageOf(l) === st; });
    });
    chart.setOption({
      legend: { data: stages, bottom: 0, selectedMode: "multiple" },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          if (p.seriesType === "lines") {
            var l = p.data.link;
            return l.from_name + " → " + l.to_name + "<br>" + Math.round(l.value).toLocaleString("en") + " " + v.unit +
              "<br>" + l.stages.join(", ") + "<br>sources: " + l.sources.join(", ");
          }
          return p.name + (exports[p.name] ? ": ships " + Math.round(exports[p.name]).toLocaleString("en") + " " + v.unit : "");
        }
      },
      geo: { map: "world", roam: true, itemStyle: { areaColor: "#e8ecf1", borderColor: "#9aa7b5" }, emphasis: { itemStyle: { areaColor: "#c9d6e6" } } },
      series: stages.map(function (st) {
        return {
          name: st,
          type: "lines",
          coordinateSystem: "geo",
          data: shown.filter(function (l) { return stageOf(l) === st; }).map(function (l) {
            return { link: l, coords: [centres[l.from], centres[l.to]], lineStyle: { width: 0.6 + 7 * Math.sqrt(l.value / max) } };
          }),
          lineStyle: { color: STAGE_COLOURS[st], opacity: 0.6, curveness: 0.25 },
          itemStyle: { color: STAGE_COLOURS[st] },
          symbol: ["none", "arrow"],
          symbolSize: 6
        };
      })
    });
    status.textContent = shown.length + " country-to-country routes; " + v.unit + ", " + v.year + "." +
      (shown.length < v.links.length ? " " + (v.links.length - shown.length) + " routes to or from aggregates (ROW) are not drawn." : "");
    el.setAttribute("data-rendered", "true");
  }).catch(function (e) { status.textContent = "Could not load the map: " + e; });
})();
