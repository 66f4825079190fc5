"""Web pages for people: the counsellor console (login, state, call context, softphone token).

`console.views.bp` is the blueprint (``/console``); `console.cli.users` the ``helpline users``
command group; `console.users` the logins and roles; `console.auth` sessions, CSRF, throttling.
"""
