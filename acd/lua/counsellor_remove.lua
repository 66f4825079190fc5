-- counsellor_remove.lua: forget a counsellor; refused while reserved or on a call.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:counsellor:<id>   KEYS[C+2] acd:counsellors set
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] counsellor id
-- Returns "removed" | "unknown" | "busy"

local counsellor_key, index_key, cid = KEYS[C + 1], KEYS[C + 2], ARGV[3]
local state = redis.call('HGET', counsellor_key, 'state')
if not state then
  redis.call('SREM', index_key, cid)
  return 'unknown'
end
if state == 'reserved' or state == 'on_call' then return 'busy' end
place_idle(counsellor_key, cid, false)
redis.call('HDEL', K_STATES, cid)
redis.call('ZREM', K_WRAPUPS, cid)
redis.call('SREM', index_key, cid)
redis.call('DEL', counsellor_key)
event('counsellor_removed', 'counsellor', cid, 'from', state)
return 'removed'
