"""Automatic call distributor: queue, counsellors, reservations, dispatch, bridging, wrap-up."""
