-- callback_placed.lua: remember the CallSid of the callback leg (the call to the caller).
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1]   acd:reservation:<rid>
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id   ARGV[4] callback leg CallSid
-- Returns 1 when stored (or already stored), 0 when this attempt is over or has another leg.

local res_key, rid, leg = KEYS[C + 1], ARGV[3], ARGV[4]
local r = hgetall(res_key)
if r.status ~= 'accepted' or r.callback_status ~= 'dialling' then return 0 end
if r.callback_call_sid == leg then return 1 end
if r.callback_call_sid and r.callback_call_sid ~= '' then return 0 end
redis.call('HSET', res_key, 'callback_call_sid', leg)
event('callback_placed', 'reservation', rid, 'call', r.call_sid, 'counsellor', r.counsellor_id,
      'callback_call', leg)
return 1
