"""Database backends: `seatplan.db.postgresql` is Django's, less one index per text key (see its base.py)."""
