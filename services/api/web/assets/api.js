// The public API with the user's bearer token. Tokens live in sessionStorage
// (gone when the tab closes) and the access token is refreshed through
// /auth/refresh shortly before it expires.

const STORE = "metriflow.auth";
const BASE = "/api/v1";
const CACHE_MS = 60000; // how long a report answer is reused
const CACHE_MAX = 2000; // answers kept at most

export class ApiError extends Error {
  constructor(status, title, detail, field) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.title = title;
    this.field = field;
  }
}

// A sentence for people out of an ApiError or a network failure.
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return "Your session has ended. Please sign in again.";
    if (err.status === 403) return "Your account is not allowed to see this.";
    if (err.status === 429) return "Too many requests right now. Wait a moment and try again.";
    if (err.status >= 500) return `The server could not answer (${err.status}). Try again later.`;
    const what = err.field ? ` (parameter “${err.field}”)` : "";
    return `${err.message}${what}.`.replace(/\.\.$/, ".");
  }
  if (err instanceof TypeError) return "The server cannot be reached. Check the connection and try again.";
  return String(err && err.message ? err.message : err);
}

async function problem(res) {
  let title = res.statusText;
  let detail = "";
  let field;
  try {
    const body = await res.json();
    title = body.title || title;
    detail = body.detail || "";
    field = body.field;
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(res.status, title, detail || title, field);
}

// The claims of a JWT, for display only (the server checks the token).
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const pad = part + "=".repeat((4 - (part.length % 4)) % 4);
    return JSON.parse(atob(pad));
  } catch {
    return {};
  }
}

export class Api {
  // onSignedOut() is called when the session ends on its own (refresh failed).
  constructor(onSignedOut) {
    this.onSignedOut = onSignedOut;
    this.auth = null;
    this.timer = null;
    this.refreshing = null;
    this.cache = new Map();
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
      if (saved && saved.access && saved.refresh) this.auth = saved;
    } catch {
      this.auth = null;
    }
    if (this.auth) this.schedule();
  }

  get signedIn() {
    return this.auth !== null;
  }

  get user() {
    if (!this.auth) return null;
    const c = claims(this.auth.access);
    return { id: c.sub, role: c.role, email: this.auth.email };
  }

  store(pair, email) {
    const lifetime = Number(pair.expires_in) || 900;
    this.auth = {
      access: pair.access_token,
      refresh: pair.refresh_token,
      expiresAt: Date.now() + lifetime * 1000,
      lifetime,
      email,
    };
    sessionStorage.setItem(STORE, JSON.stringify(this.auth));
    this.schedule();
  }

  forget() {
    this.auth = null;
    this.cache.clear();
    clearTimeout(this.timer);
    this.timer = null;
    sessionStorage.removeItem(STORE);
  }

  // Refresh a minute before expiry, or at 80% of a short lifetime.
  schedule() {
    clearTimeout(this.timer);
    const lead = Math.min(60, this.auth.lifetime * 0.2) * 1000;
    const wait = Math.max(1000, this.auth.expiresAt - Date.now() - lead);
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {});
    }, wait);
  }

  async post(path, body) {
    return fetch(`${BASE}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  }

  async login(email, password) {
    const res = await this.post("/auth/login", { email, password });
    if (res.status === 401 || res.status === 400)
      throw new Error("The email or the password is not right.");
    if (!res.ok) throw await problem(res);
    this.store(await res.json(), email);
  }

  // One refresh at a time; a failure ends the session.
  refresh() {
    if (!this.auth) return Promise.reject(new ApiError(401, "", "Not signed in"));
    if (this.refreshing) return this.refreshing;
    const email = this.auth.email;
    this.refreshing = (async () => {
      try {
        const res = await this.post("/auth/refresh", { refresh_token: this.auth.refresh });
        if (!res.ok) throw await problem(res);
        this.store(await res.json(), email);
      } catch (err) {
        if (err instanceof ApiError) {
          this.forget();
          this.onSignedOut(err);
        }
        throw err;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  async logout() {
    const token = this.auth && this.auth.refresh;
    const access = this.auth && this.auth.access;
    this.forget();
    if (!token) return;
    try {
      await fetch(`${BASE}/auth/logout`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${access}`,
        },
        body: JSON.stringify({ refresh_token: token }),
        credentials: "omit",
      });
    } catch {
      // Signed out locally either way.
    }
  }

  // GET /api/v1<path>?params with the bearer token. A 401 refreshes the
  // token and retries once; a 429 waits for Retry-After (at most 10 s) and
  // retries twice. Answers are kept for CACHE_MS so that going back to a
  // range asks nothing again. Returns the parsed JSON body or throws an
  // ApiError.
  async get(path, params = {}) {
    if (!this.auth) throw new ApiError(401, "", "Not signed in");
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") query.set(k, String(v));
    }
    const url = `${BASE}${path}${[...query].length ? `?${query}` : ""}`;
    const hit = this.cache.get(url);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.body;
    if (Date.now() >= this.auth.expiresAt - 5000) await this.refresh();
    let refreshed = false;
    let waits = 0;
    for (;;) {
      const res = await fetch(url, {
        headers: { Authorization: `Bearer ${this.auth.access}`, Accept: "application/json" },
        credentials: "omit",
      });
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        await this.refresh();
        continue;
      }
      if (res.status === 429 && waits < 2) {
        waits += 1;
        const after = Number(res.headers.get("Retry-After")) || 1;
        await new Promise((r) => setTimeout(r, Math.min(after, 10) * 1000));
        continue;
      }
      if (!res.ok) throw await problem(res);
      const body = await res.json();
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(url, { at: Date.now(), body });
      return body;
    }
  }
}

// Runs tasks (functions returning promises) at most `limit` at a time and
// returns their results in order.
export async function pool(tasks, limit = 4) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next;
      next += 1;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
