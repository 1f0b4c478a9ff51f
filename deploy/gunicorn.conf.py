"""gunicorn settings for athlete_sched behind nginx (deploy/nginx.conf): `gunicorn -c
deploy/gunicorn.conf.py wsgi:app`. Read by gunicorn itself (a Python file), every value
overridable from the environment, so one file serves the local `deploy/run` and a host's
service unit alike.

Why threaded workers behind a buffering proxy: a sync worker serves one connection from its
first byte to its last, so a few clients that send a request slowly (a header line every
few seconds) hold every worker and nobody else is answered (issue 14). nginx reads each
request whole before it passes it on and takes each answer whole from gunicorn before it
trickles it out to a slow reader, so a worker thread only ever sees complete requests
arriving at loopback speed; `gthread` keeps idle keep-alive connections from nginx in a
selector, not in a thread. Never expose this server to the network directly: it binds to
loopback or a unix socket only.
"""

import json
import os
from pathlib import Path

_cores = os.cpu_count() or 1

# Where nginx reaches the app: a unix socket (`unix:/run/athlete_sched/gunicorn.sock`) or
# a loopback address. Never 0.0.0.0: nginx is the only client.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
umask = 0o007  # the socket: owner and group (nginx's user in the app's group), nobody else
if os.environ.get("GUNICORN_UMASK"):
    umask = int(os.environ["GUNICORN_UMASK"], 8)

# Threaded workers: processes for the cores, threads for the waits (database, mail).
# Each thread may hold one database connection: keep threads within the pool the app keeps
# open per process (FLASK_DATABASE_POOL_SIZE, 10; SQLAlchemy may open 10 more for a burst)
# and workers x (pool + overflow) over all hosts within PostgreSQL's max_connections.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", str(max(2, _cores))))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_connections = 1000  # connections a gthread worker keeps open (nginx keeps a few)

# Timeouts. `timeout`: a worker whose main loop is silent this long is killed and replaced
# (a thread busy on a long request does not silence it). `keepalive`: an idle connection
# from nginx is closed after this long; nginx's upstream keepalive_timeout (60 s) is shorter,
# so nginx never sends on a connection gunicorn is just closing.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))

# Request limits. nginx refuses first (large_client_header_buffers 4 8k: a request line or
# one header over 8 KiB, 32 KiB of headers in all) with its own JSON answer under /api/;
# these are the same bounds, for a request that reaches gunicorn some other way.
limit_request_line = 8190  # gunicorn's maximum; nginx's bound is the same 8 KiB line
limit_request_field_size = 16380  # above the app's own 431 bound (FLASK_REQUEST_FIELD_LIMIT)
limit_request_fields = 1000  # 32 KiB of headers at nginx hold at most a few thousand

# The proxy: gunicorn believes X-Forwarded-Proto (https behind TLS termination) only from
# these addresses (a unix-socket peer is always trusted). The client's address in
# X-Forwarded-For is for the app to read through its own trusted-proxy setting
# (TRUSTED_PROXIES, README "Deploying").
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# Logs. The app writes one JSON access line per request itself (athlete_sched/web/
# access_log.py: nginx's request id, the client as TRUSTED_PROXIES allows, the user), so
# gunicorn's own access log is off: a second line per request. GUNICORN_ACCESS_LOG turns it
# on as well (a file, "-" stdout; the client from X-Forwarded-For, the request id, the time
# in ms). gunicorn's own lines (start, workers, timeouts) are JSON too, to stderr
# (gunicorn-logging.json; a logging config would turn gunicorn's access log on, so the
# file silences it, and it is set up here again only when asked for).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = ('%({x-forwarded-for}i)s "%(r)s" %(s)s %(B)s %(M)sms '
                     'id=%({x-request-id}i)s "%(a)s"')
logconfig_dict = json.loads(Path(__file__).with_name("gunicorn-logging.json").read_text())
logconfig_dict["loggers"]["gunicorn.error"]["level"] = loglevel.upper()
if accesslog:
    logconfig_dict["formatters"]["access"] = {"format": "%(message)s"}
    logconfig_dict["handlers"]["access"] = (
        {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"}
        if accesslog == "-" else
        {"class": "logging.FileHandler", "formatter": "access", "filename": accesslog})
    logconfig_dict["loggers"]["gunicorn.access"] = {"level": "INFO", "handlers": ["access"],
                                                    "propagate": False}

# No control socket (gunicorn >= 25.1 opens one at a fixed path per user, which two servers
# on one host would share; older versions ignore the name).
control_socket_disable = True
proc_name = "athlete_sched"

# Memory (issue 14): glibc's malloc, as the workers inherit it from this process. A big
# request's large buffers (a 5 MB calendar upload, its text) are allocated from the heap
# once glibc has raised its mmap threshold past their size (it does after freeing one such
# buffer), and freed heap memory stays in the worker; each thread also gets its own heap
# (up to 8 per core). A fixed threshold (128 KiB, glibc's starting value) keeps large
# buffers in mappings that are returned when freed, and two heaps are plenty for threads
# that mostly wait. MALLOC_MMAP_THRESHOLD_ / MALLOC_ARENA_MAX in the environment win (glibc
# reads them itself); elsewhere than glibc nothing is set. bench/ical_import.py measures a
# worker with these settings: a 5 MB import peaks ~25 MiB above idle and keeps < 10 MiB.
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # mallopt parameters (malloc.h)


def _tune_malloc() -> None:
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(_M_ARENA_MAX, 2)


_tune_malloc()
