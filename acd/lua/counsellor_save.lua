-- counsellor_save.lua: add a counsellor (offline) or update their profile. An available
-- counsellor's idle zsets follow new skills and languages at once, idle-since kept.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:counsellor:<id>   KEYS[C+2] acd:counsellors set
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] "add" | "update"   ARGV[4] id   ARGV[5] name   ARGV[6] skills (comma-separated)
-- ARGV[7] languages (comma-separated)   ARGV[8] endpoint   (update: '' = unchanged)
-- Returns "ok" | "exists" (add) | "unknown" (update)

local counsellor_key, index_key = KEYS[C + 1], KEYS[C + 2]
local mode, cid = ARGV[3], ARGV[4]
local exists = redis.call('EXISTS', counsellor_key) == 1
if mode == 'add' then
  if exists then return 'exists' end
  redis.call('HSET', counsellor_key, 'id', cid, 'name', ARGV[5], 'skills', ARGV[6],
    'languages', ARGV[7], 'endpoint', ARGV[8], 'state', 'offline', 'state_since', int(NOW),
    'missed', 0, 'calls', 0)
  redis.call('SADD', index_key, cid)
  event('counsellor_added', 'counsellor', cid, 'skills', ARGV[6], 'languages', ARGV[7])
  return 'ok'
end
if not exists then return 'unknown' end
local names = {'name', 'skills', 'languages', 'endpoint'}
for i, field in ipairs(names) do
  if ARGV[4 + i] ~= '' then redis.call('HSET', counsellor_key, field, ARGV[4 + i]) end
end
local c = hgetall(counsellor_key)
if c.state == 'available' then
  place_idle(counsellor_key, cid, true, tonumber(c.idle_since or NOW))
end
event('counsellor_updated', 'counsellor', cid, 'skills', c.skills, 'languages', c.languages)
return 'ok'
