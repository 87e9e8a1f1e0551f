"""The Lua script of the Redis rate limiter.

Kept as a Python string, not a `.lua` file, so the wheel always carries it: the package-data of
pyproject.toml ships only *.pyi, *.ini and *.mako besides the modules, and a missing data file
would surface only in the production image, on the first send.
"""

from __future__ import annotations

RESERVE_LUA = """
-- Atomic GCRA reservation over several limits (domain.execution.throttling.reserve, in Lua).
--
-- KEYS[1]: the seed marker: the run_id of the server instance that was seeded (see SEED_LUA)
-- KEYS[2..]: one key per limit; the value is its arrival time in integer microseconds since epoch
-- ARGV[1]: now, integer microseconds since epoch (the caller's clock)
-- ARGV[2]: count * spacing of the slowest limit, integer microseconds (computed by the caller
--          with the domain's own float-to-microsecond rounding, so both limiters agree exactly)
-- ARGV[3]: expiry margin in milliseconds
-- ARGV[4]: '1' if the state must have been seeded by this server instance, else '0'
-- Returns the start of the reservation as a decimal string (microseconds since epoch), or
-- 'unseeded' (writing nothing) when the marker does not name this server's run_id: the server
-- restarted (from an older snapshot, or empty), was flushed, or failed over.
--
-- Numbers are Lua doubles: exact for integers below 2^53 (~285 years of microseconds since
-- 1970). They are written with %d because tostring() would print 14 significant digits only.
local now = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])

if ARGV[4] == '1' then
  local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
  if redis.call('GET', KEYS[1]) ~= run_id then
    return 'unseeded'
  end
end

local start = now
for i = 2, #KEYS do
  local key = KEYS[i]
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
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], value, 'PX', ttl_text)
end
return string.format('%d', start)
"""

SEED_LUA = """
-- Re-seed arrival times after the state was lost (domain.execution.reseeding), atomically.
--
-- KEYS[1]: the seed marker, set to this server's run_id once every key is seeded
-- KEYS[2..]: limit keys
-- ARGV[1]: now, integer microseconds since epoch; ARGV[2]: expiry margin in milliseconds
-- ARGV[3..]: the recorded arrival time of each key of KEYS[2..], integer microseconds
-- An arrival is only ever raised, never lowered: a replica that reserved meanwhile keeps its.
local now = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])
for i = 2, #KEYS do
  local value = tonumber(ARGV[i + 1])
  local current = tonumber(redis.call('GET', KEYS[i]))
  if value > now and (not current or value > current) then
    local ttl = math.floor((value - now) / 1000) + margin
    redis.call('SET', KEYS[i], string.format('%d', value), 'PX', string.format('%d', ttl))
  end
end
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
redis.call('SET', KEYS[1], run_id)
return 'seeded'
"""
