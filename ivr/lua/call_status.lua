-- call_status.lua: apply a caller leg's status callback, tolerating duplicates and disorder.
-- KEYS[1]  call:<CallSid> record hash
-- KEYS[2]  events stream
-- ARGV[1]  CallStatus (queued, ringing, in-progress, completed, busy, failed, no-answer, canceled)
-- ARGV[2]  SequenceNumber ('' when Twilio sent none)
-- ARGV[3]  CallDuration in seconds ('' when absent)
-- ARGV[4]  now (ms, from the injected clock)
-- ARGV[5]  '1' when the status is final (the call is over), else '0'
-- ARGV[6]  approximate MAXLEN of the events stream
-- ARGV[7]  the CallSid (for the event)
-- Returns -1 for an unknown call (nothing written), 0 when nothing changed (an older or
-- repeated callback), 1 when the status was applied or the call's end was recorded.
-- The highest SequenceNumber seen wins; a callback without one applies until the call ended.
-- The end of the call (ended_at, duration, the call_ended event) is recorded once.

if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end

local stored = redis.call('HMGET', KEYS[1], 'status_seq', 'at_ended', 'platform')
local seq = tonumber(ARGV[2])
local seen = tonumber(stored[1])
local ended = stored[2]
local changed = 0

local apply
if seq ~= nil and seen ~= nil then
  apply = seq > seen
elseif seq ~= nil then
  apply = true
else
  apply = not ended
end

if apply then
  redis.call('HSET', KEYS[1], 'status', ARGV[1])
  if seq ~= nil then redis.call('HSET', KEYS[1], 'status_seq', seq) end
  changed = 1
end

if ARGV[5] == '1' and not ended then
  redis.call('HSET', KEYS[1], 'at_ended', ARGV[4])
  local event = {'what', 'call_ended', 'at', ARGV[4], 'call', ARGV[7],
                 'status', ARGV[1], 'platform', stored[3] or 'unknown'}
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[1], 'duration', ARGV[3])
    event[#event + 1] = 'duration'
    event[#event + 1] = ARGV[3]
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', unpack(event))
  changed = 1
end
return changed
