"""Team mode's hot shared state in Redis: Lua scripts, each one atomic step (``store/hot.py``)."""
