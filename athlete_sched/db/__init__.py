"""Persistence: typed models, the UTC column type and queries. Never commits."""
