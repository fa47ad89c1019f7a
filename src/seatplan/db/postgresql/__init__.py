"""Django's PostgreSQL backend without the `…_like` indexes."""
