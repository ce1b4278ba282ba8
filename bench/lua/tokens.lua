-- POSTs a form to BENCH_PATH with a token taken from BENCH_TOKENS (one a line) in the
-- field BENCH_FIELD, after the fixed fields BENCH_BODY. BENCH_MODE:
--   cycle  each thread cycles through its share of the tokens (reusable tokens);
--   once   each token is sent once; a thread stops when its share is spent;
--   chain  each answer's refresh_token replaces the one sent (rotation): a thread
--          starts with its share and always has one token per connection in flight.
-- BENCH_AUTH: the Authorization header (client authentication).
-- BENCH_HEADER: when set, the token goes in this request header (a DPoP proof) rather
-- than in the body field BENCH_FIELD; the body is then BENCH_BODY alone.
local c = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local path = c.env("BENCH_PATH")
local fixed = c.env("BENCH_BODY", "")
local field = c.env("BENCH_FIELD")
local mode = c.env("BENCH_MODE")
local auth = os.getenv("BENCH_AUTH")
local header = os.getenv("BENCH_HEADER")
if header == "" then header = nil end
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
if auth and auth ~= "" then headers["Authorization"] = auth end

local tokens, pos, spent

function init(args)
  tokens = c.share(c.env("BENCH_TOKENS"))
  pos = 0
  spent = false
end

local function body(token)
  local b = field .. "=" .. c.form(token)
  if fixed ~= "" then b = fixed .. "&" .. b end
  return b
end

function request()
  local token
  if mode == "chain" then
    token = table.remove(tokens)
    if token == nil then token = "spent" end
  elseif mode == "once" then
    pos = pos + 1
    token = tokens[pos]
    if token == nil then
      if not spent then spent = true; wrk.thread:stop() end
      token = "spent"
    end
  else
    pos = pos % #tokens + 1
    token = tokens[pos]
  end
  if header then
    local h = { [header] = token }
    for k, v in pairs(headers) do h[k] = v end
    return wrk.format("POST", path, h, fixed)
  end
  return wrk.format("POST", path, headers, body(token))
end

if mode == "chain" then
  function response(status, hdrs, b)
    if status == 200 then
      local t = string.match(b, '"refresh_token":"([^"]+)"')
      if t then tokens[#tokens + 1] = t end
    end
  end
end

setup = c.setup
done = c.done
