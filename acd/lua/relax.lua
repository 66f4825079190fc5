-- relax.lua: move callers whose skill requirement has relaxed into the "any" queue.
-- (reserve.lua does the same first thing; this lets a sweep do it on its own.)
-- KEYS[1..C]  the common ACD keys (lib.lua)
-- ARGV[1..2]  now (ms), settings JSON (lib.lua)
-- Returns the number of callers moved.

return relax_due()
