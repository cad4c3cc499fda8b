"""The explorer: an indexer that follows the PoGO contract's events into a SQL database, and a
web app (FastAPI) that serves them, with the contract's live views, as pages and JSON."""
