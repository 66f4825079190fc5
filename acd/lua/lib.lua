-- lib.lua: helpers shared by every ACD script. Not a script itself: acd/scripts.py puts this
-- text in front of each one, so every script receives the same leading KEYS and ARGV:
--   KEYS[1]  events stream                    KEYS[2]  stats:calls hash
--   KEYS[3]  acd:waiting zset (enqueued ms)    KEYS[4]  acd:order zset (order key ms)
--   KEYS[5]  acd:relax zset (relax ms)         KEYS[6]  acd:offers zset (expiry ms)
--   KEYS[7]  acd:wrapups zset (end ms)         KEYS[8]  acd:states hash (logged-in id -> state)
--   KEYS[9]  acd:handle_times list (s)         KEYS[10] acd:queue:any zset
--   KEYS[11] acd:idle:any zset
--   KEYS[11 + i]     acd:queue:<pool i>  (i = 1..P, pool = "skill:language")
--   KEYS[11 + P + i] acd:idle:<pool i>
--   KEYS[12 + 2P] acd:callbacks zset (virtual hold: CallSid -> deadline ms)
--   KEYS[13 + 2P] acd:callback_retry zset (CallSid -> next callback not before, ms)
--   KEYS[14 + 2P] acd:callbacks_missed zset (CallSid -> ms of the final miss)
--   KEYS[15 + 2P] acd:transfers hash (live warm transfer entry id -> the counsellor who asked)
--   ARGV[1] now (ms, from the injected clock; never redis TIME)
--   ARGV[2] settings as JSON: pools (list of "skill:language"), offer_timeout, offer_grace,
--           wrap_up, max_misses, max_waiting, max_wait, relax_after (s), maxlen (events),
--           record_ttl, done_ttl (s), handle_keep (count), callback_ttl, callback_grace,
--           callback_retry_after (s), callback_attempts (count)
-- A script's own keys start at KEYS[C + 1] and its own arguments at ARGV[3].

local NOW = tonumber(ARGV[1])
local CFG = cjson.decode(ARGV[2])
local POOLS = CFG.pools
local P = #POOLS
local POOL_INDEX = {}
for i, name in ipairs(POOLS) do POOL_INDEX[name] = i end
local K_EVENTS, K_STATS, K_WAITING, K_ORDER = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_RELAX, K_OFFERS, K_WRAPUPS, K_STATES = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_HANDLE, K_QUEUE_ANY, K_IDLE_ANY = KEYS[9], KEYS[10], KEYS[11]
local K_CALLBACKS, K_CALLBACK_RETRY = KEYS[12 + 2 * P], KEYS[13 + 2 * P]
local K_CALLBACKS_MISSED = KEYS[14 + 2 * P]
local K_TRANSFERS = KEYS[15 + 2 * P]
local C = 15 + 2 * P

local function queue_key(i) return KEYS[11 + i] end
local function idle_key(i) return KEYS[11 + P + i] end

-- Whole numbers as plain digits (Lua's tostring would switch to exponents past 14 digits).
local function int(n) return string.format('%d', n) end

-- Seconds between two ms instants, rounded down, never negative.
local function secs(from_ms, to_ms)
  local s = math.floor((to_ms - from_ms) / 1000)
  if s < 0 then return 0 end
  return s
end

-- Append one event to the stream; nil, false and '' values are left out.
local function event(what, ...)
  local args = {'XADD', K_EVENTS, 'MAXLEN', '~', int(CFG.maxlen), '*', 'what', what, 'at', int(NOW)}
  local n = select('#', ...)
  local fields = {...}
  for i = 1, n, 2 do
    local v = fields[i + 1]
    if v ~= nil and v ~= false and v ~= '' then
      args[#args + 1] = fields[i]
      args[#args + 1] = tostring(v)
    end
  end
  redis.call(unpack(args))
end

local function hgetall(key)
  local flat = redis.call('HGETALL', key)
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

-- Set a call's single outcome (first writer wins), count it per platform, append an event.
-- extra: flat list {field, value, ...} also written on the record (wait, reason, ...).
-- Returns 1 when recorded, 0 when the call already had an outcome.
local function record_outcome(call_key, sid, outcome, extra)
  if redis.call('HEXISTS', call_key, 'outcome') == 1 then return 0 end
  extra = extra or {}
  local platform = redis.call('HGET', call_key, 'platform')
  local wait, reason
  for i = 1, #extra, 2 do
    local f, v = extra[i], extra[i + 1]
    if f == 'platform' then
      if not platform then platform = v end
    else
      redis.call('HSET', call_key, f, v)
      if f == 'wait' then wait = v elseif f == 'reason' then reason = v end
    end
  end
  if not platform or platform == '' then platform = 'unknown' end
  redis.call('HSETNX', call_key, 'platform', platform)
  redis.call('HSET', call_key, 'outcome', outcome, 'outcome_at', int(NOW))
  if redis.call('TTL', call_key) < 0 then redis.call('EXPIRE', call_key, int(CFG.record_ttl)) end
  redis.call('HINCRBY', K_STATS, platform .. ':' .. outcome, 1)
  event('outcome', 'call', sid, 'outcome', outcome, 'platform', platform, 'wait', wait,
        'reason', reason)
  return 1
end

-- Callers ------------------------------------------------------------------------------------

-- Make a waiting caller findable by reserve: their pool's queue until their skill relaxes (or
-- when their pool no longer exists), then the "any" queue. Same order key every time.
local function queue_caller(sid, h)
  local i = POOL_INDEX[h.pool]
  if h.kind == 'transfer' then  -- warm transfer entry: its skill's queue until relaxed
    if h.relaxed == '1' or i == nil then  -- (transfer_step.lua, "tick")
      redis.call('ZADD', K_QUEUE_ANY, h.order, sid)
    else
      redis.call('ZADD', queue_key(i), h.order, sid)
    end
    return
  end
  if i == nil or tonumber(h.relax_at) <= NOW then
    redis.call('ZADD', K_QUEUE_ANY, h.order, sid)
    redis.call('ZREM', K_RELAX, sid)
  else
    redis.call('ZADD', queue_key(i), h.order, sid)
    redis.call('ZADD', K_RELAX, h.relax_at, sid)
  end
end

-- Take a caller out of reserve's structures (they stay in waiting and order: same place).
local function unqueue_caller(sid, h)
  redis.call('ZREM', K_QUEUE_ANY, sid)
  redis.call('ZREM', K_RELAX, sid)
  local i = POOL_INDEX[h.pool]
  if i ~= nil then redis.call('ZREM', queue_key(i), sid) end
end

-- The caller leaves the ACD for good (answered, abandoned, overflowed).
local function finish_caller(caller_key, sid, h, state, reason)
  unqueue_caller(sid, h)
  redis.call('ZREM', K_WAITING, sid)
  redis.call('ZREM', K_ORDER, sid)
  redis.call('HSET', caller_key, 'state', state, 'ended_at', int(NOW))
  if reason then redis.call('HSET', caller_key, 'reason', reason) end
  redis.call('HDEL', caller_key, 'rid', 'counsellor')
  redis.call('EXPIRE', caller_key, int(CFG.done_ttl))
  redis.call('ZREM', K_CALLBACKS, sid)
  redis.call('ZREM', K_CALLBACK_RETRY, sid)
end

-- Move callers whose skill requirement has relaxed into the "any" queue (amortised: each
-- caller moves once).
local function relax_due()
  local due = redis.call('ZRANGEBYSCORE', K_RELAX, '-inf', int(NOW))
  for _, sid in ipairs(due) do
    local order = redis.call('ZSCORE', K_ORDER, sid)
    for i = 1, P do redis.call('ZREM', queue_key(i), sid) end
    redis.call('ZREM', K_RELAX, sid)
    if order then
      redis.call('ZADD', K_QUEUE_ANY, order, sid)
      event('relaxed', 'call', sid)
    end
  end
  return #due
end

-- Virtual hold: callers whose unanswered callback is due again join the "any" queue at their
-- own order key (the front, usually). Their skill requirement has lapsed by then:
-- callback_failed.lua moved their relax time to the retry time at the latest.
local function callbacks_due()
  local due = redis.call('ZRANGEBYSCORE', K_CALLBACK_RETRY, '-inf', int(NOW))
  for _, sid in ipairs(due) do
    redis.call('ZREM', K_CALLBACK_RETRY, sid)
    local order = redis.call('ZSCORE', K_ORDER, sid)
    if order then
      redis.call('ZADD', K_QUEUE_ANY, order, sid)
      event('callback_due', 'call', sid)
    end
  end
  return #due
end

-- A callback missed for good goes on the duty managers' list (kept as long as finished
-- caller records: done_ttl).
local function list_missed_callback(sid)
  redis.call('ZADD', K_CALLBACKS_MISSED, int(NOW), sid)
  redis.call('ZREMRANGEBYSCORE', K_CALLBACKS_MISSED, '-inf', '(' .. int(NOW - CFG.done_ttl * 1000))
end

-- Counsellors --------------------------------------------------------------------------------

local function split(s)
  local set = {}
  if s then for part in string.gmatch(s, '[^,]+') do set[part] = true end end
  return set
end

-- An available counsellor sits in the idle zset of every pool they serve and in "any", scored
-- by idle-since; anyone else sits in none of them.
local function place_idle(ckey, cid, available, idle_since)
  if not available then
    redis.call('ZREM', K_IDLE_ANY, cid)
    for i = 1, P do redis.call('ZREM', idle_key(i), cid) end
    return
  end
  local skills = split(redis.call('HGET', ckey, 'skills'))
  local langs = split(redis.call('HGET', ckey, 'languages'))
  redis.call('ZADD', K_IDLE_ANY, idle_since, cid)
  for i, pool in ipairs(POOLS) do
    local skill, lang = string.match(pool, '^(.*):([^:]*)$')
    if skills[skill] and langs[lang] then
      redis.call('ZADD', idle_key(i), idle_since, cid)
    else
      redis.call('ZREM', idle_key(i), cid)
    end
  end
end

-- Move a counsellor to `state` (`reason` only for break), keeping every index in step.
-- idle_since: for available, the instant (ms) that ranks them among the idle (default: now).
local function set_counsellor_state(ckey, cid, state, reason, idle_since)
  local old = redis.call('HGET', ckey, 'state')
  redis.call('HSET', ckey, 'state', state, 'state_since', int(NOW))
  if reason then
    redis.call('HSET', ckey, 'reason', reason)
  else
    redis.call('HDEL', ckey, 'reason')
  end
  if state == 'offline' then
    redis.call('HDEL', K_STATES, cid)
  else
    redis.call('HSET', K_STATES, cid, state)
  end
  if state == 'available' then
    idle_since = idle_since or NOW
    redis.call('HSET', ckey, 'idle_since', int(idle_since))
    place_idle(ckey, cid, true, idle_since)
  else
    place_idle(ckey, cid, false)
  end
  if state ~= 'wrap_up' then
    redis.call('ZREM', K_WRAPUPS, cid)
    redis.call('HDEL', ckey, 'wrap_until')
  end
  if state ~= 'reserved' and state ~= 'on_call' then
    redis.call('HDEL', ckey, 'rid')
  end
  event('counsellor_state', 'counsellor', cid, 'state', state, 'from', old, 'reason', reason)
end

-- End of lib.lua ----------------------------------------------------------------------------
