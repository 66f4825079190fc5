"""The 3018 helpline voice platform: shared foundation (settings, clock, keys, app factory, CLI)."""
