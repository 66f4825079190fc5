-- unblock.lua: lift a caller's block before its end, audited in the same step.
-- KEYS[1] incall:blocked zset   KEYS[2] incall:blocks hash   KEYS[3] audit stream
-- ARGV[1] now (ms)  ARGV[2] caller hash  ARGV[3] who  ARGV[4] reason  ARGV[5] audit MAXLEN
-- Returns 1 when a live block was lifted, 0 when there was none (nothing is audited then).

local now = tonumber(ARGV[1])
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
local before = redis.call('HGET', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
if not score or tonumber(score) <= now then return 0 end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*',
  'at', ARGV[1], 'who', ARGV[3], 'action', 'blocklist.remove', 'target', ARGV[2],
  'before', before or '{}', 'after', cjson.encode({reason = ARGV[4]}))
return 1
