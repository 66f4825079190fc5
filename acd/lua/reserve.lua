-- reserve.lua: atomically offer the best waiting caller to the best available counsellor.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1]   acd:seq, the reservation id counter
-- KEYS[C+2]   acd:caller:<CallSid> hash of the candidate caller      (absent on a first try)
-- KEYS[C+3]   acd:counsellor:<id> hash of the candidate counsellor   (absent on a first try)
-- KEYS[C+4]   acd:reservation:<rid> hash to create                   (absent on a first try)
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] candidate CallSid   ARGV[4] candidate counsellor id   ARGV[5] reservation id
-- Returns nil (nobody to reserve)
--       | {"retry", CallSid, counsellor id, reservation id}: call again with their keys
--       | {"ok", rid, field, value, ...}: the reservation created
--
-- Every key a script touches comes through KEYS, but which caller and counsellor hashes are
-- needed is only known once the choice is made. So the script makes the choice and commits it
-- only when the caller passed exactly those hashes; otherwise it answers the choice (with a
-- fresh reservation id, taken only when there is a pair) and the Python side calls again with
-- them. Between two calls the choice may change (another dispatcher); the script re-decides
-- every time, so a commit is always the current best pair. Nothing is written on a "retry"
-- but skill relaxations and the id counter.
--
-- Selection (acd/routing.py select_pair): every pool whose idle zset is not empty offers the
-- head of its queue (lowest order key, ties by CallSid); so does the "any" queue of relaxed
-- callers if anyone at all is available. The lowest of those heads is the caller; the head of
-- the matching idle zset (lowest idle-since, ties by id) is the counsellor. That is the best
-- caller some available counsellor can take, then the longest idle who can take them:
-- O(P log n) for P pools and n waiting callers. One exception (`pick`): a warm transfer is
-- never offered to the counsellor who asked for it.

local K_SEQ = KEYS[C + 1]

-- The same call again (the client resends a script whose answer was lost with the connection):
-- the reservation it made is answered again instead of being left for nobody to dial.
if #KEYS >= C + 4 and redis.call('EXISTS', KEYS[C + 4]) == 1 then
  local made = redis.call('HMGET', KEYS[C + 4], 'call_sid', 'counsellor_id')
  if made[1] == ARGV[3] and made[2] == ARGV[4] then
    local answer = redis.call('HGETALL', KEYS[C + 4])
    table.insert(answer, 1, ARGV[5])
    table.insert(answer, 1, 'ok')
    return answer
  end
end

relax_due()
callbacks_due()

-- The first entry of `queue` a counsellor of `idle` may take, with that counsellor: the head
-- and the longest idle, except that a warm transfer is never offered to the counsellor who
-- asked for it (acd:transfers names them): the next idle one takes it, and when that
-- counsellor is the only one idle the next entry is looked at (transfers are at the head, so
-- this looks past transfers only).
local function pick(queue, idle)
  local free = redis.call('ZRANGE', idle, 0, 1)
  if #free == 0 then return nil end
  local k = 0
  while true do
    local entry = redis.call('ZRANGE', queue, k, k, 'WITHSCORES')
    if #entry == 0 then return nil end
    local asker = redis.call('HGET', K_TRANSFERS, entry[1])
    if not asker or free[1] ~= asker then return entry[1], tonumber(entry[2]), free[1] end
    if free[2] then return entry[1], tonumber(entry[2]), free[2] end
    k = k + 1
  end
end

local best_sid, best_order, best_cid
local function consider(queue, idle)
  local sid, order, cid = pick(queue, idle)
  if sid == nil then return end
  if best_sid == nil or order < best_order or (order == best_order and sid < best_sid) then
    best_sid, best_order, best_cid = sid, order, cid
  end
end
for i = 1, P do consider(queue_key(i), idle_key(i)) end
consider(K_QUEUE_ANY, K_IDLE_ANY)
if best_sid == nil then return nil end
local cid = best_cid

if #KEYS < C + 4 or ARGV[3] ~= best_sid or ARGV[4] ~= cid then
  local rid = ARGV[5]
  if rid == '' then rid = tostring(redis.call('INCR', K_SEQ)) end
  return {'retry', best_sid, cid, rid}
end
local caller_key, counsellor_key, res_key, rid = KEYS[C + 2], KEYS[C + 3], KEYS[C + 4], ARGV[5]

-- Indexes and records disagree only after a bug or a hand edit: repair, then let the caller
-- try again rather than block the queue behind one bad entry.
local h = hgetall(caller_key)
if h.state ~= 'waiting' then
  for i = 1, P do redis.call('ZREM', queue_key(i), best_sid) end
  redis.call('ZREM', K_QUEUE_ANY, best_sid)
  redis.call('ZREM', K_RELAX, best_sid)
  event('repaired', 'call', best_sid, 'state', h.state or 'missing')
  return {'retry', '', '', ARGV[5]}
end
local c = hgetall(counsellor_key)
if c.state ~= 'available' then
  place_idle(counsellor_key, cid, false)
  event('repaired', 'counsellor', cid, 'state', c.state or 'missing')
  return {'retry', '', '', ARGV[5]}
end
if redis.call('EXISTS', res_key) == 1 then
  return redis.error_reply('reservation ' .. rid .. ' already exists')
end

local expires = NOW + (CFG.offer_timeout + CFG.offer_grace) * 1000
local wait = secs(tonumber(h.enqueued_at), NOW)
unqueue_caller(best_sid, h)
redis.call('HSET', caller_key, 'state', 'offered', 'rid', rid, 'counsellor', cid)
set_counsellor_state(counsellor_key, cid, 'reserved')
redis.call('HSET', counsellor_key, 'rid', rid)
redis.call('HSET', res_key,
  'id', rid, 'call_sid', best_sid, 'counsellor_id', cid, 'endpoint', c.endpoint or '',
  'status', 'pending', 'created_at', int(NOW), 'expires_at', int(expires),
  'platform', h.platform or 'unknown', 'caller_type', h.caller_type or 'unknown',
  'language', h.language or '', 'waited_s', int(wait))
if h.callback == '1' then redis.call('HSET', res_key, 'callback', '1') end  -- virtual hold
if h.kind == 'transfer' then  -- warm transfer (transfer_start.lua): B is offered A's call
  redis.call('HSET', res_key, 'kind', 'transfer', 'transfer_of', h.from_rid,
    'from', h.from_counsellor, 'skill', h.skill, 'caller_call_sid', h.call_sid,
    'conference', h.conference)
end
redis.call('ZADD', K_OFFERS, int(expires), rid)
event('offered', 'reservation', rid, 'call', best_sid, 'counsellor', cid,
      'platform', h.platform, 'caller_type', h.caller_type, 'language', h.language,
      'wait', int(wait))
local answer = redis.call('HGETALL', res_key)
table.insert(answer, 1, rid)
table.insert(answer, 1, 'ok')
return answer
