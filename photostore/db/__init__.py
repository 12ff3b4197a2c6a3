"""PostgreSQL access shared by the API and the processor: the pool and the schema migrations."""
