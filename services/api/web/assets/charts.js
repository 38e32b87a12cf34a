// Chart.js (Debian's libjs-chart.js, loaded as /assets/vendor/chart.min.js)
// behind three small functions, so the rest of the app never touches it.

import { formatInt, formatMs, formatScore } from "./format.js";

export const LCP_GOOD_MS = 2500;
export const LCP_POOR_MS = 4000;

const COLORS = {
  views: "#1f5fbf",
  sessions: "#c2410c",
  users: "#15803d",
  score: "#7c3aed",
  lcp: "#0e7490",
  good: "#16a34a",
  poor: "#dc2626",
};

const charts = new Map();

function library() {
  if (!window.Chart) throw new Error("The chart library did not load.");
  return window.Chart;
}

function draw(canvas, config) {
  const old = charts.get(canvas);
  if (old) old.destroy();
  const Chart = library();
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  config.options = {
    responsive: true,
    maintainAspectRatio: false,
    animation: reduced || navigator.webdriver ? false : { duration: 300 },
    interaction: { mode: "index", intersect: false },
    ...config.options,
  };
  charts.set(canvas, new Chart(canvas, config));
}

export function clearChart(canvas) {
  const old = charts.get(canvas);
  if (old) old.destroy();
  charts.delete(canvas);
}

function line(label, data, color, extra = {}) {
  return {
    label,
    data,
    borderColor: color,
    backgroundColor: color,
    pointRadius: data.length > 60 ? 0 : 2,
    borderWidth: 2,
    tension: 0.2,
    spanGaps: false,
    ...extra,
  };
}

// labels: strings; rows: objects with views, sessions, users (or null).
export function trafficChart(canvas, labels, rows, type = "line") {
  const pick = (k) => rows.map((r) => (r ? r[k] : null));
  draw(canvas, {
    type,
    data: {
      labels,
      datasets: [
        line("Views", pick("views"), COLORS.views),
        line("Sessions", pick("sessions"), COLORS.sessions),
        line("Users", pick("users"), COLORS.users),
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, ticks: { callback: (v) => formatInt(v) } },
      },
      plugins: {
        tooltip: {
          callbacks: { label: (c) => `${c.dataset.label}: ${formatInt(c.parsed.y)}` },
        },
      },
    },
  });
}

// Score on the left axis (0–100), LCP on the right with the Core Web Vitals
// thresholds drawn as dashed lines.
export function performanceChart(canvas, labels, rows) {
  const score = rows.map((r) => (r ? r.performance_score : null));
  const lcp = rows.map((r) => (r ? r.lcp_ms : null));
  const flat = (v) => labels.map(() => v);
  const threshold = (label, v, color) =>
    line(label, flat(v), color, {
      yAxisID: "lcp",
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: 0,
      tension: 0,
    });
  draw(canvas, {
    type: "line",
    data: {
      labels,
      datasets: [
        line("Performance score", score, COLORS.score, { yAxisID: "score" }),
        line("LCP", lcp, COLORS.lcp, { yAxisID: "lcp" }),
        threshold(`LCP good ≤ ${formatMs(LCP_GOOD_MS)}`, LCP_GOOD_MS, COLORS.good),
        threshold(`LCP poor > ${formatMs(LCP_POOR_MS)}`, LCP_POOR_MS, COLORS.poor),
      ],
    },
    options: {
      scales: {
        score: {
          type: "linear",
          position: "left",
          min: 0,
          max: 100,
          title: { display: true, text: "Score" },
        },
        lcp: {
          type: "linear",
          position: "right",
          beginAtZero: true,
          suggestedMax: LCP_POOR_MS * 1.25,
          title: { display: true, text: "LCP (ms)" },
          ticks: { callback: (v) => formatInt(v) },
          grid: { drawOnChartArea: false },
        },
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: (c) =>
              c.dataset.yAxisID === "score"
                ? `${c.dataset.label}: ${formatScore(c.parsed.y)}`
                : `${c.dataset.label}: ${formatMs(c.parsed.y)}`,
          },
        },
      },
    },
  });
}
