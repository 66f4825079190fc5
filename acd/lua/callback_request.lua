-- callback_request.lua: a waiting caller pressed the callback key (virtual hold). They keep
-- their place (order key, pools) and their Twilio call may end; their number is stored sealed
-- (never in clear) until the callback ends. Idempotent.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:caller:<CallSid>   KEYS[C+2] acd:callback:<CallSid> (the sealed number)
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] CallSid   ARGV[4] the number, sealed by acd/callback.py (AES-GCM, base64)
-- Returns "ok" (waiting for a callback; also for a repeat) | "offered" (a counsellor is being
-- offered this caller right now: they stay on the line) | "not_waiting"

local caller_key, number_key = KEYS[C + 1], KEYS[C + 2]
local sid, sealed = ARGV[3], ARGV[4]

local h = hgetall(caller_key)
if h.callback == '1' then return 'ok' end
if h.state == 'offered' then return 'offered' end
if h.state ~= 'waiting' then return 'not_waiting' end

local until_ms = NOW + CFG.callback_ttl * 1000
redis.call('HSET', caller_key, 'callback', '1', 'callback_at', int(NOW),
  'callback_until', int(until_ms), 'callback_tries', 0)
redis.call('SET', number_key, sealed, 'PX', int((CFG.callback_ttl + CFG.callback_grace) * 1000))
redis.call('ZADD', K_CALLBACKS, int(until_ms), sid)
local rank = redis.call('ZRANK', K_ORDER, sid)
event('callback_requested', 'call', sid, 'platform', h.platform,
      'wait', int(secs(tonumber(h.enqueued_at), NOW)), 'position', rank and rank + 1)
return 'ok'
