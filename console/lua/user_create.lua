-- Create a console user unless the login is taken.
-- KEYS[1] the user's hash (console:user:<login>)
-- KEYS[2] the set of logins (console:users)
-- ARGV[1] login, ARGV[2] role, ARGV[3] password hash, ARGV[4] counsellor id ('' for managers),
-- ARGV[5] created_at (ms, from the injected clock)
-- Returns 1 when created, 0 when the login already exists.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1],
  'login', ARGV[1], 'role', ARGV[2], 'password', ARGV[3], 'counsellor_id', ARGV[4],
  'created_at', ARGV[5], 'disabled', '0', 'epoch', '0')
redis.call('SADD', KEYS[2], ARGV[1])
return 1
