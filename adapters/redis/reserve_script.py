"""The Lua script of the Redis rate limiter.

Kept as a Python string, not a `.lua` file, so the wheel always carries it: the package-data of
pyproject.toml ships only *.pyi, *.ini and *.mako besides the modules, and a missing data file
would surface only in the production image, on the first send.
"""

from __future__ import annotations

RESERVE_LUA = """
-- Atomic GCRA reservation over several limits (domain.execution.throttling.reserve, in Lua).
--
-- KEYS:    one key per limit; the value is its arrival time in integer microseconds since epoch
-- ARGV[1]: now, integer microseconds since epoch (the caller's clock)
-- ARGV[2]: count * spacing of the slowest limit, integer microseconds (computed by the caller
--          with the domain's own float-to-microsecond rounding, so both limiters agree exactly)
-- ARGV[3]: expiry margin in milliseconds
-- Returns the start of the reservation as a decimal string (microseconds since epoch).
--
-- Numbers are Lua doubles: exact for integers below 2^53 (~285 years of microseconds since
-- 1970). They are written with %d because tostring() would print 14 significant digits only.
local now = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])

local start = now
for _, key in ipairs(KEYS) do
  local arrival = tonumber(redis.call('GET', key))
  if arrival and arrival > start then
    start = arrival
  end
end

local finish = start + duration
-- Relative TTL measured on the caller's clock: the key outlives its arrival time by `margin`
-- whatever the offset between the caller's clock and the Redis server's.
local ttl = math.floor((finish - now) / 1000) + margin
local value = string.format('%d', finish)
local ttl_text = string.format('%d', ttl)
for _, key in ipairs(KEYS) do
  redis.call('SET', key, value, 'PX', ttl_text)
end
return string.format('%d', start)
"""
