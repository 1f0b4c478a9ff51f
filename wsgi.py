"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`.

After start-up the collector is told to leave what start-up made alone: `gc.freeze()`
moves every object alive now (modules, the app and its routes, SQLAlchemy's mappers and
compiled statements, the templates) to a permanent generation that collections never
walk. A request's own garbage is still collected, but the oldest generation's
collections, which walked all of it, no longer land in a request: at 200 therapists a
proposals request's p95 was 83 ms with the collector walking the start-up heap and 20 ms
with it frozen (issue 13). Collected first, so that no start-up garbage is kept for
good. Under gunicorn each worker imports this module and freezes its own heap (with
`--preload`, the parent freezes before forking, which also keeps the shared pages
shared).
"""

import gc

from athlete_sched import create_app

app = create_app()
gc.collect()
gc.freeze()
