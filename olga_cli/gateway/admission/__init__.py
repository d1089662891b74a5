"""Admission: who is calling, and whether they may (auth, allow-lists, credits reserved, usage and
rate limits, the alerts limits raise, and the JSON views of them)."""
