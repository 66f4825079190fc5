-- enqueue.lua: put a caller in the ACD queue, or overflow them. Idempotent per CallSid.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1]   acd:caller:<CallSid> hash     KEYS[C+2] call:<CallSid> record hash
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] CallSid   ARGV[4] platform   ARGV[5] caller type   ARGV[6] language
-- ARGV[7] skill     ARGV[8] pool ("skill:language")   ARGV[9] priority (s)
-- ARGV[10] enqueued at (ms)
-- Returns {"queued", position} | {"overflowed", reason} | {"duplicate", what it was}

local caller_key, call_key = KEYS[C + 1], KEYS[C + 2]
local sid, platform, caller_type, language = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local skill, pool, priority, enqueued = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])

-- The same CallSid again: answer what was decided the first time.
local state = redis.call('HGET', caller_key, 'state')
if state == 'waiting' or state == 'offered' then
  return {'queued', redis.call('ZRANK', K_ORDER, sid) + 1}
elseif state == 'overflowed' then
  return {'overflowed', redis.call('HGET', caller_key, 'reason') or 'overflowed'}
elseif state then
  return {'duplicate', state}
end
local outcome = redis.call('HGET', call_key, 'outcome')
if outcome then return {'duplicate', outcome} end

local order = enqueued - priority * 1000
local relax_at = enqueued + CFG.relax_after * 1000
redis.call('HSET', caller_key,
  'call_sid', sid, 'platform', platform, 'caller_type', caller_type, 'language', language,
  'skill', skill, 'pool', pool, 'priority', int(priority), 'enqueued_at', int(enqueued),
  'order', int(order), 'relax_at', int(relax_at), 'state', 'waiting')

local reason
if redis.call('HLEN', K_STATES) == 0 then
  reason = 'no_counsellor'
elseif redis.call('ZCARD', K_WAITING) >= CFG.max_waiting then
  reason = 'queue_full'
end
if reason then
  local wait = secs(enqueued, NOW)
  redis.call('HSET', caller_key, 'state', 'overflowed', 'reason', reason, 'ended_at', int(NOW))
  redis.call('EXPIRE', caller_key, int(CFG.done_ttl))
  record_outcome(call_key, sid, 'overflowed',
    {'platform', platform, 'wait', int(wait), 'reason', reason})
  return {'overflowed', reason}
end

redis.call('ZADD', K_WAITING, int(enqueued), sid)
redis.call('ZADD', K_ORDER, int(order), sid)
local h = {pool = pool, order = int(order), relax_at = int(relax_at)}
queue_caller(sid, h)
local position = redis.call('ZRANK', K_ORDER, sid) + 1
event('enqueued', 'call', sid, 'platform', platform, 'caller_type', caller_type,
      'language', language, 'skill', skill, 'priority', int(priority), 'position', position)
return {'queued', position}
