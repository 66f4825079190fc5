-- Count one login attempt against a sliding window, or refuse it when too many failed.
-- An attempt is counted before the password is checked (so parallel guesses cannot slip
-- through); a successful login deletes the key.
-- KEYS[1] the login's recent attempts (console:login_failures:<login>), zset member -> ms
-- ARGV[1] now (ms, injected clock), ARGV[2] window (ms), ARGV[3] attempts allowed per window,
-- ARGV[4] a unique member for this attempt
-- Returns {1, count} when allowed, {0, ms until the oldest attempt leaves the window} when not.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, count + 1}
