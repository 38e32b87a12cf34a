// Numbers for people, in the browser's language.

const locale = navigator.language || "en-US";
const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const decimal1 = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const decimal3 = new Intl.NumberFormat(locale, { maximumFractionDigits: 3 });
const percent = new Intl.NumberFormat(locale, {
  style: "percent",
  maximumFractionDigits: 1,
});
const NONE = "–";

export function formatInt(v) {
  return v === null || v === undefined ? NONE : integer.format(v);
}

// Ratios arrive as 0…1.
export function formatPercent(v) {
  return v === null || v === undefined ? NONE : percent.format(v);
}

export function formatScore(v) {
  return v === null || v === undefined ? NONE : decimal1.format(v);
}

export function formatMs(v) {
  return v === null || v === undefined ? NONE : `${integer.format(v)} ms`;
}

export function formatCls(v) {
  return v === null || v === undefined ? NONE : decimal3.format(v);
}

// 125.4 s -> "2 min 5 s"; under a minute -> "42 s"; hours -> "1 h 3 min".
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return NONE;
  const s = Math.round(seconds);
  if (s < 60) return `${integer.format(s)} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = s % 60;
    return rest ? `${integer.format(m)} min ${rest} s` : `${integer.format(m)} min`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return m ? `${integer.format(h)} h ${m} min` : `${integer.format(h)} h`;
}

const dateFmt = new Intl.DateTimeFormat(locale, {
  year: "numeric",
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});
const monthFmt = new Intl.DateTimeFormat(locale, {
  year: "numeric",
  month: "short",
  timeZone: "UTC",
});

// "2026-03-14" -> "Mar 14, 2026" (UTC, the API's dates are UTC days).
export function formatDate(iso) {
  return dateFmt.format(new Date(`${iso}T00:00:00Z`));
}

// "2026-03" -> "Mar 2026".
export function formatMonth(ym) {
  return monthFmt.format(new Date(`${ym}-01T00:00:00Z`));
}
