// A backtest job's export series: simulated mean against observed, month by month, from
// /api/simulations/{id} (results.backtest). No inline script (CSP).
(function () {
  "use strict";
  var el = document.getElementById("backtest");
  var pick = document.getElementById("backtest-series");
  if (!el || !pick || typeof echarts === "undefined") { return; }
  var status = document.getElementById("backtest-status");
  fetch(el.dataset.api).then(function (r) { return r.json(); }).then(function (job) {
    var bt = job.results && job.results.backtest;
    var series = (bt && bt.series) || [];
    if (series.length === 0) { status.textContent = "No observed series to compare."; return; }
    series.forEach(function (s, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = s.destination;
      pick.appendChild(o);
    });
    var chart = echarts.init(el, null, { renderer: "svg" });
    function draw(i) {
      var s = series[i];
      var months = s.months.map(function (m) { return m.month + (m.in_sample ? "*" : ""); });
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: ["simulated", "observed", "2024 base"] },
        xAxis: { type: "category", data: months, name: "month (* calibration)" },
        yAxis: { type: "value", name: "t of magnet", min: 0 },
        series: [
          { name: "simulated", type: "line", data: s.months.map(function (m) { return Math.round(m.simulated); }),
            itemStyle: { color: "#1d4e89" }, lineStyle: { color: "#1d4e89" } },
          { name: "observed", type: "line", connectNulls: false,
            data: s.months.map(function (m) { return m.observed === null ? null : Math.round(m.observed); }),
            itemStyle: { color: "#8a4b00" }, lineStyle: { color: "#8a4b00", type: "dashed" } },
          { name: "2024 base", type: "line", symbol: "none", data: s.months.map(function () { return Math.round(s.base); }),
            itemStyle: { color: "#888" }, lineStyle: { color: "#888", type: "dotted" } }
        ]
      }, true);
      status.textContent = s.destination + ": China's magnet exports, simulated mean over " + bt.runs + " runs and as observed (China customs).";
    }
    pick.addEventListener("change", function () { draw(Number(pick.value)); });
    draw(0);
    el.setAttribute("data-rendered", "true");
  }).catch(function (e) { status.textContent = "Could not load the backtest: " + e; });
})();
