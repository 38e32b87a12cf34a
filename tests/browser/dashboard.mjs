// Drives Debian's Chromium through the dashboard served by metriflow-api and
// prints one line per check: "PASS what" or "FAIL what (detail)". Run by
// tests/integration/dashboard.sh, which starts the API, fills the data and
// writes the API's own answers to $MF_DASH_EXPECT for comparison.
//
// Environment: MF_DASH_URL (http://127.0.0.1:PORT), MF_DASH_EMAIL,
// MF_DASH_PASSWORD, MF_DASH_EXPECT (JSON file), MF_DASH_OUT (screenshots),
// MF_DASH_PROFILE (a fresh --user-data-dir), MF_DASH_XSS_PATHS (JSON array).
import fs from "node:fs";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("MF_DASH_URL");
const out = env("MF_DASH_OUT");
const expect = JSON.parse(fs.readFileSync(env("MF_DASH_EXPECT"), "utf8"));
const markupPaths = JSON.parse(env("MF_DASH_XSS_PATHS"));
const WAIT = 20000; // ms a UI state may take to appear before a check fails

let failures = 0;
function check(what, cond, detail = "") {
  if (cond) console.log(`PASS ${what}`);
  else {
    failures += 1;
    console.log(`FAIL ${what}${detail ? ` (${detail})` : ""}`);
  }
}
// Runs an async step; an exception is one failed check, not a crash.
async function step(what, fn) {
  try {
    await fn();
  } catch (err) {
    check(what, false, String(err && err.message ? err.message : err).split("\n")[0]);
  }
}

const intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const num = (v) => (v === null || v === undefined || v === "" ? null : Number(v));
const close = (a, b) => (a === null && b === null) || (a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)));

// A fresh profile per run (--user-data-dir, given through playwright).
const context = await chromium.launchPersistentContext(env("MF_DASH_PROFILE"), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  locale: "en-US",
  timezoneId: "UTC",
  viewport: { width: 1280, height: 900 },
});
// Every CSP violation and every script that should never run is recorded.
await context.addInitScript(() => {
  window.__mfViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__mfViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
});
const page = context.pages()[0] || (await context.newPage());
const dialogs = [];
const pageErrors = [];
const offsite = [];
const refreshes = [];
page.on("dialog", async (d) => {
  dialogs.push(d.message());
  await d.dismiss();
});
page.on("pageerror", (e) => pageErrors.push(e.message));
page.on("request", (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith("data:")) offsite.push(r.url());
});
page.on("response", (r) => {
  if (r.url().endsWith("/api/v1/auth/refresh")) refreshes.push(r.status());
});

const shot = (name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
const text = (sel) => page.locator(sel).first().textContent();

// Waits until the tiles show the totals of a new answer (the range label
// names the range, and the tiles stop being busy).
async function settled() {
  await page.waitForFunction(
    () =>
      document.querySelector("#tiles").getAttribute("aria-busy") === "false" &&
      document.querySelector("#tiles .tile") !== null &&
      document.querySelector("#pages-table.loading") === null &&
      document.querySelector("#traffic-state").textContent !== "Loading…" &&
      document.querySelector("#perf-state").textContent !== "Loading…",
    null,
    { timeout: WAIT },
  );
}

async function tilesMatch(label, totals) {
  const charts = await page.evaluate(() => ({
    traffic: document.querySelector("#traffic-state").hidden,
    perf: document.querySelector("#perf-state").hidden,
    says: document.querySelector("#traffic-state").textContent,
  }));
  check(`${label}: the traffic and performance charts are drawn`, charts.traffic && charts.perf, charts.says);
  const tiles = await page.$$eval("#tiles .tile", (els) =>
    els.map((e) => ({
      field: e.dataset.field,
      value: e.dataset.value,
      text: e.querySelector(".tile-value").textContent,
    })),
  );
  const by = Object.fromEntries(tiles.map((t) => [t.field, t]));
  for (const f of ["views", "sessions", "users"]) {
    check(`${label}: tile ${f} shows ${intFmt.format(totals[f])} as the API says`,
      by[f] && by[f].text === intFmt.format(totals[f]) && num(by[f].value) === totals[f],
      by[f] ? `shown ${by[f].text}, value ${by[f].value}` : "tile missing");
  }
  for (const f of ["bounce_rate", "avg_session_duration_s", "performance_score", "lcp_ms"]) {
    check(`${label}: tile ${f} holds the API's ${totals[f]}`,
      by[f] && close(num(by[f].value), totals[f]) && by[f].text.length > 0,
      by[f] ? `value ${by[f].value}, text ${by[f].text}` : "tile missing");
  }
}

async function tableMatches(label, rows) {
  const shown = await page.$$eval("#pages-body tr", (trs) =>
    trs.map((tr) => ({
      page: tr.dataset.page,
      link: tr.querySelector("th a").textContent,
      cells: Object.fromEntries(
        [...tr.querySelectorAll("td")].map((td) => [td.dataset.field, { v: td.dataset.value, t: td.textContent }]),
      ),
    })),
  );
  check(`${label}: the top-pages table has the API's ${rows.length} rows in its order`,
    shown.length === rows.length && shown.every((s, i) => s.page === rows[i].path),
    `shown ${JSON.stringify(shown.map((s) => s.page))}`);
  let same = shown.length === rows.length;
  for (let i = 0; same && i < rows.length; i++) {
    for (const f of ["views", "sessions", "users"]) {
      const c = shown[i].cells[f];
      if (!c || num(c.v) !== rows[i][f] || c.t !== intFmt.format(rows[i][f])) same = false;
    }
    for (const f of ["bounce_rate", "performance_score", "lcp_ms"]) {
      if (!close(num(shown[i].cells[f].v), rows[i][f])) same = false;
    }
    if (shown[i].link !== rows[i].path) same = false;
  }
  check(`${label}: every row's views, sessions, users and ratios equal the API's`, same);
}

await step("the dashboard answers and shows the sign-in form", async () => {
  const res = await page.goto(`${base}/`);
  check("GET / answers 200", res.status() === 200, String(res.status()));
  await page.waitForSelector("#signin:not([hidden])", { timeout: WAIT });
  check("the sign-in form is shown", true);
  await shot("01-signin");
});

await step("a wrong password is refused in words", async () => {
  await page.fill("#email", env("MF_DASH_EMAIL"));
  await page.fill("#password", "not-the-password-at-all");
  await page.click("#signin-submit");
  await page.waitForFunction(() => document.querySelector("#signin-error").textContent.length > 0, null, { timeout: WAIT });
  const msg = await text("#signin-error");
  check("a wrong password shows a sentence", /not right/.test(msg), msg);
});

await step("signing in shows the overview", async () => {
  await page.fill("#password", env("MF_DASH_PASSWORD"));
  await page.press("#password", "Enter"); // the keyboard submits the form
  await page.waitForSelector("#dash:not([hidden])", { timeout: WAIT });
  await settled();
  check("signing in with the keyboard shows the overview", true);
  const stored = await page.evaluate(() => sessionStorage.getItem("metriflow.auth"));
  check("the tokens are kept in sessionStorage, not in a cookie",
    stored !== null && (await context.cookies()).length === 0);
  await shot("02-overview-last30");
});

await step("last 30 days", async () => {
  check("Last 30 days is the pressed preset",
    (await page.getAttribute('[data-preset="last30"]', "aria-pressed")) === "true");
  check("30 days are charted per day", (await text("#traffic-gran")) === "per day");
  await tilesMatch("last 30 days", expect.last30.summary.totals);
  await tableMatches("last 30 days", expect.last30.pages.rows);
  check("the traffic chart is drawn",
    await page.evaluate(() => document.querySelector("#traffic-state").hidden && document.querySelector("#traffic-chart").width > 0));
  check("the performance chart is drawn",
    await page.evaluate(() => document.querySelector("#perf-state").hidden && document.querySelector("#perf-chart").width > 0));
});

await step("page paths with markup stay text", async () => {
  for (const p of markupPaths) {
    const n = await page.$$eval("#pages-body tr", (trs, path) =>
      trs.filter((tr) => tr.querySelector("th a").textContent === path).length, p);
    check(`the path ${JSON.stringify(p)} is shown as text`, n === 1, `found ${n}`);
  }
  const injected = await page.evaluate(() => ({
    img: document.querySelectorAll("main img").length,
    script: [...document.querySelectorAll("script")].filter((s) => !s.src).length,
    flag: window.__mf_xss === undefined ? null : window.__mf_xss,
  }));
  check("no element was made from a stored path and no script ran",
    injected.img === 0 && injected.script === 0 && injected.flag === null && dialogs.length === 0,
    JSON.stringify({ ...injected, dialogs }));
});

await step("sorting the top pages", async () => {
  await page.click('#pages-head button[data-sort="users"]');
  await page.waitForFunction(
    () => document.querySelector('#pages-head th[aria-sort="descending"] button[data-sort="users"]') !== null &&
      document.querySelector("#pages-table.loading") === null,
    null,
    { timeout: WAIT },
  );
  const order = await page.$$eval("#pages-body tr", (trs) => trs.map((tr) => tr.dataset.page));
  check("sorting by users shows the API's ranking by users",
    JSON.stringify(order) === JSON.stringify(expect.last30.pagesByUsers.rows.map((r) => r.path)),
    JSON.stringify(order));
  check("the sort button keeps the keyboard focus",
    await page.evaluate(() => document.activeElement && document.activeElement.dataset.sort === "users"));
  await page.keyboard.press("Enter"); // same column again: smallest first
  await page.waitForSelector('#pages-head th[aria-sort="ascending"]', { timeout: WAIT });
  const reversed = await page.$$eval("#pages-body tr", (trs) => trs.map((tr) => tr.dataset.page));
  const users = await page.$$eval('#pages-body td[data-field="users"]', (tds) => tds.map((td) => Number(td.dataset.value)));
  check("pressing it again sorts smallest first",
    reversed.length === order.length && users.every((u, i) => i === 0 || users[i - 1] <= u), JSON.stringify(users));
  await page.click('#pages-head button[data-sort="views"]');
  await settled();
});

await step("the skip link", async () => {
  const before = await page.evaluate(() => location.hash);
  await page.focus(".skip");
  await page.keyboard.press("Enter");
  const after = await page.evaluate(() => ({ hash: location.hash, focus: document.activeElement.id }));
  check("the skip link moves the focus to the content and keeps the view",
    after.focus === "main" && after.hash === before, JSON.stringify(after));
});

await step("last 7 days", async () => {
  await page.focus('[data-preset="last7"]');
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector('[data-preset="last7"]').getAttribute("aria-pressed") === "true", null, { timeout: WAIT });
  await settled();
  await tilesMatch("last 7 days", expect.last7.summary.totals);
  await tableMatches("last 7 days", expect.last7.pages.rows);
  await shot("03-overview-last7");
});

await step("longer ranges change the granularity", async () => {
  await page.click('[data-preset="last12m"]');
  await page.waitForFunction(() => document.querySelector("#traffic-gran").textContent === "per month", null, { timeout: WAIT });
  await settled();
  check("the last 12 months are charted per month", true);
  await tilesMatch("last 12 months", expect.last12m.summary.totals);
  await shot("04-overview-last12m");
  await page.click('[data-preset="all"]');
  await page.waitForFunction(() => document.querySelector("#traffic-gran").textContent === "per year", null, { timeout: WAIT });
  await settled();
  check("all time is charted per year", true);
  await tilesMatch("all time", expect.all.summary.totals);
  await page.click('[data-preset="month"]');
  await settled();
  check("this month is charted per day", (await text("#traffic-gran")) === "per day");
});

await step("a custom range", async () => {
  await page.fill("#from", expect.custom.from);
  await page.fill("#to", expect.custom.to);
  await page.click("#apply");
  await page.waitForFunction(
    (f) => location.hash.includes(`from=${f}`) && document.querySelector('[aria-pressed="true"][data-preset]') === null,
    expect.custom.from,
    { timeout: WAIT },
  );
  await settled();
  await tilesMatch("custom range", expect.custom.summary.totals);
  await page.fill("#from", expect.custom.to);
  await page.fill("#to", expect.custom.from);
  await page.click("#apply");
  const msg = await text("#dash-error");
  check("a reversed custom range is refused in words", /start on or before/.test(msg), msg);
});

await step("an empty site", async () => {
  await page.fill("#site", "nothing.example");
  await page.press("#site", "Enter");
  await page.locator("#site").blur();
  await page.waitForFunction(() => location.hash.includes("site=nothing.example"), null, { timeout: WAIT });
  await settled();
  check("a site without data says so", /No pages had traffic/.test(await text("#pages-state")));
  check("its traffic chart says it is empty", /No traffic/.test(await text("#traffic-state")));
  await shot("05-empty-site");
});

await step("the pipeline for admins", async () => {
  await page.click('[data-preset="last30"]');
  await page.fill("#site", "default");
  await page.press("#site", "Enter");
  await page.locator("#site").blur();
  await page.waitForFunction(() => location.hash.includes("site=default"), null, { timeout: WAIT });
  await settled();
  await page.waitForFunction(() => document.querySelectorAll("#pipeline-body tr").length > 0, null, { timeout: WAIT });
  const stages = await page.$$eval("#pipeline-body tr th", (ths) => ths.map((t) => t.textContent));
  check("the pipeline table lists the API's stages",
    JSON.stringify(stages) === JSON.stringify(expect.pipeline.stages.map((s) => s.stage)), JSON.stringify(stages));
});

await step("the page view", async () => {
  const target = markupPaths[markupPaths.length - 1];
  const link = page.locator("#pages-body a", { hasText: target }).first();
  await link.focus();
  await page.keyboard.press("Enter");
  await page.waitForSelector("#pageview:not([hidden])", { timeout: WAIT });
  await page.waitForFunction(
    () => document.querySelector("#pv-day-state").textContent !== "Loading…" &&
      document.querySelector("#pv-daily-state").textContent !== "Loading…" &&
      document.querySelector("#pv-tiles .tile") !== null,
    null,
    { timeout: WAIT },
  );
  check("the page view names the page as text", (await text("#pv-title")) === target, await text("#pv-title"));
  const tiles = await page.$$eval("#pv-tiles .tile", (els) => Object.fromEntries(els.map((e) => [e.dataset.field, e.dataset.value])));
  check("its tiles hold /reports/range's totals", num(tiles.views) === expect.pageView.range.totals.views, JSON.stringify(tiles));
  check("its daily chart is drawn", await page.evaluate(() => document.querySelector("#pv-daily-state").hidden));
  check("the chosen day defaults to the last day with data", (await page.inputValue("#pv-day")) === expect.pageView.day);
  const hours = await page.$$eval("#pv-hourly tbody tr", (trs) => trs.map((tr) => tr.querySelectorAll("td")[0].textContent));
  check("its hours match /reports/hourly",
    JSON.stringify(hours) === JSON.stringify(expect.pageView.hourly.rows.map((r) => intFmt.format(r.views))), JSON.stringify(hours));
  const ivals = await page.$$eval("#pv-intervals tbody tr", (trs) => trs.map((tr) => [tr.querySelector("th").textContent, tr.querySelectorAll("td")[0].textContent]));
  check("its 4-hour intervals match /reports/intervals",
    JSON.stringify(ivals.map((x) => x[1])) === JSON.stringify(expect.pageView.intervals.rows.map((r) => intFmt.format(r.views))) &&
      ivals.every((x) => /^\d\d:00–\d\d:00$/.test(x[0])),
    JSON.stringify(ivals));
  check("no script ran from the page's path", dialogs.length === 0 && (await page.evaluate(() => window.__mf_xss === undefined)));
  await shot("06-page-view");
  await page.goBack();
  await page.waitForSelector("#dash:not([hidden])", { timeout: WAIT });
  check("the browser's back button returns to the overview", true);
  await settled();
});

await step("a phone-sized screen", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300); // let Chart.js resize before the picture
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check("nothing but the tables scrolls sideways on a phone", overflow <= 0, `${overflow}px`);
  check("on a phone the charts are drawn too",
    await page.evaluate(() => document.querySelector("#traffic-state").hidden && document.querySelector("#perf-state").hidden));
  await shot("07-phone");
  await page.setViewportSize({ width: 1280, height: 900 });
});

await step("the access token is refreshed before it expires", async () => {
  const deadline = Date.now() + 45000;
  while (refreshes.length === 0 && Date.now() < deadline) await page.waitForTimeout(500);
  check("the dashboard called /auth/refresh on its own and got 200", refreshes.includes(200), JSON.stringify(refreshes));
  await page.click('[data-preset="last7"]');
  await settled();
  await tilesMatch("after the refresh", expect.last7.summary.totals);
});

await step("signing out", async () => {
  await page.click("#signout");
  await page.waitForSelector("#signin:not([hidden])", { timeout: WAIT });
  const stored = await page.evaluate(() => sessionStorage.getItem("metriflow.auth"));
  check("signing out forgets the tokens and shows the sign-in form", stored === null);
});

check("the dashboard's Content-Security-Policy blocked nothing it needs",
  (await page.evaluate(() => window.__mfViolations)).length === 0,
  JSON.stringify(await page.evaluate(() => window.__mfViolations)));

await step("the API docs", async () => {
  const res = await page.goto(`${base}/docs`);
  check("GET /docs answers 200", res.status() === 200);
  await page.waitForSelector(".swagger-ui .opblock", { timeout: WAIT });
  const ops = await page.$$eval(".swagger-ui .opblock-summary-path", (els) => els.map((e) => e.textContent.replace(/\u200b/g, "")));
  const missing = expect.openapiPaths.filter((p) => !ops.includes(p));
  check(`Swagger UI lists every path of /openapi.json (${expect.openapiPaths.length})`, missing.length === 0, `missing ${missing.join(" ")}`);
  await shot("08-docs");

  // Authorise with a fresh access token and try a route from the page.
  const login = await page.request.post(`${base}/api/v1/auth/login`, {
    data: { email: env("MF_DASH_EMAIL"), password: env("MF_DASH_PASSWORD") },
  });
  const token = (await login.json()).access_token;
  await page.click(".swagger-ui .auth-wrapper .btn.authorize");
  await page.fill(".swagger-ui .modal-ux input", token);
  await page.click(".swagger-ui .modal-ux .auth-btn-wrapper .btn.authorize");
  await page.click(".swagger-ui .modal-ux .btn-done");
  check("Swagger UI took the bearer token",
    (await page.locator(".swagger-ui .auth-wrapper .btn.authorize.locked").count()) === 1);
  const op = page.locator(".swagger-ui .opblock", {
    has: page.locator('.opblock-summary-path[data-path="/api/v1/reports/summary"]'),
  });
  await op.locator(".opblock-summary").first().click();
  await op.locator(".try-out__btn").click();
  for (const [name, value] of [["site", "default"], ["from", expect.last7.from], ["to", expect.last7.to]]) {
    const input = op.locator(`tr[data-param-name="${name}"] input`);
    if (await input.count()) await input.fill(value);
  }
  await op.locator(".execute").click();
  const live = op.locator(".live-responses-table tbody tr.response");
  await live.first().waitFor({ timeout: WAIT });
  const status = (await live.first().locator(".response-col_status").textContent()).trim();
  const body = (await live.first().locator(".highlight-code").first().textContent()).replace(/\s/g, "");
  check("trying /api/v1/reports/summary from /docs with the token answers 200 with the API's totals",
    status === "200" && body.includes(`"views":${expect.last7.summary.totals.views},`),
    `${status} ${body.slice(0, 120)}`);
  await shot("09-docs-try-it");
});

const violations = await page.evaluate(() => window.__mfViolations);
check("the /docs Content-Security-Policy blocked nothing Swagger UI needs", violations.length === 0, JSON.stringify(violations));
check("no page script threw", pageErrors.length === 0, JSON.stringify(pageErrors));
check("nothing was fetched from another origin", offsite.length === 0, JSON.stringify(offsite));
check("no dialog was opened", dialogs.length === 0, JSON.stringify(dialogs));

await context.close();
process.exit(failures ? 1 : 0);
