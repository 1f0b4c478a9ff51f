"""The database pool keeps DATABASE_POOL_SIZE connections per process (db/engine.py): a
gunicorn worker's threads, serving requests at once, reuse them instead of opening a
connection for each request that finds SQLAlchemy's default 5 in use (on PostgreSQL a new
server process every time). Both backends."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from athlete_sched import create_app
from athlete_sched.extensions import db

THREADS = 8  # deploy/gunicorn.conf.py's threads per worker


def test_eight_threads_at_once_open_no_more_connections_than_there_are_threads(app):
    """Eight threads (a worker's) each hold a connection of the pool at the same time, as
    eight requests in flight do, five times over: each connection is opened once and kept.
    With SQLAlchemy's default pool of 5, the three beyond it are closed when given back
    and opened again every time."""
    with app.app_context():
        engine = db.engine
        assert engine.pool.size() == app.config["DATABASE_POOL_SIZE"] >= THREADS
    opened: list[int] = []
    sa.event.listen(engine, "connect", lambda *_: opened.append(1))
    together = threading.Barrier(THREADS)
    held: list[bool] = []

    def serve() -> None:
        for _ in range(5):
            with engine.connect() as connection:  # checked out (and pinged)
                held.append(not connection.closed)
                together.wait(timeout=30)  # all eight checked out at once
            together.wait(timeout=30)  # all given back

    threads = [threading.Thread(target=serve) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert held == [True] * THREADS * 5
    assert len(opened) <= THREADS


def test_explicit_engine_options_win_and_memory_sqlite_keeps_its_pool(app_config):
    sized = create_app({**app_config, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 3}})
    memory = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    for app, size in ((sized, 3), (memory, None)):
        with app.app_context():
            assert app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_size") == size
            db.engine.dispose()
