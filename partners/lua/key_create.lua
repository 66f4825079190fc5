-- Store a new partner API key unless its id is taken (ids are random: a clash is retried).
-- KEYS[1] partners:key:<id> hash     KEYS[2] partners:keys set of ids
-- ARGV[1] the key id    ARGV[2..] the key's fields: field, value, field, value, …
-- Returns 1 when stored, 0 when the id already existed (nothing written).
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
