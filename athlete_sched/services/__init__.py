"""Use cases: each calls the pure core and the queries, adds and flushes, never commits.
The caller (an API view, a page view, a CLI command) commits once at the end."""
