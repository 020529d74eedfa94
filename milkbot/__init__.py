"""Milkbot: Kalshi daily weather markets, Postgres-centric (logic in SQL, thin Python workers)."""
