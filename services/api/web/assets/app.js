// The dashboard: sign-in, the site overview and the page view. State lives
// in the URL fragment (#site=…&from=…&to=…&preset=…&page=…) so that the
// browser's back button and a reload keep the view.

import { Api, describeError, pool } from "./api.js";
import { clearChart, performanceChart, trafficChart } from "./charts.js";
import { addDays, daysBetween, granularity, parseDay, periods, presetRange, PRESETS, today } from "./dates.js";
import { $, clear, el, setState, show } from "./dom.js";
import {
  formatDate,
  formatDuration,
  formatInt,
  formatMonth,
  formatMs,
  formatPercent,
  formatScore,
} from "./format.js";

const api = new Api((err) => {
  signedOutMessage = describeError(err);
  route();
});
let signedOutMessage = "";
let generation = 0; // bumps on every navigation; stale answers are dropped
const SITES_STORE = "metriflow.sites";
let knownSites = ["default"];
try {
  const saved = JSON.parse(sessionStorage.getItem(SITES_STORE) || "[]");
  if (Array.isArray(saved)) knownSites = [...new Set(["default", ...saved.filter((x) => typeof x === "string")])].sort();
} catch {
  // Keep the default.
}

// ---- the URL fragment ---------------------------------------------------

function readState() {
  const p = new URLSearchParams(location.hash.slice(1));
  const end = today();
  let preset = p.get("preset") || "";
  let from = p.get("from") || "";
  let to = p.get("to") || "";
  if (!(preset in PRESETS) && !(parseDay(from) && parseDay(to) && from <= to)) preset = "last30";
  if (preset in PRESETS) ({ from, to } = presetRange(preset, end));
  return {
    site: p.get("site") || "default",
    preset,
    from,
    to,
    page: p.get("page"),
    day: p.get("day") || "",
  };
}

function hashOf(state) {
  const p = new URLSearchParams();
  p.set("site", state.site);
  if (state.preset) p.set("preset", state.preset);
  else {
    p.set("from", state.from);
    p.set("to", state.to);
  }
  if (state.page) p.set("page", state.page);
  if (state.page && state.day) p.set("day", state.day);
  return `#${p}`;
}

function go(changes) {
  const next = { ...readState(), ...changes };
  if (!next.page) delete next.page;
  location.hash = hashOf(next);
}

// ---- views ----------------------------------------------------------------

function showOnly(id) {
  for (const v of ["boot", "signin", "dash", "pageview"]) show($(v), v === id);
}

function renderWho() {
  const user = api.user;
  $("who").textContent = user ? `${user.email || "Signed in"}${user.role ? ` (${user.role})` : ""}` : "";
  show($("signout"), Boolean(user));
}

function route() {
  generation += 1;
  renderWho();
  if (!api.signedIn) {
    showOnly("signin");
    $("signin-error").textContent = signedOutMessage;
    return;
  }
  const state = readState();
  if (state.page) {
    showOnly("pageview");
    loadPage(state, generation);
  } else {
    showOnly("dash");
    loadSite(state, generation);
  }
}

// ---- sign-in ----------------------------------------------------------------

async function onSignIn(event) {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  const error = $("signin-error");
  if (!email || !password) {
    error.textContent = "Enter your email and your password.";
    return;
  }
  const button = $("signin-submit");
  button.disabled = true;
  error.textContent = "";
  try {
    await api.login(email, password);
    $("password").value = "";
    signedOutMessage = "";
    route();
    $("main").focus();
  } catch (err) {
    error.textContent = describeError(err);
  } finally {
    button.disabled = false;
  }
}

async function onSignOut() {
  await api.logout();
  signedOutMessage = "You are signed out.";
  history.replaceState(null, "", location.pathname);
  route();
}

// ---- the site overview ------------------------------------------------------

const GRAN_WORD = { day: "per day", month: "per month", year: "per year" };

function periodLabel(gran, key) {
  if (gran === "day") return formatDate(key);
  if (gran === "month") return formatMonth(key);
  return key;
}

function rangeText(state) {
  const name = state.preset ? `${PRESETS[state.preset].label}: ` : "";
  return `${name}${formatDate(state.from)} – ${formatDate(state.to)} (UTC)`;
}

function rememberSite(site) {
  if (!knownSites.includes(site)) knownSites = [...knownSites, site].sort();
  try {
    sessionStorage.setItem(SITES_STORE, JSON.stringify(knownSites.slice(0, 50)));
  } catch {
    // Private mode: the list lasts as long as the page.
  }
}

function syncControls(state) {
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.setAttribute("aria-pressed", String(b.dataset.preset === state.preset));
  }
  $("from").value = state.from;
  $("to").value = state.to;
  $("to").max = today();
  $("range-label").textContent = rangeText(state);
  rememberSite(state.site);
  const list = $("site-list");
  clear(list);
  for (const s of knownSites) list.append(el("option", { value: s }));
  if (document.activeElement !== $("site")) $("site").value = state.site;
}

// The API lists the pages of one site (it has no list of sites), so the
// picker offers the sites this tab has seen and accepts any other name.
async function checkSite(state, gen) {
  try {
    const body = await api.get("/pages", { site: state.site, limit: 1 });
    if (gen !== generation) return;
    if (!(body.rows || []).length) {
      $("dash-error").textContent = `No page has been recorded for the site “${state.site}”.`;
    }
  } catch {
    // The overview shows its own errors.
  }
}

function loadSite(state, gen) {
  syncControls(state);
  $("dash-error").textContent = "";
  checkSite(state, gen);
  loadTiles(state, gen, $("tiles"), "/reports/summary", { site: state.site });
  loadSeries(state, gen);
  loadTopPages(state, gen);
  loadPipeline(gen);
}

const TILES = [
  ["views", "Views", formatInt],
  ["sessions", "Sessions", formatInt],
  ["users", "Users", formatInt],
  ["bounce_rate", "Bounce rate", formatPercent],
  ["avg_session_duration_s", "Avg. session", formatDuration],
  ["performance_score", "Performance score", formatScore],
  ["lcp_ms", "LCP", formatMs],
];

function renderTiles(box, totals) {
  clear(box);
  for (const [key, label, fmt] of TILES) {
    const value = totals ? totals[key] : null;
    box.append(
      el(
        "div",
        { class: "tile", "data-field": key, "data-value": value === null || value === undefined ? "" : value },
        el("span", { class: "tile-label" }, label),
        el("span", { class: "tile-value" }, fmt(value)),
      ),
    );
  }
}

async function loadTiles(state, gen, box, path, params) {
  box.setAttribute("aria-busy", "true");
  box.classList.add("loading");
  try {
    const body = await api.get(path, { ...params, from: state.from, to: state.to });
    if (gen !== generation) return;
    renderTiles(box, body.totals || null);
    box.dataset.loaded = "true";
  } catch (err) {
    if (gen !== generation) return;
    renderTiles(box, null);
    $(box.id === "tiles" ? "dash-error" : "pv-error").textContent = `Summary: ${describeError(err)}`;
  } finally {
    if (gen === generation) {
      box.setAttribute("aria-busy", "false");
      box.classList.remove("loading");
    }
  }
}

// The site-wide series: the API has no site-level series route, so the
// chart asks /reports/summary once per period (day, month or year).
async function loadSeries(state, gen) {
  const gran = granularity(state.from, state.to);
  const list = periods(state.from, state.to, gran);
  $("traffic-gran").textContent = GRAN_WORD[gran];
  $("perf-gran").textContent = GRAN_WORD[gran];
  const tState = $("traffic-state");
  const pState = $("perf-state");
  setState(tState, "Loading…");
  setState(pState, "Loading…");
  clearChart($("traffic-chart"));
  clearChart($("perf-chart"));
  let rows;
  try {
    rows = await pool(
      list.map((p) => () =>
        api.get("/reports/summary", { site: state.site, from: p.from, to: p.to }).then((b) => b.totals || null),
      ),
      4,
    );
  } catch (err) {
    if (gen !== generation) return;
    setState(tState, `The traffic could not be loaded: ${describeError(err)}`);
    setState(pState, `The performance could not be loaded: ${describeError(err)}`);
    return;
  }
  if (gen !== generation) return;
  // For "All time", start at the first period with data.
  let first = 0;
  if (state.preset === "all") {
    while (first < rows.length && !(rows[first] && (rows[first].views || rows[first].psi_samples))) first += 1;
    if (first === rows.length) first = 0;
  }
  rows = rows.slice(first);
  const labels = list.slice(first).map((p) => periodLabel(gran, p.key));
  const hasTraffic = rows.some((r) => r && (r.views || r.sessions || r.users));
  const hasPerf = rows.some((r) => r && r.psi_samples);
  if (hasTraffic) {
    setState(tState, "");
    trafficChart($("traffic-chart"), labels, rows, labels.length === 1 ? "bar" : "line");
  } else setState(tState, "No traffic in this range.");
  if (hasPerf) {
    setState(pState, "");
    performanceChart($("perf-chart"), labels, rows);
  } else setState(pState, "No performance samples in this range.");
}

const PAGE_COLUMNS = [
  { key: "page", label: "Page", fmt: null },
  { key: "views", label: "Views", fmt: formatInt },
  { key: "sessions", label: "Sessions", fmt: formatInt },
  { key: "users", label: "Users", fmt: formatInt },
  { key: "bounce_rate", label: "Bounce rate", fmt: formatPercent },
  { key: "avg_session_duration_s", label: "Avg. session", fmt: formatDuration },
  { key: "performance_score", label: "Score", fmt: formatScore },
  { key: "lcp_ms", label: "LCP", fmt: formatMs },
];
const TOP_LIMIT = 50;
let pageRows = [];
let pagesToken = 0;
let pageSort = { key: "views", dir: -1 };

function pathOf(row) {
  return row.page ?? row.path ?? "";
}

function compare(a, b, key) {
  if (key === "page") return pathOf(a).localeCompare(pathOf(b));
  const x = a[key];
  const y = b[key];
  if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
  if (y === null || y === undefined) return -1;
  return x - y;
}

function renderPagesHead() {
  const head = $("pages-head");
  const focused = head.contains(document.activeElement) ? document.activeElement.dataset.sort : null;
  clear(head);
  for (const col of PAGE_COLUMNS) {
    const active = pageSort.key === col.key;
    const sort = active ? (pageSort.dir > 0 ? "ascending" : "descending") : "none";
    const arrow = active ? (pageSort.dir > 0 ? " ▲" : " ▼") : "";
    const button = el("button", { type: "button", class: "sort", "data-sort": col.key }, col.label, arrow);
    head.append(el("th", { scope: "col", "aria-sort": sort, class: col.fmt ? "num" : null }, button));
    if (focused === col.key) button.focus();
  }
}

function renderPages(state) {
  renderPagesHead();
  const body = $("pages-body");
  clear(body);
  const rows = [...pageRows].sort((a, b) => {
    const c = compare(a, b, pageSort.key) * pageSort.dir;
    return c !== 0 ? c : pathOf(a).localeCompare(pathOf(b));
  });
  for (const row of rows) {
    const path = pathOf(row);
    const link = el("a", { href: hashOf({ ...state, page: path, day: "" }), class: "path" }, path);
    const tr = el("tr", { "data-page": path }, el("th", { scope: "row" }, link));
    for (const col of PAGE_COLUMNS.slice(1)) {
      const v = row[col.key];
      tr.append(el("td", { class: "num", "data-field": col.key, "data-value": v ?? "" }, col.fmt(v)));
    }
    body.append(tr);
  }
}

async function loadTopPages(state, gen) {
  pagesToken += 1;
  const mine = pagesToken;
  const stale = () => gen !== generation || mine !== pagesToken;
  const st = $("pages-state");
  setState(st, "Loading…");
  $("pages-table").classList.add("loading");
  try {
    // The API ranks by any measure; the page column sorts here.
    const body = await api.get("/reports/pages", {
      site: state.site,
      from: state.from,
      to: state.to,
      sort: pageSort.key === "page" ? "views" : pageSort.key,
      limit: TOP_LIMIT,
    });
    if (stale()) return;
    pageRows = body.rows || [];
    setState(st, pageRows.length ? "" : "No pages had traffic in this range.");
    renderPages(state);
  } catch (err) {
    if (stale()) return;
    pageRows = [];
    renderPages(state);
    setState(st, `The top pages could not be loaded: ${describeError(err)}`);
  } finally {
    if (!stale()) $("pages-table").classList.remove("loading");
  }
}

// A measure heading asks the API for the top pages by that measure
// (largest first); a second press shows the same pages smallest first.
function onSortClick(event) {
  const button = event.target.closest("button[data-sort]");
  if (!button) return;
  const key = button.dataset.sort;
  const state = readState();
  if (pageSort.key === key) {
    pageSort = { key, dir: -pageSort.dir };
    renderPages(state);
  } else {
    pageSort = { key, dir: key === "page" ? 1 : -1 };
    if (key === "page") renderPages(state);
    else loadTopPages(state, generation);
  }
}

// ---- the pipeline (admins) --------------------------------------------------

function humanKey(key) {
  const s = key.replace(/_s$/, "").replace(/_ms$/, " (ms)").replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function cellText(key, v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") {
    if (/_s$|seconds/.test(key)) return formatDuration(v);
    return formatInt(v);
  }
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return d.toLocaleString();
  }
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

// Accepts {stages: [{stage, …}]} or {stages: {name: {…}}}.
function stageRows(body) {
  const s = body.stages || [];
  if (Array.isArray(s)) return s;
  return Object.entries(s).map(([stage, v]) => ({ stage, ...v }));
}

async function loadPipeline(gen) {
  const section = $("pipeline");
  const user = api.user;
  if (!user || user.role !== "admin") {
    show(section, false);
    return;
  }
  show(section, true);
  const st = $("pipeline-state");
  setState(st, "Loading…");
  try {
    const body = await api.get("/pipeline");
    if (gen !== generation) return;
    const rows = stageRows(body);
    const keys = [];
    for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
    const head = $("pipeline-head");
    const tbody = $("pipeline-body");
    clear(head);
    clear(tbody);
    for (const k of keys) head.append(el("th", { scope: "col" }, humanKey(k)));
    for (const r of rows) {
      const tr = el("tr");
      keys.forEach((k, i) =>
        tr.append(el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : { "data-field": k }, cellText(k, r[k]))),
      );
      tbody.append(tr);
    }
    const idle = body.idle === true ? "The pipeline is idle: no stage has pending work." : "";
    setState(st, rows.length ? idle : "No stage reported.");
  } catch (err) {
    if (gen !== generation) return;
    setState(st, `The pipeline could not be loaded: ${describeError(err)}`);
  }
}

// ---- the page view ------------------------------------------------------------

async function loadPage(state, gen) {
  $("pv-title").textContent = state.page;
  $("pv-range").textContent = `${state.site} · ${rangeText(state)}`;
  $("pv-back").setAttribute("href", hashOf({ ...state, page: null }));
  $("pv-error").textContent = "";
  const params = { site: state.site, page: state.page };
  loadTiles(state, gen, $("pv-tiles"), "/reports/range", params);

  // The daily series; a range longer than the API's day limit shows its
  // last 3,700 days.
  const from = daysBetween(state.from, state.to) > 3700 ? addDays(state.to, -3699) : state.from;
  const dState = $("pv-daily-state");
  setState(dState, "Loading…");
  clearChart($("pv-daily-chart"));
  let rows = [];
  try {
    const body = await api.get("/reports/daily", { ...params, from, to: state.to });
    if (gen !== generation) return;
    rows = body.rows || [];
    if (rows.length) {
      setState(dState, "");
      const labels = rows.map((r) => formatDate(r.date));
      trafficChart($("pv-daily-chart"), labels, rows, rows.length === 1 ? "bar" : "line");
    } else setState(dState, "No traffic for this page in this range.");
  } catch (err) {
    if (gen !== generation) return;
    setState(dState, `The daily series could not be loaded: ${describeError(err)}`);
  }

  // One day: the chosen one, else the last day with data, else the end.
  const day = parseDay(state.day) ? state.day : rows.length ? rows[rows.length - 1].date : state.to;
  $("pv-day").value = day;
  $("pv-day").max = today();
  loadDay(state, day, gen);
}

function fillTable(table, rows, first) {
  const tbody = table.querySelector("tbody");
  clear(tbody);
  for (const r of rows) {
    tbody.append(
      el(
        "tr",
        {},
        el("th", { scope: "row" }, first(r)),
        el("td", { class: "num" }, formatInt(r.views)),
        el("td", { class: "num" }, formatInt(r.sessions)),
        el("td", { class: "num" }, formatInt(r.users)),
      ),
    );
  }
}

function hourLabel(h) {
  const n = Number(h);
  return `${String(n).padStart(2, "0")}:00–${String(n + 1).padStart(2, "0")}:00`;
}

function intervalLabel(i) {
  const n = Number(i);
  return `${String((n - 1) * 4).padStart(2, "0")}:00–${String(n * 4).padStart(2, "0")}:00`;
}

async function loadDay(state, day, gen) {
  const st = $("pv-day-state");
  setState(st, "Loading…");
  clearChart($("pv-hourly-chart"));
  const params = { site: state.site, page: state.page, date: day };
  try {
    const [hourly, intervals] = await Promise.all([
      api.get("/reports/hourly", params),
      api.get("/reports/intervals", params),
    ]);
    if (gen !== generation) return;
    const hours = hourly.rows || [];
    const ivals = intervals.rows || [];
    fillTable($("pv-hourly"), hours, (r) => hourLabel(r.hour));
    fillTable($("pv-intervals"), ivals, (r) => intervalLabel(r.interval));
    if (hours.length) {
      setState(st, `${formatDate(day)} (UTC)`);
      const byHour = new Map(hours.map((r) => [Number(r.hour), r]));
      const labels = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
      const rows = labels.map((_, h) => byHour.get(h) || { views: 0, sessions: 0, users: 0 });
      trafficChart($("pv-hourly-chart"), labels, rows, "bar");
    } else setState(st, `No traffic on ${formatDate(day)}.`);
  } catch (err) {
    if (gen !== generation) return;
    fillTable($("pv-hourly"), [], () => "");
    fillTable($("pv-intervals"), [], () => "");
    setState(st, `The day could not be loaded: ${describeError(err)}`);
  }
}

// ---- wiring -------------------------------------------------------------------

function onControls(event) {
  event.preventDefault();
  const from = $("from").value;
  const to = $("to").value;
  if (!parseDay(from) || !parseDay(to)) {
    $("dash-error").textContent = "Choose both dates of the custom range.";
    return;
  }
  if (from > to) {
    $("dash-error").textContent = "The range must start on or before its last day.";
    return;
  }
  go({ preset: "", from, to, page: null });
}

function start() {
  // The skip link moves the focus; it must not change the URL fragment,
  // which holds the view's state.
  document.querySelector(".skip").addEventListener("click", (event) => {
    event.preventDefault();
    $("main").focus();
  });
  $("signin-form").addEventListener("submit", onSignIn);
  $("signout").addEventListener("click", onSignOut);
  $("controls").addEventListener("submit", onControls);
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.addEventListener("click", () => go({ preset: b.dataset.preset, page: null }));
  }
  const pickSite = (event) => {
    if (event) event.preventDefault();
    const site = $("site").value.trim().toLowerCase();
    if (site && site !== readState().site) go({ site, page: null });
  };
  $("site").addEventListener("change", () => pickSite());
  $("site-form").addEventListener("submit", pickSite);
  $("pages-head").addEventListener("click", onSortClick);
  $("pv-day-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const day = $("pv-day").value;
    if (!parseDay(day)) {
      setState($("pv-day-state"), "Choose a day.");
      return;
    }
    go({ day });
  });
  window.addEventListener("hashchange", route);
  route();
}

// Chart.js is a classic deferred script; modules run after it.
start();
