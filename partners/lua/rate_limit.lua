-- Count one event against several sliding windows at once, or refuse it without counting.
-- All windows must have room: a client refused by its own limit uses none of its platform's.
-- KEYS[i]        the window of limit i (partners:rate:<scope>), zset unique member -> ms
-- ARGV[1]        now (ms, from the injected clock)
-- ARGV[2]        a unique member for this event
-- ARGV[2i+1]     limit i: events allowed per window (0: no limit, nothing stored)
-- ARGV[2i+2]     window i (ms)
-- Returns {1, 0} when counted, {0, i, ms until window i has room} when refused.
local now = tonumber(ARGV[1])
local member = ARGV[2]
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    if redis.call('ZCARD', KEYS[i]) >= limit then
      local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
      return {0, i, tonumber(oldest[2]) + window - now}
    end
  end
end
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
  if limit > 0 then
    redis.call('ZADD', KEYS[i], now, member)
    redis.call('PEXPIRE', KEYS[i], window)
  end
end
return {1, 0}
