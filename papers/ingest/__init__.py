"""Ingestion: one module per arXiv source, all feeding one idempotent upsert."""
