-- set_state.lua: a person changes a counsellor's state: available (also ends wrap-up early),
-- break(reason), offline. Refused while the counsellor is reserved or on a call.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1]   acd:counsellor:<id>
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] counsellor id   ARGV[4] state: available | break | offline   ARGV[5] reason (break)
-- Returns "ok" | "unchanged" | "unknown" | "busy" | "invalid"
-- Becoming available sets idle-since = now and clears the missed-offers count.

local counsellor_key, cid, state = KEYS[C + 1], ARGV[3], ARGV[4]
local c = hgetall(counsellor_key)
if not c.state then return 'unknown' end
if state ~= 'available' and state ~= 'break' and state ~= 'offline' then return 'invalid' end
if c.state == 'reserved' or c.state == 'on_call' then return 'busy' end
local reason
if state == 'break' then
  reason = ARGV[5]
  if reason == '' then reason = 'other' end
end
if c.state == state and (c.reason or '') == (reason or '') then return 'unchanged' end
if state == 'available' then redis.call('HSET', counsellor_key, 'missed', 0) end
set_counsellor_state(counsellor_key, cid, state, reason)
return 'ok'
