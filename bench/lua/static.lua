-- One fixed request, repeated: BENCH_METHOD, BENCH_PATH, BENCH_BODY (optional),
-- BENCH_CONTENT_TYPE, BENCH_AUTH (a whole Authorization header value, optional).
local c = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
wrk.method = c.env("BENCH_METHOD", "GET")
wrk.path = c.env("BENCH_PATH")
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = c.env("BENCH_CONTENT_TYPE", "application/x-www-form-urlencoded")
end
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
setup = c.setup
done = c.done
