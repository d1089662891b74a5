"""The PostgreSQL backend of the store (team mode): one database shared by every instance and CLI."""
