-- outcome.lua: set a call's single outcome (first writer wins), count it, append an event.
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- KEYS[C+1]   call:<CallSid> record hash
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- ARGV[3] CallSid   ARGV[4] outcome   ARGV[5..] extra fields as field, value pairs
-- Returns 1 when recorded, 0 when the call already had an outcome.

local extra = {}
for i = 5, #ARGV do extra[#extra + 1] = ARGV[i] end
return record_outcome(KEYS[C + 1], ARGV[3], ARGV[4], extra)
