"""RQ jobs of the ACD (placeholder; the ACD fills it)."""
