-- Shared by every scenario script: reads the scenario's settings from the environment
-- (BENCH_*), and at the end writes wrk's own figures as JSON to BENCH_OUT.
-- Loaded with dofile() by the scenario scripts; wrk runs one Lua state per thread.

local M = {}

function M.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default == nil then error("environment variable " .. name .. " is not set") end
    return default
  end
  return v
end

-- application/x-www-form-urlencoded escaping of one value.
function M.form(v)
  return (string.gsub(v, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

-- The lines of a file, as a table.
function M.lines(path)
  local t = {}
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if line ~= "" then t[#t + 1] = line end
  end
  f:close()
  return t
end

-- Numbers the threads, so a thread can take its own share of a token file.
local counter = 0
local threads = {}
function M.setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

function M.nthreads() return counter end

-- The lines of `path` this thread owns (every n-th, starting at its number).
function M.share(path)
  local all = M.lines(path)
  local mine = {}
  local tid = wrk.thread:get("tid") or 0
  local n = tonumber(os.getenv("BENCH_THREADS") or "1")
  for i = 1, #all do
    if (i - 1) % n == tid then mine[#mine + 1] = all[i] end
  end
  return mine
end

-- Writes wrk's summary: throughput, latency percentiles (microseconds) and errors
-- (socket errors, timeouts, and answers with a status of 400 or more).
function M.done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local out = string.format(
    '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}',
    summary.requests, secs, summary.requests / secs, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout)
  local path = os.getenv("BENCH_OUT")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  else
    io.write(out, "\n")
  end
end

return M
