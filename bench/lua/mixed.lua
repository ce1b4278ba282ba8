-- A mixed workload: per request, by weight, one of client_credentials (40),
-- introspection (25), userinfo (20), refresh_token without rotation (10) and a
-- management read with Basic auth (5). Settings from BENCH_* as set by bench/run.
local c = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local function with(h, k, v) local t = {} for a, b in pairs(h) do t[a] = b end t[k] = v return t end
local cc = with(form, "Authorization", c.env("BENCH_CC_AUTH"))
local app = with(form, "Authorization", c.env("BENCH_APP_AUTH"))
local bearer = { ["Authorization"] = "Bearer " .. c.env("BENCH_ACCESS") }
local admin = { ["Authorization"] = c.env("BENCH_ADMIN_AUTH") }
local introspect_body = "token=" .. c.form(c.env("BENCH_ACCESS"))
local refresh_body = "grant_type=refresh_token&refresh_token=" .. c.form(c.env("BENCH_REFRESH"))
local reqs

function init(args)
  math.randomseed(os.time() + (wrk.thread:get("tid") or 0))
  reqs = {
    wrk.format("POST", "/oauth2/token", cc, "grant_type=client_credentials"),
    wrk.format("POST", "/oauth2/introspect", app, introspect_body),
    wrk.format("GET", "/oauth2/userinfo", bearer),
    wrk.format("POST", "/oauth2/token", app, refresh_body),
    wrk.format("GET", "/api/mgmt/oauth/client/applications", admin),
  }
end

function request()
  local r = math.random(100)
  if r <= 40 then return reqs[1]
  elseif r <= 65 then return reqs[2]
  elseif r <= 85 then return reqs[3]
  elseif r <= 95 then return reqs[4]
  else return reqs[5] end
end

setup = c.setup
done = c.done
