-- offer_answered.lua: the counsellor picked up the offer's leg and now hears the whisper.
-- They get offer_timeout again from now to listen and press 1, so that a long whisper or a slow
-- worker never turns a counsellor who is there into a "missed" offer.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1]   acd:reservation:<rid> hash
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id
-- Returns 1 when the pending offer's clock was restarted, 0 when the offer is not pending.

local res_key, rid = KEYS[C + 1], ARGV[3]
local r = hgetall(res_key)
if r.status ~= 'pending' then return 0 end
local expires = math.max(tonumber(r.expires_at) or 0, NOW + (CFG.offer_timeout + CFG.offer_grace) * 1000)
redis.call('HSET', res_key, 'expires_at', int(expires), 'answered_at', int(NOW))
redis.call('ZADD', K_OFFERS, 'XX', int(expires), rid)
if not r.answered_at then
  event('offer_answered', 'reservation', rid, 'call', r.call_sid, 'counsellor', r.counsellor_id)
end
return 1
