-- offer_failed.lua: the offer did not become a call. The caller goes back to the SAME place
-- (same order key); the counsellor counts a miss and goes on break('missed') at max_misses.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:reservation:<rid>   KEYS[C+2] acd:caller:<CallSid>   KEYS[C+3] acd:counsellor:<id>
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id   ARGV[4] CallSid   ARGV[5] counsellor id
-- ARGV[6] reason: declined | no-answer | busy | failed | timeout | canceled | not_placed
-- Returns "failed" | "noop" (unknown, or no longer pending: idempotent, late) | "mismatch"
-- A counsellor below max_misses is available again with idle-since = now: they go behind
-- the other idle counsellors, so the next one is tried. "canceled" is not their doing: no miss,
-- and they keep their idle-since. Nor are "not_placed" (Twilio's REST API could not be reached
-- to ring them) and a "timeout" before their phone ever rang (no counsellor leg recorded: the
-- REST call still being retried, or its job lost with a worker): no miss, idle-since kept.
-- "failed" (a permanent REST error such as a bad endpoint, or a leg that failed) is a miss,
-- so that a counsellor who cannot be rung is set aside rather than offered again and again.

local res_key, caller_key, counsellor_key = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3]
local rid, sid, cid, reason = ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local r = hgetall(res_key)
if not r.status then return 'noop' end
if r.call_sid ~= sid or r.counsellor_id ~= cid then return 'mismatch' end
if r.status ~= 'pending' then return 'noop' end

redis.call('HSET', res_key, 'status', 'failed', 'reason', reason, 'ended_at', int(NOW))
redis.call('EXPIRE', res_key, int(CFG.done_ttl))
redis.call('ZREM', K_OFFERS, rid)

local h = hgetall(caller_key)
local wait
if h.state == 'offered' and h.rid == rid then
  redis.call('HSET', caller_key, 'state', 'waiting')
  redis.call('HDEL', caller_key, 'rid', 'counsellor')
  queue_caller(sid, h)
  wait = int(secs(tonumber(h.enqueued_at), NOW))
end

local c = hgetall(counsellor_key)
local missed
if c.state == 'reserved' and c.rid == rid then
  local never_rang = reason == 'not_placed' or (reason == 'timeout' and not r.counsellor_call_sid)
  if reason == 'canceled' or never_rang then
    set_counsellor_state(counsellor_key, cid, 'available', nil, tonumber(c.idle_since))
  else
    missed = redis.call('HINCRBY', counsellor_key, 'missed', 1)
    if missed >= CFG.max_misses then
      set_counsellor_state(counsellor_key, cid, 'break', 'missed')
    else
      set_counsellor_state(counsellor_key, cid, 'available', nil, NOW)
    end
  end
end
event('offer_failed', 'reservation', rid, 'call', sid, 'counsellor', cid, 'reason', reason,
      'platform', h.platform, 'wait', wait, 'missed', missed)
return 'failed'
