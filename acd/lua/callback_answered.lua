-- callback_answered.lua: the caller picked up the callback. They are answered (outcome with
-- the wait from their first enqueue to now) and their number is deleted at once: it is
-- needed no more. If the counsellor left meanwhile, the caller is called again later, first
-- in the queue, without counting an attempt (not their doing).
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:reservation:<rid>   KEYS[C+2] acd:caller:<CallSid>   KEYS[C+3] acd:counsellor:<id>
-- KEYS[C+4] call:<CallSid> record   KEYS[C+5] acd:callback:<CallSid> (sealed number)
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id   ARGV[4] CallSid   ARGV[5] counsellor id   ARGV[6] callback leg CallSid
-- ARGV[7] today, the helpline's local date (calls-today counter)
-- Returns "answered" (also again for the same leg) | "counsellor_gone" | "stale" | "mismatch"

local res_key, caller_key, counsellor_key = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3]
local call_key, number_key = KEYS[C + 4], KEYS[C + 5]
local rid, sid, cid, leg, today = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local r = hgetall(res_key)
if not r.status then return 'stale' end
if r.call_sid ~= sid or r.counsellor_id ~= cid then return 'mismatch' end
if r.callback_call_sid and r.callback_call_sid ~= '' and r.callback_call_sid ~= leg then
  return 'stale'  -- a leg that is not this attempt's
end
if r.callback_status == 'answered' then return 'answered' end
local h = hgetall(caller_key)
if h.state ~= 'calling' or h.rid ~= rid then return 'stale' end

if r.status ~= 'accepted' then
  -- The counsellor hung up while we were calling: back to the front, called again later.
  local retry_at = NOW + CFG.callback_retry_after * 1000
  redis.call('HSET', res_key, 'callback_status', 'counsellor_gone', 'callback_call_sid', leg)
  redis.call('HSET', caller_key, 'state', 'waiting', 'retry_at', int(retry_at),
    'relax_at', int(math.min(tonumber(h.relax_at), retry_at)))
  redis.call('HDEL', caller_key, 'rid', 'counsellor')
  redis.call('ZADD', K_CALLBACK_RETRY, int(retry_at), sid)
  event('callback_failed', 'reservation', rid, 'call', sid, 'counsellor', cid,
        'reason', 'counsellor_gone', 'tries', h.callback_tries, 'platform', h.platform)
  return 'counsellor_gone'
end

local wait = int(secs(tonumber(h.enqueued_at), NOW))
redis.call('HSET', res_key, 'callback_status', 'answered', 'callback_call_sid', leg,
  'callback_answered_at', int(NOW))
finish_caller(caller_key, sid, h, 'answered')
redis.call('HSET', caller_key, 'rid', rid, 'counsellor', cid)
redis.call('DEL', number_key)
local c = hgetall(counsellor_key)
if c.state == 'on_call' and c.rid == rid then
  if c.calls_day == today then
    redis.call('HINCRBY', counsellor_key, 'calls', 1)
  else
    redis.call('HSET', counsellor_key, 'calls', 1, 'calls_day', today)
  end
end
event('callback_answered', 'reservation', rid, 'call', sid, 'counsellor', cid,
      'platform', h.platform, 'wait', wait, 'callback_call', leg)
event('accepted', 'reservation', rid, 'call', sid, 'counsellor', cid, 'platform', h.platform,
      'wait', wait)
record_outcome(call_key, sid, 'answered',
  {'platform', h.platform, 'wait', wait, 'reason', 'callback'})
return 'answered'
