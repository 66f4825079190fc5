-- create_call.lua: create a call record unless the CallSid already has one (idempotent).
-- KEYS[1]  call:<CallSid> record hash
-- KEYS[2]  events stream
-- ARGV[1]  TTL of the record (s)
-- ARGV[2]  now (ms, from the injected clock)
-- ARGV[3]  approximate MAXLEN of the events stream
-- ARGV[4..] the record's fields: field, value, field, value, …
-- Returns {1} when created, or {0, field, value, …}: the record that already existed.
-- A hash without created_at (the ACD recorded an outcome for a call it did not know) is not a
-- record yet: our fields are added next to the outcome.

if redis.call('HEXISTS', KEYS[1], 'created_at') == 1 then
  local existing = redis.call('HGETALL', KEYS[1])
  table.insert(existing, 1, 0)
  return existing
end

local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))

local info = redis.call('HMGET', KEYS[1], 'call_sid', 'platform', 'channel')
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
  'what', 'call_started', 'at', ARGV[2], 'call', info[1] or '',
  'platform', info[2] or 'unknown', 'channel', info[3] or '')
return {1}
