-- supervision_end.lua: forget a call's supervisor, only if it is still that participant's leg.
-- KEYS[1] incall:supervision:<rid> hash
-- ARGV[1] the participant's CallSid (from the status callback or the leave request)
-- Returns 1 when the supervision ended, 0 when it belonged to another leg (or none).

if redis.call('HGET', KEYS[1], 'call_sid') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
