-- Revoke a partner API key: from now on it authenticates nothing. Kept for the audit.
-- KEYS[1] partners:key:<id> hash
-- ARGV[1] now (ms)
-- Returns 1 when revoked now, 0 when it was already revoked, -1 when there is no such key.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return 1
