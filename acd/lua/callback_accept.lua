-- callback_accept.lua: the counsellor accepted the offer of a caller who asked to be called
-- back. The counsellor is on the call (waiting in the conference) while the caller is called;
-- the caller is "calling" (out of every pool queue, still first in order). No outcome yet:
-- that comes when the callback is answered (callback_answered) or missed (callback_failed).
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:reservation:<rid>   KEYS[C+2] acd:caller:<CallSid>   KEYS[C+3] acd:counsellor:<id>
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id   ARGV[4] CallSid   ARGV[5] counsellor id
-- Returns "calling" (also again for a repeat) | "caller_gone" | "stale" | "mismatch"
--       | "not_callback" (an ordinary offer: accept.lua's)

local res_key, caller_key, counsellor_key = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3]
local rid, sid, cid = ARGV[3], ARGV[4], ARGV[5]

local r = hgetall(res_key)
if not r.status then return 'stale' end
if r.call_sid ~= sid or r.counsellor_id ~= cid then return 'mismatch' end
if r.callback ~= '1' then return 'not_callback' end
if r.status == 'accepted' then return 'calling' end
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
  redis.call('HSET', res_key, 'status', 'ended', 'reason', 'caller_gone', 'ended_at', int(NOW))
  redis.call('EXPIRE', res_key, int(CFG.done_ttl))
  set_counsellor_state(counsellor_key, cid, 'available', nil, tonumber(c.idle_since))
  return 'caller_gone'
end

redis.call('HSET', res_key, 'status', 'accepted', 'accepted_at', int(NOW),
  'callback_status', 'dialling')
redis.call('HSET', caller_key, 'state', 'calling')
set_counsellor_state(counsellor_key, cid, 'on_call')
redis.call('HSET', counsellor_key, 'rid', rid, 'call_sid', sid, 'missed', 0)
event('callback_accepted', 'reservation', rid, 'call', sid, 'counsellor', cid,
      'platform', h.platform, 'tries', h.callback_tries)
return 'calling'
