"""The photo HTTP API (FastAPI): accounts, upload, list, search, download, trash."""
