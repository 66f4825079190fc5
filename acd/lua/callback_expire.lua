-- callback_expire.lua: a caller still waiting for a callback callback_ttl after asking is not
-- called any more: outcome abandoned (reason callback_expired), number deleted, listed for the
-- duty managers. A caller being offered or called right now is left to that attempt.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1] acd:caller:<CallSid>   KEYS[C+2] call:<CallSid> record
-- KEYS[C+3] acd:callback:<CallSid> (sealed number)
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] CallSid
-- Returns 1 when the callback expired now, else 0.

local caller_key, call_key, number_key, sid = KEYS[C + 1], KEYS[C + 2], KEYS[C + 3], ARGV[3]
local h = hgetall(caller_key)
if h.callback ~= '1' or (h.state ~= 'waiting' and h.state ~= 'offered' and h.state ~= 'calling') then
  redis.call('ZREM', K_CALLBACKS, sid)  -- finished (or unknown): nothing left to expire
  return 0
end
if h.state ~= 'waiting' or tonumber(h.callback_until) > NOW then return 0 end
local wait = int(secs(tonumber(h.enqueued_at), NOW))
finish_caller(caller_key, sid, h, 'abandoned', 'callback_expired')
redis.call('DEL', number_key)
list_missed_callback(sid)
event('callback_missed', 'call', sid, 'platform', h.platform, 'caller_type', h.caller_type,
      'reason', 'expired', 'tries', h.callback_tries, 'wait', wait)
record_outcome(call_key, sid, 'abandoned',
  {'platform', h.platform, 'wait', wait, 'reason', 'callback_expired'})
return 1
