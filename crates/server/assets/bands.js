// A finished scenario job's percentile bands: the monthly shortfall share (p5–p95 band, median
// and mean) of the chosen series, from /api/simulations/{id}. No inline script (CSP).
(function () {
  "use strict";
  var el = document.getElementById("bands");
  var pick = document.getElementById("bands-series");
  if (!el || !pick || typeof echarts === "undefined") { return; }
  var status = document.getElementById("bands-status");
  fetch(el.dataset.api).then(function (r) { return r.json(); }).then(function (job) {
    var series = (job.results && job.results.series) || [];
    if (series.length === 0) { status.textContent = "No series is ever short."; return; }
    series.forEach(function (s, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = s.country;
      pick.appendChild(o);
    });
    var chart = echarts.init(el, null, { renderer: "svg" });
    function pct(x) { return (100 * x).toFixed(1) + " %"; }
    function draw(i) {
      var s = series[i];
      var months = s.month.map(function (m) { return String(m); });
      // The axis spans the data (up to the largest p95, at most 100 %), with as many decimals as
      // the range needs: a shortfall of 0.3 % is not drawn on a 0–100 % axis of "0 %" labels.
      var top = Math.max.apply(null, s.p95.concat(s.mean).concat([1e-6]));
      var max = Math.min(1, top * 1.1);
      var decimals = max < 0.01 ? 2 : max < 0.1 ? 1 : 0;
      chart.setOption({
        tooltip: { trigger: "axis", valueFormatter: function (x) { return pct(x); } },
        legend: { data: ["p5–p95", "median", "mean"] },
        xAxis: { type: "category", data: months, name: "month" },
        yAxis: { type: "value", name: "shortfall share of demand", min: 0, max: max,
          axisLabel: { formatter: function (x) { return (100 * x).toFixed(decimals) + " %"; } } },
        series: [
          { name: "p5", type: "line", data: s.p5, stack: "band", lineStyle: { opacity: 0 }, symbol: "none" },
          { name: "p5–p95", type: "line", data: s.p95.map(function (x, k) { return x - s.p5[k]; }), stack: "band",
            lineStyle: { opacity: 0 }, itemStyle: { color: "#9bb7d8" }, areaStyle: { color: "#9bb7d8", opacity: 0.6 }, symbol: "none" },
          { name: "median", type: "line", data: s.p50, symbol: "none", itemStyle: { color: "#1d4e89" }, lineStyle: { color: "#1d4e89" } },
          { name: "mean", type: "line", data: s.mean, symbol: "none", itemStyle: { color: "#8a4b00" }, lineStyle: { color: "#8a4b00", type: "dashed" } }
        ]
      }, true);
      status.textContent = s.country + ": monthly shortfall as a share of demand over " + job.done + " runs.";
    }
    pick.addEventListener("change", function () { draw(Number(pick.value)); });
    draw(0);
    el.setAttribute("data-rendered", "true");
  }).catch(function (e) { status.textContent = "Could not load the bands: " + e; });
})();
