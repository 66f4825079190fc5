-- offer_placed.lua: remember the CallSid of the counsellor's ringing leg on the reservation.
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
event('offer_placed', 'reservation', rid, 'call', r.call_sid, 'counsellor', r.counsellor_id,
      'counsellor_call', leg)
return 1
