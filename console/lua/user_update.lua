-- Change fields of an existing console user; optionally end every session it has open.
-- KEYS[1] the user's hash (console:user:<login>)
-- ARGV[1] '1' to bump the session epoch (sessions of an older epoch stop working), else '0'
-- ARGV[2..] field, value, field, value, ...
-- Returns 1 when the user exists (and was changed), 0 otherwise.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if #ARGV > 1 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
end
if ARGV[1] == '1' then
  redis.call('HINCRBY', KEYS[1], 'epoch', 1)
end
return 1
