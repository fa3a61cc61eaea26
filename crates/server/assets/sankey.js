// The chain Sankey: reads /api/sankey (the URL is in the chart element's data-api) and draws
// it with ECharts as SVG. No inline script: the page's CSP allows scripts from this server only.
(function () {
  "use strict";
  var el = document.getElementById("sankey");
  if (!el || typeof echarts === "undefined") { return; }
  var status = document.getElementById("sankey-status");
  fetch(el.dataset.api)
    .then(function (r) { return r.json().then(function (v) { return { ok: r.ok, v: v }; }); })
    .then(function (res) {
      if (!res.ok) { status.textContent = res.v.error.message; return; }
      var v = res.v;
      if (v.links.length === 0) { status.textContent = "No flows match."; return; }
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            if (p.dataType === "edge") {
              var l = v.links[p.dataIndex];
              return v.labels[l.source] + " → " + v.labels[l.target] + "<br>" +
                Math.round(l.value).toLocaleString("en") + " " + v.unit +
                "<br>" + l.materials.join(", ") + "<br>sources: " + l.sources.join(", ");
            }
            return p.name + ": " + Math.round(p.value).toLocaleString("en") + " " + v.unit;
          }
        },
        series: [{
          type: "sankey",
          layoutIterations: 32,
          nodeAlign: "left",
          emphasis: { focus: "adjacency" },
          lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.45 },
          nodeGap: 10,
          left: 8, right: 170, top: 8, bottom: 8,
          // Each node says what it holds; labels that would overlap are hidden (hover shows them).
          label: {
            fontSize: 10, overflow: "truncate", width: 160,
            formatter: function (p) { return p.name + "  " + Math.round(p.value).toLocaleString("en") + " t"; }
          },
          labelLayout: { hideOverlap: true },
          data: v.nodes.map(function (n, i) { return { name: v.labels[i], depth: n.layer }; }),
          links: v.links.map(function (l) {
            return { source: v.labels[l.source], target: v.labels[l.target], value: l.value };
          })
        }]
      });
      status.textContent = v.links.length + " links, " + v.nodes.length + " nodes; " + v.unit + ", " + v.year + ".";
      el.setAttribute("data-rendered", "true");
    })
    .catch(function (e) { status.textContent = "Could not load the chain: " + e; });
})();
