// Draws the report charts with Chart.js (static/vendor, from npm). Each chart's numbers come from
// the page: the JSON in its <figure data-chart="…"> attribute, the same numbers as the table
// beside it. No inline scripts (strict CSP), and nothing htmx drops when it swaps a page part in.
(() => {
  "use strict";
  const css = getComputedStyle(document.documentElement);
  const colour = (name) => css.getPropertyValue(`--${name}`).trim() || name;
  const paint = (value) => (Array.isArray(value) ? value.map(colour) : colour(value));
  const formatter = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

  function draw(figure) {
    const data = JSON.parse(figure.dataset.chart);
    const canvas = figure.querySelector("canvas");
    const datasets = data.series.map((s) => ({
      label: s.label,
      data: s.values,
      backgroundColor: paint(s.colour),
      borderColor: paint(s.colour),
      borderWidth: data.kind === "line" ? 2 : 0,
      pointRadius: data.spark ? 0 : 3,
      tension: 0.3,
      fill: false,
    }));
    const whole = data.series.every((s) => s.values.every(Number.isInteger));
    const categoryAxis = { display: !data.spark, stacked: data.stacked, grid: { display: false } };
    const valueAxis = {
      display: !data.spark,
      stacked: data.stacked,
      beginAtZero: true,
      // Counts (every value whole) get whole-number ticks, never "0.5 reviews".
      ticks: { precision: whole ? 0 : undefined, callback: (value) => formatter.format(value) },
    };
    figure.chart = new Chart(canvas, {
      type: data.kind,
      data: { labels: data.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: !data.spark && data.series.length > 1, position: "bottom" },
          tooltip: {
            enabled: !data.spark,
            callbacks: {
              label: (item) => `${item.dataset.label}: ${formatter.format(item.parsed.y ?? item.parsed)}${data.unit ? ` ${data.unit}` : ""}`,
            },
          },
        },
        scales: data.kind === "doughnut" ? {} : { x: categoryAxis, y: valueAxis },
      },
    });
    figure.dataset.drawn = "true";
  }

  function drawAll(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("figure[data-chart]:not([data-drawn])").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  // Parts of a page swapped in by htmx (a period switch) carry their own charts.
  document.addEventListener("htmx:afterSettle", (event) => drawAll(event.target));
})();
