// Date ranges in UTC days ("YYYY-MM-DD"), the presets, and the granularity a
// range is charted at. Pure functions: nothing here touches the page.

const DAY_MS = 86400000;

// The first day "All time" covers; the API's limits allow a range this long
// for totals, and the series is charted per year.
export const ALL_TIME_START = "2000-01-01";

// Up to this many days a range is charted per day, up to LONG_DAYS per
// month, beyond that per year.
export const SHORT_DAYS = 92;
export const LONG_DAYS = 1100;

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function parseDay(iso) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) return null;
  const d = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || isoDay(d) !== iso ? null : d;
}

export function addDays(iso, n) {
  return isoDay(new Date(parseDay(iso).getTime() + n * DAY_MS));
}

export function daysBetween(from, to) {
  return Math.round((parseDay(to) - parseDay(from)) / DAY_MS) + 1;
}

export function today(now = new Date()) {
  return isoDay(now);
}

export const PRESETS = {
  last7: { label: "Last 7 days" },
  last30: { label: "Last 30 days" },
  month: { label: "This month" },
  last12m: { label: "Last 12 months" },
  all: { label: "All time" },
};

// presetRange("last30", "2026-03-14") -> {from: "2026-02-13", to: "2026-03-14"}
export function presetRange(name, end) {
  const [y, m] = end.split("-").map(Number);
  switch (name) {
    case "last7":
      return { from: addDays(end, -6), to: end };
    case "last30":
      return { from: addDays(end, -29), to: end };
    case "month":
      return { from: `${end.slice(0, 7)}-01`, to: end };
    case "last12m": {
      const start = new Date(Date.UTC(y, m - 1 - 11, 1));
      return { from: isoDay(start), to: end };
    }
    case "all":
      return { from: ALL_TIME_START, to: end };
    default:
      return null;
  }
}

export function granularity(from, to) {
  const n = daysBetween(from, to);
  if (n <= SHORT_DAYS) return "day";
  if (n <= LONG_DAYS) return "month";
  return "year";
}

function lastDayOfMonth(y, m) {
  return isoDay(new Date(Date.UTC(y, m, 0)));
}

// The periods of [from, to] at a granularity, each clipped to the range:
// [{key: "2026-03", from: "2026-03-01", to: "2026-03-14"}, …].
export function periods(from, to, gran) {
  const out = [];
  if (gran === "day") {
    for (let d = from; d <= to; d = addDays(d, 1)) out.push({ key: d, from: d, to: d });
    return out;
  }
  let y = Number(from.slice(0, 4));
  let m = Number(from.slice(5, 7));
  const endY = Number(to.slice(0, 4));
  const endM = Number(to.slice(5, 7));
  if (gran === "month") {
    while (y < endY || (y === endY && m <= endM)) {
      const key = `${y}-${String(m).padStart(2, "0")}`;
      const start = `${key}-01`;
      const end = lastDayOfMonth(y, m);
      out.push({ key, from: start < from ? from : start, to: end > to ? to : end });
      m += 1;
      if (m > 12) {
        m = 1;
        y += 1;
      }
    }
    return out;
  }
  for (; y <= endY; y += 1) {
    const start = `${y}-01-01`;
    const end = `${y}-12-31`;
    out.push({ key: String(y), from: start < from ? from : start, to: end > to ? to : end });
  }
  return out;
}
