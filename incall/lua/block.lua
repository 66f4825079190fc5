-- block.lua: block a caller (keyed hash) until a time, audited in the same step.
-- KEYS[1] incall:blocked zset (caller hash -> until ms)   KEYS[2] incall:blocks hash (details)
-- KEYS[3] audit stream
-- ARGV[1] now (ms)  ARGV[2] caller hash  ARGV[3] until (ms)  ARGV[4] who  ARGV[5] reason
-- ARGV[6] details JSON (by, reason, at, until, call)  ARGV[7] audit MAXLEN
-- Expired entries are pruned first. Returns 1 for a new block, 0 when an entry was replaced.

local now = tonumber(ARGV[1])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('HDEL', KEYS[2], gone)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)

local before = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[6])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*',
  'at', ARGV[1], 'who', ARGV[4], 'action', 'blocklist.add', 'target', ARGV[2],
  'before', before or '{}', 'after', ARGV[6])
if before then return 0 end
return 1
