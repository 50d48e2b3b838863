"""Read models: use cases that only query, so raw queries are allowed here.

Standings, profiles and charts, the wallet's pages and CSV, the Live Pot, the
Watch page, the league pages, reconciliation, the database's migration revision.
Everything else in `cozykart/services/` reaches the database through the unit of work's
repositories (`tests/unit/test_architecture.py` keeps it so).
"""
