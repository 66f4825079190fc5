-- call_ended.lua: the bridged call is over: the counsellor goes to wrap-up (or straight to
-- available when wrap_up is 0); the handle time (talk + configured wrap-up) is recorded.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:reservation:<rid>   KEYS[C+2] acd:counsellor:<id>
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] reservation id   ARGV[4] counsellor id
-- ARGV[5] "1" to record the handle time, "0" when the real end is unknown (forced release)
-- Returns "ended" | "noop" (unknown, not accepted, already ended: idempotent) | "mismatch"

local res_key, counsellor_key, rid, cid = KEYS[C + 1], KEYS[C + 2], ARGV[3], ARGV[4]

local r = hgetall(res_key)
if not r.status then return 'noop' end
if r.counsellor_id ~= cid then return 'mismatch' end
if r.status ~= 'accepted' then return 'noop' end

local talk = secs(tonumber(r.accepted_at), NOW)
local reason = 'completed'
if ARGV[5] ~= '1' then reason = 'released' end
-- Virtual hold: a counsellor who left while the caller was being called back handled no call.
local measured = ARGV[5] == '1' and r.callback_status ~= 'dialling'
redis.call('HSET', res_key, 'status', 'ended', 'reason', reason, 'ended_at', int(NOW))
redis.call('EXPIRE', res_key, int(CFG.done_ttl))
if measured then
  redis.call('LPUSH', K_HANDLE, int(talk + CFG.wrap_up))
  redis.call('LTRIM', K_HANDLE, 0, CFG.handle_keep - 1)
end

local c = hgetall(counsellor_key)
if c.state == 'on_call' and c.rid == rid then
  redis.call('HDEL', counsellor_key, 'call_sid')
  if CFG.wrap_up > 0 then
    local until_ms = NOW + CFG.wrap_up * 1000
    set_counsellor_state(counsellor_key, cid, 'wrap_up')
    redis.call('HSET', counsellor_key, 'wrap_until', int(until_ms))
    redis.call('ZADD', K_WRAPUPS, int(until_ms), cid)
  else
    set_counsellor_state(counsellor_key, cid, 'available')
  end
end
event('call_ended', 'reservation', rid, 'call', r.call_sid, 'counsellor', cid,
      'platform', r.platform, 'talk', talk, 'reason', reason)
return 'ended'
