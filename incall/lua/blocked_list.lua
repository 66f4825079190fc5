-- blocked_list.lua: prune expired blocks, then every live one with its details.
-- KEYS[1] incall:blocked zset   KEYS[2] incall:blocks hash
-- ARGV[1] now (ms)
-- Returns a flat array: caller hash, until (ms), details JSON, … soonest end first.

local now = tonumber(ARGV[1])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('HDEL', KEYS[2], gone)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {}
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = live[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], live[i]) or '{}'
end
return out
