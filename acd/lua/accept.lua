-- accept.lua: the counsellor accepted the offer: both on the call, outcome answered.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:reservation:<rid>   KEYS[C+2] acd:caller:<CallSid>
-- KEYS[C+3] acd:counsellor:<id>     KEYS[C+4] call:<CallSid> record
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id   ARGV[4] CallSid   ARGV[5] counsellor id
-- ARGV[6] today, the helpline's local date (calls-today counter)
-- Returns "accepted" (also again for an accepted one) | "caller_gone" | "stale" | "mismatch"
-- An offer past its expiry but not yet expired by the sweep is still accepted: the caller
-- is still held for this counsellor, and answering them is what everybody wants.

local res_key, caller_key, counsellor_key, call_key = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3], KEYS[C + 4]
local rid, sid, cid, today = ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local r = hgetall(res_key)
if not r.status then return 'stale' end
if r.call_sid ~= sid or r.counsellor_id ~= cid then return 'mismatch' end
if r.status == 'accepted' then return 'accepted' end
if r.status ~= 'pending' then
  if r.reason == 'caller_gone' then return 'caller_gone' end
  return 'stale'
end

local c = hgetall(counsellor_key)
if c.state ~= 'reserved' or c.rid ~= rid then
  return redis.error_reply('counsellor ' .. cid .. ' is not reserved for ' .. rid)
end
local h = hgetall(caller_key)
redis.call('ZREM', K_OFFERS, rid)
if h.state ~= 'offered' or h.rid ~= rid then
  -- The caller left without the offer being ended (cannot happen through caller_gone): end
  -- it now and give the counsellor back their place among the idle.
  redis.call('HSET', res_key, 'status', 'ended', 'reason', 'caller_gone', 'ended_at', int(NOW))
  redis.call('EXPIRE', res_key, int(CFG.done_ttl))
  set_counsellor_state(counsellor_key, cid, 'available', nil, tonumber(c.idle_since))
  return 'caller_gone'
end

local wait = secs(tonumber(h.enqueued_at), NOW)
redis.call('HSET', res_key, 'status', 'accepted', 'accepted_at', int(NOW))
finish_caller(caller_key, sid, h, 'answered')
redis.call('HSET', caller_key, 'rid', rid, 'counsellor', cid)
set_counsellor_state(counsellor_key, cid, 'on_call')
redis.call('HSET', counsellor_key, 'rid', rid, 'call_sid', sid, 'missed', 0)
if c.calls_day == today then
  redis.call('HINCRBY', counsellor_key, 'calls', 1)
else
  redis.call('HSET', counsellor_key, 'calls', 1, 'calls_day', today)
end
event('accepted', 'reservation', rid, 'call', sid, 'counsellor', cid, 'platform', h.platform,
      'wait', int(wait))
record_outcome(call_key, sid, 'answered', {'platform', h.platform, 'wait', int(wait)})
return 'accepted'
