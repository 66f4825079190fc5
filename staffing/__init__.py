"""The staffing planner: Erlang C and Erlang A, and the ``helpline staffing`` command."""
