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
              return p.data.source + " → " + p.data.target + "<br>" +
                Math.round(l.value).toLocaleString("en") + " " + v.unit +
                "<br>" + l.materials.join(", ") + "<br>sources: " + l.sources.join(", ");
            }
            return p.name;
          }
        },
        series: [{
          type: "sankey",
          layoutIterations: 32,
          nodeAlign: "left",
          emphasis: { focus: "adjacency" },
          lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.45 },
          label: { fontSize: 11 },
          data: v.nodes.map(function (n) { return { name: n.name, depth: n.layer }; }),
          links: v.links.map(function (l) {
            return { source: v.nodes[l.source].name, target: v.nodes[l.target].name, value: l.value };
          })
        }]
      });
      status.textContent = v.links.length + " links, " + v.nodes.length + " nodes; " + v.unit + ", " + v.year + ".";
      el.setAttribute("data-rendered", "true");
    })
    .catch(function (e) { status.textContent = "Could not load the chain: " + e; });
})();
