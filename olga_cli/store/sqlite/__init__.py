"""The SQLite backend of the store: the embedded default, one file in the home folder."""
