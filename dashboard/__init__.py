"""The duty managers' dashboard: the queue and the team live, figures, actions, planner.

`dashboard.views.bp` is the blueprint (``/dashboard``, managers only), `dashboard.cli.dashboard`
the ``helpline dashboard`` command group, `dashboard.jobs.start_periodic` the retention job
``helpline worker`` starts. Pure parts: `figures` (counts from events), `live` (the "Now"
panel), `planner`, `hours` (exceptions and what callers hear), `charts`, `exports`.
"""
