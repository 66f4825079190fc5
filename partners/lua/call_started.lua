-- A platform's call starts: admit it under the platform's limits, or refuse and count why.
-- Idempotent: a CallSid already admitted is admitted again (Twilio retries webhooks).
-- KEYS[1] partners:active:<platform>   zset CallSid -> start (ms): calls in progress
-- KEYS[2] partners:rate:calls:<platform> zset CallSid -> ms: calls started in the last minute
-- KEYS[3] partners:rate:token:<identity> zset CallSid -> ms: calls started with one token
-- KEYS[4] partners:refused              hash <platform>:<reason> -> count
-- ARGV[1] now (ms)        ARGV[2] CallSid        ARGV[3] platform
-- ARGV[4] age (ms) after which an active call that never ended stops counting
-- ARGV[5] max concurrent calls (0: none)
-- ARGV[6] calls per window (0: none)           ARGV[7] that window (ms)
-- ARGV[8] calls per token (0: none, or no identity)  ARGV[9] that window (ms)
-- Returns {1, 'admitted'} or {1, 'again'}, or {0, reason}: 'concurrent', 'rate' or 'token'.
local now = tonumber(ARGV[1])
local sid, platform = ARGV[2], ARGV[3]
if redis.call('ZSCORE', KEYS[1], sid) then return {1, 'again'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]))

local function refuse(reason)
  redis.call('HINCRBY', KEYS[4], platform .. ':' .. reason, 1)
  return {0, reason}
end

local max_active = tonumber(ARGV[5])
if max_active > 0 and redis.call('ZCARD', KEYS[1]) >= max_active then
  return refuse('concurrent')
end
local per_window, window = tonumber(ARGV[6]), tonumber(ARGV[7])
if per_window > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= per_window then return refuse('rate') end
end
local per_token, token_window = tonumber(ARGV[8]), tonumber(ARGV[9])
if per_token > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - token_window)
  if redis.call('ZCARD', KEYS[3]) >= per_token then return refuse('token') end
end

redis.call('ZADD', KEYS[1], now, sid)
if per_window > 0 then
  redis.call('ZADD', KEYS[2], now, sid)
  redis.call('PEXPIRE', KEYS[2], window)
end
if per_token > 0 then
  redis.call('ZADD', KEYS[3], now, sid)
  redis.call('PEXPIRE', KEYS[3], token_window)
end
return {1, 'admitted'}
