-- transfer_start.lua: counsellor A asks for a warm transfer of their call to a colleague of
-- another skill. A transfer entry (a caller-like hash, id "xfer-<rid>") joins that skill's
-- pool queue AHEAD of every ordinary caller, so reserve.lua offers it to the longest-idle free
-- counsellor with that skill and the caller's language, with the usual offer rules. It is in
-- neither acd:waiting nor acd:order: it is not a new call (no position, no overflow, no
-- outcome of its own). It is named in acd:transfers with A's id: reserve.lua never offers it
-- to A. It relaxes to the "any" queue only once A has left (transfer_step.lua, "tick").
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:reservation:<rid> (A's accepted call)   KEYS[C+2] acd:counsellor:<A>
-- KEYS[C+3] acd:caller:<caller CallSid>                 KEYS[C+4] acd:caller:xfer-<rid> (the entry)
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] rid   ARGV[4] A's id   ARGV[5] caller CallSid   ARGV[6] skill   ARGV[7] pool "skill:lang"
-- Returns {"waiting", xid} | {"not_on_call"} | {"running", state} | {"unknown_skill"}

local res_key, a_key, caller_key, entry_key = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3], KEYS[C + 4]
local rid, cid, sid, skill, pool = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local xid = 'xfer-' .. rid
-- Transfers are served before any caller: their order key is far below any instant in ms, and
-- among themselves by request time.
local HEAD_MS = 10000000000000

local r = hgetall(res_key)
local a = hgetall(a_key)
local h = hgetall(caller_key)
if r.status ~= 'accepted' or r.counsellor_id ~= cid or a.state ~= 'on_call' or a.rid ~= rid
   or h.rid ~= rid then
  return {'not_on_call'}
end
local e = hgetall(entry_key)
if e.state == 'waiting' or e.state == 'offered' or e.state == 'joined' then
  return {'running', e.state}
end
local i = POOL_INDEX[pool]
if i == nil then return {'unknown_skill'} end

local order = NOW - HEAD_MS
redis.call('DEL', entry_key)
redis.call('HSET', entry_key,
  'kind', 'transfer', 'state', 'waiting', 'call_sid', sid, 'from_rid', rid,
  'from_counsellor', cid, 'skill', skill, 'pool', pool, 'language', r.language or '',
  'platform', h.platform or r.platform or 'unknown', 'caller_type', h.caller_type or 'unknown',
  'order', int(order), 'enqueued_at', int(NOW), 'requested_at', int(NOW),
  -- the call's conference keeps the name of its first reservation, transfer after transfer
  'conference', r.conference or rid)
redis.call('ZADD', queue_key(i), int(order), xid)
redis.call('HSET', K_TRANSFERS, xid, cid)
redis.call('HSET', caller_key, 'xfer', xid)
redis.call('HSET', res_key, 'xfer', xid)
event('transfer_requested', 'transfer', xid, 'reservation', rid, 'call', sid, 'counsellor', cid,
      'skill', skill, 'platform', h.platform)
return {'waiting', xid}
