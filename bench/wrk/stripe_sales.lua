-- Pre-signed Stripe deliveries for wrk, each sent once (bench/webhooks_wrk.py writes the file).
--
--   wrk -t1 -c16 -d60s --timeout 30s -s bench/wrk/stripe_sales.lua URL -- DELIVERIES REPORT [RATE]
--
-- DELIVERIES holds one delivery a line: the Stripe-Signature header, a tab, the JSON body.
-- Every request takes the next line, so no delivery is sent twice (one wrk thread: one Lua
-- state, one counter). When every delivery is answered the thread stops; a connection that
-- asks for a request after the last one gets `GET /ping` (counted apart, never a duplicate);
-- REPORT.done appears when the last delivery is answered.
-- RATE > 0 offers the deliveries on a fixed schedule (slot n at start + n / RATE seconds,
-- through wrk's delay()), else as fast as the server answers. REPORT gets one JSON object.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } cozykart_timespec;
int clock_gettime(int clock_id, cozykart_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("cozykart_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local deliveries = {}
local spare_request = nil
local report_path = nil
local rate_per_s = 0
local next_delivery = 1
local scheduled = 0
local schedule_start_ms = nil
local first_sent_ms = nil
local last_answer_ms = nil
local verified = false
-- Counted by this thread, read back in done() through thread:get().
applied = 0
answered = 0
refused = 0
spares_sent = 0
spares_answered = 0

function init(args)
  report_path = args[2]
  rate_per_s = tonumber(args[3] or "0")
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    local headers = { ["Content-Type"] = "application/json", ["Stripe-Signature"] = line:sub(1, tab - 1) }
    deliveries[#deliveries + 1] = wrk.format("POST", nil, headers, line:sub(tab + 1))
  end
  spare_request = wrk.format("GET", "/ping")
  wrk.thread:set("report_path", report_path)
end

function delay()
  if rate_per_s <= 0 or next_delivery > #deliveries then
    return 0
  end
  local now = now_ms()
  schedule_start_ms = schedule_start_ms or now
  local slot_ms = schedule_start_ms + scheduled * 1000 / rate_per_s
  scheduled = scheduled + 1
  local wait_ms = slot_ms - now
  return wait_ms > 0 and math.floor(wait_ms) or 0
end

function request()
  if not verified then
    -- wrk calls request() once before the run to check what it returns (script_verify_request):
    -- that call gets the spare, so the first delivery is not spent on it.
    verified = true
    return spare_request
  end
  if next_delivery > #deliveries then
    spares_sent = spares_sent + 1
    return spare_request
  end
  first_sent_ms = first_sent_ms or now_ms()
  local delivery = deliveries[next_delivery]
  next_delivery = next_delivery + 1
  wrk.thread:set("sent", next_delivery - 1)
  return delivery
end

function response(status, headers, body)
  if body and body:find("pong", 1, true) then
    spares_answered = spares_answered + 1
    return
  end
  answered = answered + 1
  last_answer_ms = now_ms()
  if status == 200 and body and body:find('"applied"', 1, true) then
    applied = applied + 1
  else
    refused = refused + 1
  end
  wrk.thread:set("answered", answered)
  wrk.thread:set("applied", applied)
  wrk.thread:set("refused", refused)
  wrk.thread:set("spares_sent", spares_sent)
  wrk.thread:set("sending_ms", last_answer_ms - first_sent_ms)
  if answered >= #deliveries then
    -- wrk's main thread sleeps for all of -d whatever the threads do; this file tells the bench
    -- to end it now (SIGINT: wrk stops and reports).
    wrk.thread:stop()
    local marker = assert(io.open(report_path .. ".done", "w"))
    marker:close()
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local totals = { sent = 0, answered = 0, applied = 0, refused = 0, spares_sent = 0, sending_ms = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local errors = summary.errors
  local file = assert(io.open(threads[1]:get("report_path"), "w"))
  file:write(string.format(
    '{"duration_s": %.6f, "requests": %d, "bytes": %d, "non_2xx": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "sent": %d, "answered": %d, "applied": %d, '
      .. '"refused": %d, "spares_sent": %d, "sending_s": %.6f, "latency_ms": {"p50": %.3f, "p90": %.3f, '
      .. '"p99": %.3f, "max": %.3f, "mean": %.3f}}\n',
    summary.duration / 1e6, summary.requests, summary.bytes, errors.status, errors.connect,
    errors.read, errors.write, errors.timeout, totals.sent, totals.answered, totals.applied, totals.refused,
    totals.spares_sent, totals.sending_ms / 1000, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000
  ))
  file:close()
end
