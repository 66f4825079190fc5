-- overflow.lua: a caller waiting longer than max_wait is marked to leave (the waitUrl answers
-- <Leave/>), outcome overflowed. A caller being offered right now is left alone: the offer
-- may be accepted; if it fails, the next sweep catches them.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:caller:<CallSid>   KEYS[C+2] call:<CallSid> record
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] CallSid
-- Returns 1 when the caller was overflowed, else 0.

local caller_key, call_key, sid = KEYS[C + 1], KEYS[C + 2], ARGV[3]
local h = hgetall(caller_key)
-- Virtual hold: a caller waiting for a callback holds no line; callback_ttl bounds their wait
-- instead (callback_expire.lua), so max_wait never drops them.
if h.callback == '1' then return 0 end
if h.state ~= 'waiting' then
  if not h.state then
    -- an index entry without a record: drop it so the sweep does not see it forever
    redis.call('ZREM', K_WAITING, sid)
    redis.call('ZREM', K_ORDER, sid)
  end
  return 0
end
local enqueued = tonumber(h.enqueued_at)
if enqueued + CFG.max_wait * 1000 > NOW then return 0 end
local wait = int(secs(enqueued, NOW))
finish_caller(caller_key, sid, h, 'overflowed', 'max_wait')
record_outcome(call_key, sid, 'overflowed',
  {'platform', h.platform, 'wait', wait, 'reason', 'max_wait'})
return 1
