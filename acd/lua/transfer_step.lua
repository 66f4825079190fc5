-- transfer_step.lua: every later step of a warm transfer, one atomic decision each.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:caller:xfer-<rid> (the entry)   KEYS[C+2] acd:reservation:<rid> (A's call)
-- KEYS[C+3] acd:counsellor:<A>                 KEYS[C+4] acd:reservation:<rid2> (B's offer, as last seen)
-- KEYS[C+5] acd:counsellor:<B> (as last seen)  KEYS[C+6] acd:caller:<caller CallSid>
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] xid   ARGV[4] mode   ARGV[5] rid2 as last seen ('' none)   ARGV[6] B's id as last seen
-- ARGV[7] today, the helpline's local date (B's calls-today counter)
-- Modes:
--   accept          B pressed 1 on offer rid2: B on the call, entry "joined" (or "completed" at
--                   once when A already left)
--   complete        A hands over: A's reservation ends (wrap-up, handle time), the call now
--                   belongs to rid2 (B); entry "completed"
--   cancel          A keeps the caller ("stay with me"): entry removed, B's pending offer
--                   failed as canceled (or B's joined leg released); entry "canceled"
--   caller_gone     the caller hung up: as cancel
--   owner_left      A's leg ended: joined → complete; waiting/offered → A's reservation ends and
--                   the entry stays at the head for B ("orphan": the caller is told to hold)
--   colleague_left  B's leg ended while joined, before the hand-over: B released, entry canceled
--   tick            the sweep, for a transfer whose caller waits alone (A left, "orphan"), not
--                   being offered: alone for relax_after → "relaxed" (the "any" queue: any
--                   available counsellor but A, see reserve.lua); alone for max_wait →
--                   "overflowed" (entry canceled, reason max_wait: the edge sends the caller
--                   to the overflow alternatives; the call keeps its one outcome, answered)
-- Returns {"retry", rid2, B} when the offer passed is not the entry's current one;
--         {result, A's leg CallSid, B's leg CallSid, caller CallSid, state before, rid2}
--   result: joined | completed | canceled | orphaned | relaxed | overflowed | noop | stale | none

local entry_key, a_res_key, a_key = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3]
local b_res_key, b_key, caller_key = KEYS[C + 4], KEYS[C + 5], KEYS[C + 6]
local xid, mode, b_rid, b_cid, today = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local e = hgetall(entry_key)
if not e.state then return {'none', '', '', '', '', ''} end
if (e.rid or '') ~= b_rid or (e.counsellor or '') ~= b_cid then
  return {'retry', e.rid or '', e.counsellor or ''}
end
local sid, a_rid, a_cid, before = e.call_sid, e.from_rid, e.from_counsellor, e.state
local a_res = hgetall(a_res_key)
local b_res = hgetall(b_res_key)
local a_leg, b_leg = a_res.counsellor_call_sid or '', b_res.counsellor_call_sid or ''

local function answer(result) return {result, a_leg, b_leg, sid, before, b_rid} end

-- A counsellor whose call is over: wrap-up (or available at once when wrap_up is 0).
local function wrap_up(ckey, cid, rid)
  local c = hgetall(ckey)
  if not (c.state == 'on_call' and c.rid == rid) then return end
  redis.call('HDEL', ckey, 'call_sid')
  if CFG.wrap_up > 0 then
    local until_ms = NOW + CFG.wrap_up * 1000
    set_counsellor_state(ckey, cid, 'wrap_up')
    redis.call('HSET', ckey, 'wrap_until', int(until_ms))
    redis.call('ZADD', K_WRAPUPS, int(until_ms), cid)
  else
    set_counsellor_state(ckey, cid, 'available')
  end
end

-- End an accepted reservation as call_ended.lua does; `measured`: its handle time counts.
local function end_call(res_key, r, rid, ckey, cid, reason, measured)
  if r.status ~= 'accepted' then return end
  local talk = secs(tonumber(r.accepted_at), NOW)
  redis.call('HSET', res_key, 'status', 'ended', 'reason', reason, 'ended_at', int(NOW))
  redis.call('EXPIRE', res_key, int(CFG.done_ttl))
  if measured then
    redis.call('LPUSH', K_HANDLE, int(talk + CFG.wrap_up))
    redis.call('LTRIM', K_HANDLE, 0, CFG.handle_keep - 1)
  end
  wrap_up(ckey, cid, rid)
  event('call_ended', 'reservation', rid, 'call', sid, 'counsellor', cid,
        'platform', r.platform, 'talk', talk, 'reason', reason)
end

-- The entry is over: out of its queue, final state kept a day for the console and the views.
local function finish(state, reason)
  local i = POOL_INDEX[e.pool]
  if i ~= nil then redis.call('ZREM', queue_key(i), xid) end
  redis.call('ZREM', K_QUEUE_ANY, xid)
  redis.call('HDEL', K_TRANSFERS, xid)
  redis.call('HSET', entry_key, 'state', state, 'ended_at', int(NOW))
  if reason then redis.call('HSET', entry_key, 'reason', reason) end
  redis.call('EXPIRE', entry_key, int(CFG.done_ttl))
  if redis.call('HGET', caller_key, 'xfer') == xid then redis.call('HDEL', caller_key, 'xfer') end
end

-- B's pending offer fails as canceled: B available again, keeping their idle-since, no miss.
local function cancel_offer()
  if b_res.status ~= 'pending' then return end
  redis.call('HSET', b_res_key, 'status', 'failed', 'reason', 'canceled', 'ended_at', int(NOW))
  redis.call('EXPIRE', b_res_key, int(CFG.done_ttl))
  redis.call('ZREM', K_OFFERS, b_rid)
  local c = hgetall(b_key)
  if c.state == 'reserved' and c.rid == b_rid then
    set_counsellor_state(b_key, b_cid, 'available', nil, tonumber(c.idle_since))
  end
  event('offer_failed', 'reservation', b_rid, 'call', xid, 'counsellor', b_cid,
        'reason', 'canceled', 'platform', e.platform)
end

-- The hand-over: A's part ends, the call belongs to B's reservation from now on.
local function complete()
  end_call(a_res_key, a_res, a_rid, a_key, a_cid, 'transferred', true)
  redis.call('HSET', caller_key, 'rid', b_rid, 'counsellor', b_cid)
  redis.call('HSET', b_res_key, 'transferred_at', int(NOW))
  -- 17/112/119 on the line (incall/escalate.py): B leaving must not end the call either.
  if a_res.escalated then redis.call('HSET', b_res_key, 'escalated', a_res.escalated) end
  finish('completed')
  event('transfer', 'transfer', xid, 'reservation', b_rid, 'from_reservation', a_rid,
        'call', sid, 'from', a_cid, 'to', b_cid, 'skill', e.skill, 'platform', e.platform,
        'waited', secs(tonumber(e.requested_at), NOW))
  return answer('completed')
end

-- Stop the transfer: the caller stays with A (or, when they hung up, with nobody).
local function stop(reason)
  if before == 'offered' then
    cancel_offer()
  elseif before == 'joined' then
    end_call(b_res_key, b_res, b_rid, b_key, b_cid, 'transfer_' .. reason, false)
  end
  finish('canceled', reason)
  event('transfer_canceled', 'transfer', xid, 'reservation', a_rid, 'call', sid,
        'counsellor', a_cid, 'colleague', b_cid, 'reason', reason)
  return answer('canceled')
end

local live = before == 'waiting' or before == 'offered' or before == 'joined'

if mode == 'accept' then
  if b_res.status == 'accepted' and (before == 'joined' or before == 'completed') then
    return answer(before)  -- a repeated key press
  end
  if b_res.status ~= 'pending' or before ~= 'offered' then return answer('stale') end
  local c = hgetall(b_key)
  if c.state ~= 'reserved' or c.rid ~= b_rid then
    return redis.error_reply('counsellor ' .. b_cid .. ' is not reserved for ' .. b_rid)
  end
  redis.call('ZREM', K_OFFERS, b_rid)
  redis.call('HSET', b_res_key, 'status', 'accepted', 'accepted_at', int(NOW))
  set_counsellor_state(b_key, b_cid, 'on_call')
  redis.call('HSET', b_key, 'rid', b_rid, 'call_sid', sid, 'missed', 0)
  if c.calls_day == today then
    redis.call('HINCRBY', b_key, 'calls', 1)
  else
    redis.call('HSET', b_key, 'calls', 1, 'calls_day', today)
  end
  redis.call('HSET', entry_key, 'state', 'joined', 'joined_at', int(NOW))
  b_res.status, b_res.accepted_at = 'accepted', int(NOW)
  event('transfer_joined', 'transfer', xid, 'reservation', b_rid, 'from_reservation', a_rid,
        'call', sid, 'from', a_cid, 'to', b_cid)
  -- A already left (or was released): the colleague takes the call over at once.
  if e.orphan == '1' or a_res.status ~= 'accepted' then return complete() end
  return answer('joined')
elseif mode == 'complete' then
  if before == 'completed' then return answer('completed') end
  if before ~= 'joined' then return answer('noop') end
  return complete()
elseif mode == 'cancel' then
  if not live then return answer('noop') end
  if e.orphan == '1' then return answer('noop') end  -- A is gone: nobody to stay with
  return stop('stay')
elseif mode == 'caller_gone' then
  if not live then return answer('noop') end
  return stop('caller_gone')
elseif mode == 'owner_left' then
  if before == 'joined' then return complete() end
  if not (before == 'waiting' or before == 'offered') then return answer('noop') end
  if e.orphan == '1' then return answer('noop') end
  end_call(a_res_key, a_res, a_rid, a_key, a_cid, 'completed', true)
  redis.call('HSET', entry_key, 'orphan', '1', 'orphaned_at', int(NOW))
  event('transfer_orphaned', 'transfer', xid, 'reservation', a_rid, 'call', sid,
        'counsellor', a_cid)
  return answer('orphaned')
elseif mode == 'colleague_left' then
  if before ~= 'joined' then return answer('noop') end
  return stop('colleague_left')
elseif mode == 'tick' then
  -- While A is on the line the caller is not alone and A decides (stay with me); an offer in
  -- progress is left to finish (refused or missed, the entry is back to waiting).
  if e.orphan ~= '1' or before ~= 'waiting' then return answer('noop') end
  local alone = NOW - tonumber(e.orphaned_at or NOW)
  if alone >= CFG.max_wait * 1000 then
    finish('canceled', 'max_wait')
    event('transfer_canceled', 'transfer', xid, 'reservation', a_rid, 'call', sid,
          'counsellor', a_cid, 'skill', e.skill, 'platform', e.platform, 'reason', 'max_wait',
          'waited', secs(tonumber(e.requested_at), NOW))
    return answer('overflowed')
  end
  if e.relaxed ~= '1' and alone >= CFG.relax_after * 1000 then
    local i = POOL_INDEX[e.pool]
    if i ~= nil then redis.call('ZREM', queue_key(i), xid) end
    redis.call('HSET', entry_key, 'relaxed', '1', 'relaxed_at', int(NOW))
    redis.call('ZADD', K_QUEUE_ANY, e.order, xid)
    event('transfer_relaxed', 'transfer', xid, 'reservation', a_rid, 'call', sid,
          'skill', e.skill)
    return answer('relaxed')
  end
  return answer('noop')
end
return redis.error_reply('transfer_step: unknown mode ' .. mode)
