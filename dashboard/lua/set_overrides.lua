-- set_overrides.lua: change the ACD's runtime overrides and write the audit entry, atomically
-- (the entry's "before" is exactly what the change replaced).
-- KEYS[1]  acd:overrides hash
-- KEYS[2]  audit stream
-- ARGV[1]  now (ms, from the injected clock)
-- ARGV[2]  who (console login)
-- ARGV[3]  approximate MAXLEN of the audit stream
-- ARGV[4]  audit target (what the change is about)
-- ARGV[5..] field, value pairs; an empty value removes the field (back to the configuration)
-- Returns {changed 0|1, before JSON, after JSON}; nothing is written when nothing changes.

local function snapshot()
  local flat = redis.call('HGETALL', KEYS[1])
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

local before = snapshot()
local changed = 0
for i = 5, #ARGV - 1, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  if value == '' then
    if before[field] ~= nil then
      redis.call('HDEL', KEYS[1], field)
      changed = 1
    end
  elseif before[field] ~= value then
    redis.call('HSET', KEYS[1], field, value)
    changed = 1
  end
end
local after = snapshot()
-- cjson writes an empty table as {} (an object), which is what the audit page expects.
local before_json, after_json = cjson.encode(before), cjson.encode(after)
if changed == 1 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'at', ARGV[1], 'who', ARGV[2],
    'action', 'overrides.set', 'target', ARGV[4], 'before', before_json, 'after', after_json)
end
return {changed, before_json, after_json}
