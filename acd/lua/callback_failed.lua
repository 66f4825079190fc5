-- callback_failed.lua: a callback attempt did not reach the caller (no answer, busy, failed,
-- canceled; or no number left to call). The counsellor is free again with no miss counted
-- (not their doing; idle-since kept). Below callback_attempts the caller keeps the front of
-- the queue but is not offered again before now + callback_retry_after; at the last attempt
-- (or with no number) the callback is missed for good: outcome abandoned, reason
-- callback_missed, number deleted, listed for the duty managers.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:reservation:<rid>   KEYS[C+2] acd:caller:<CallSid>   KEYS[C+3] acd:counsellor:<id>
-- KEYS[C+4] call:<CallSid> record   KEYS[C+5] acd:callback:<CallSid> (sealed number)
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id   ARGV[4] CallSid   ARGV[5] counsellor id
-- ARGV[6] callback leg CallSid ('' when none was placed)
-- ARGV[7] reason: no-answer | busy | failed | canceled | no_number
-- ARGV[8] "1": no further attempt is possible (no number left)
-- ARGV[9] rescue (the sweep; '' otherwise): seconds after the acceptance past which an attempt
--         that never recorded a callback leg is over (its place_callback job was lost with a
--         worker). Before that, or once a leg is recorded, "noop". A rescued attempt costs the
--         caller no attempt (their phone never rang); callback_ttl still bounds the retries.
-- Returns "retry" | "missed" | "noop" (not being called back: late or repeated) | "mismatch"

local res_key, caller_key, counsellor_key = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3]
local call_key, number_key = KEYS[C + 4], KEYS[C + 5]
local rid, sid, cid, leg, reason = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local r = hgetall(res_key)
if not r.status then return 'noop' end
if r.call_sid ~= sid or r.counsellor_id ~= cid then return 'mismatch' end
if leg ~= '' and r.callback_call_sid and r.callback_call_sid ~= '' and r.callback_call_sid ~= leg then
  return 'noop'  -- a leg that is not this attempt's
end
local h = hgetall(caller_key)
if h.state ~= 'calling' or h.rid ~= rid or r.callback_status ~= 'dialling' then return 'noop' end
local rescue = (ARGV[9] or '') ~= ''
if rescue then
  if (r.callback_call_sid or '') ~= '' then return 'noop' end  -- placed: its status will come
  if NOW < tonumber(r.accepted_at) + tonumber(ARGV[9]) * 1000 then return 'noop' end
end

redis.call('HSET', res_key, 'callback_status', 'failed', 'callback_reason', reason)
if r.status == 'accepted' then
  redis.call('HSET', res_key, 'status', 'ended', 'reason', 'callback_failed', 'ended_at', int(NOW))
  redis.call('EXPIRE', res_key, int(CFG.done_ttl))
end
local c = hgetall(counsellor_key)
if c.state == 'on_call' and c.rid == rid then
  redis.call('HDEL', counsellor_key, 'call_sid')
  set_counsellor_state(counsellor_key, cid, 'available', nil, tonumber(c.idle_since))
end

local tries
if rescue then
  tries = tonumber(h.callback_tries or '0')
else
  tries = redis.call('HINCRBY', caller_key, 'callback_tries', 1)
end
if ARGV[8] == '1' or (not rescue and tries >= CFG.callback_attempts) then
  local wait = int(secs(tonumber(h.enqueued_at), NOW))
  finish_caller(caller_key, sid, h, 'abandoned', 'callback_missed')
  redis.call('DEL', number_key)
  list_missed_callback(sid)
  event('callback_missed', 'reservation', rid, 'call', sid, 'platform', h.platform,
        'caller_type', h.caller_type, 'reason', reason, 'tries', tries, 'wait', wait)
  record_outcome(call_key, sid, 'abandoned',
    {'platform', h.platform, 'wait', wait, 'reason', 'callback_missed'})
  return 'missed'
end

local retry_at = NOW + CFG.callback_retry_after * 1000
redis.call('HSET', caller_key, 'state', 'waiting', 'retry_at', int(retry_at),
  'relax_at', int(math.min(tonumber(h.relax_at), retry_at)))
redis.call('HDEL', caller_key, 'rid', 'counsellor')
redis.call('ZADD', K_CALLBACK_RETRY, int(retry_at), sid)
event('callback_failed', 'reservation', rid, 'call', sid, 'counsellor', cid, 'reason', reason,
      'tries', tries, 'platform', h.platform)
return 'retry'
