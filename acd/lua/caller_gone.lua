-- caller_gone.lua: the caller hung up (or their call ended): leave every queue structure, end
-- a pending offer (the counsellor gets their place among the idle back), record "abandoned"
-- with the wait unless the call already has an outcome. Idempotent.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:caller:<CallSid>   KEYS[C+2] call:<CallSid> record
-- KEYS[C+3] acd:reservation:<rid> of the pending offer, as last seen   KEYS[C+4] its counsellor
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] CallSid   ARGV[4] reservation id as last seen ('' none)   ARGV[5] its counsellor id
-- Returns {state before, recorded 0|1, rid of an ended offer, its counsellor leg CallSid}
--       | {"retry", rid, counsellor id} when the pending offer is not the one passed in.

local caller_key, call_key, res_key, counsellor_key = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3], KEYS[C + 4]
local sid = ARGV[3]

local h = hgetall(caller_key)
-- Virtual hold: the caller asked to be called back, so the end of their call is expected and
-- they keep their place; their callback ends through callback_answered/failed/expire.
if h.callback == '1' then return {'callback', 0, '', ''} end
local ended_rid, leg = '', ''
if h.state == 'offered' then
  if h.rid ~= ARGV[4] or h.counsellor ~= ARGV[5] then return {'retry', h.rid, h.counsellor} end
  local r = hgetall(res_key)
  if r.status == 'pending' then
    redis.call('HSET', res_key, 'status', 'ended', 'reason', 'caller_gone', 'ended_at', int(NOW))
    redis.call('EXPIRE', res_key, int(CFG.done_ttl))
    redis.call('ZREM', K_OFFERS, h.rid)
    ended_rid, leg = h.rid, r.counsellor_call_sid or ''
  end
  local c = hgetall(counsellor_key)
  if c.state == 'reserved' and c.rid == h.rid then
    set_counsellor_state(counsellor_key, h.counsellor, 'available', nil, tonumber(c.idle_since))
  end
end

local recorded
if h.state == 'waiting' or h.state == 'offered' then
  local wait = int(secs(tonumber(h.enqueued_at), NOW))
  finish_caller(caller_key, sid, h, 'abandoned')
  event('caller_gone', 'call', sid, 'platform', h.platform, 'wait', wait,
        'reservation', ended_rid)
  recorded = record_outcome(call_key, sid, 'abandoned', {'platform', h.platform, 'wait', wait})
else
  recorded = record_outcome(call_key, sid, 'abandoned', {})
end
return {h.state or 'none', recorded, ended_rid, leg}
