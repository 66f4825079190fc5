-- end_wrapup.lua: a counsellor whose wrap-up is over becomes available (idle-since = now).
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1]   acd:counsellor:<id>
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] counsellor id
-- Returns 1 when the wrap-up ended now, else 0.

local counsellor_key, cid = KEYS[C + 1], ARGV[3]
local c = hgetall(counsellor_key)
if c.state ~= 'wrap_up' then
  redis.call('ZREM', K_WRAPUPS, cid)
  return 0
end
if tonumber(c.wrap_until or 0) > NOW then return 0 end
set_counsellor_state(counsellor_key, cid, 'available')
return 1
