-- wrk script for tools/bench/api.sh: sends the bearer token, builds the
-- request of the chosen mode, and prints throughput and percentiles.
--   MF_BENCH_MODE   cached | uncached | daily
--   MF_BENCH_TOKEN  access token
--   MF_BENCH_PAGES  file with one "site<TAB>path" per line
local mode = os.getenv("MF_BENCH_MODE") or "cached"
local token = os.getenv("MF_BENCH_TOKEN") or ""
-- Shifts the uncached starts so that a second run misses too.
local salt = tonumber(os.getenv("MF_BENCH_SALT") or "0")
local pages = {}
for line in io.lines(os.getenv("MF_BENCH_PAGES")) do
  local site, path = line:match("^([^\t]+)\t(.+)$")
  pages[#pages + 1] = { site = site, path = path }
end

local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- "id" is set per thread by setup (a global of the thread's state).
local count = 0
function init(args)
  id = tonumber(id) or 0
end

local function enc(s)
  return (s:gsub("[^%w%-%._~/]", function(c) return string.format("%%%02X", c:byte()) end))
end
local base = os.time({ year = 2015, month = 1, day = 1, hour = 12 })
local function day(n) return os.date("!%Y-%m-%d", base + n * 86400) end

function request()
  local p, q
  if mode == "cached" then
    p = pages[1]
    q = "/api/v1/reports/range?from=2015-03-10&to=2024-11-20"
  elseif mode == "uncached" then
    -- Every request its own (page, start): each one is a cache miss.
    p = pages[(count % #pages) + 1]
    local start = (math.floor(count / #pages) * 2 + id + salt) % 3650
    q = "/api/v1/reports/range?from=" .. day(start) .. "&to=" .. day(start + 3652)
  else
    p = pages[(count * 7 + id) % #pages + 1]
    q = "/api/v1/reports/daily?from=2023-01-01&to=2023-12-31"
  end
  count = count + 1
  return wrk.format("GET", q .. "&site=" .. enc(p.site) .. "&page=" .. enc(p.path),
                    { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    "RESULT mode=%s requests=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d non2xx=%d\n",
    mode, summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    non2xx))
end
