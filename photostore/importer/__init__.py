"""`photostore import DIR`: upload a folder of photos to a running API, skipping the ones it
already holds (asked by SHA-256, so a second run sends no bytes).

A client of the HTTP API only: it imports nothing of `photostore.api`.
"""
