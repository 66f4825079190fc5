-- offer_placed.lua: remember the CallSid of the counsellor's ringing leg on the reservation,
-- and start the offer's clock again: the counsellor has offer_timeout to answer from the moment
-- their phone rings, however long the worker took to place the call.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1]   acd:reservation:<rid> hash
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id   ARGV[4] counsellor leg CallSid
-- Returns 1 when stored (or already stored), 0 when the offer is over or unknown.

local res_key, rid, leg = KEYS[C + 1], ARGV[3], ARGV[4]
local r = hgetall(res_key)
if r.status ~= 'pending' and r.status ~= 'accepted' then return 0 end
if r.counsellor_call_sid == leg then return 1 end
redis.call('HSET', res_key, 'counsellor_call_sid', leg)
if r.status == 'pending' then
  local expires = math.max(tonumber(r.expires_at) or 0, NOW + (CFG.offer_timeout + CFG.offer_grace) * 1000)
  redis.call('HSET', res_key, 'expires_at', int(expires))
  redis.call('ZADD', K_OFFERS, 'XX', int(expires), rid)
end
event('offer_placed', 'reservation', rid, 'call', r.call_sid, 'counsellor', r.counsellor_id,
      'counsellor_call', leg)
return 1
