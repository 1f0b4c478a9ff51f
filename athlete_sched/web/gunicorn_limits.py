"""gunicorn settings for athlete_sched's request limits: `gunicorn -c
python:athlete_sched.web.gunicorn_limits wsgi:app` (or copy these lines into your own
gunicorn config file).

The app answers an oversized request line (414) or header field (431) itself, as JSON
under /api/ (web/request_limits.py, REQUEST_LINE_LIMIT 4094 / REQUEST_FIELD_LIMIT 8190 /
REQUEST_FIELDS_LIMIT 100). gunicorn's own limits must sit above the app's, or gunicorn
answers first with an HTML page: its defaults (4094, 8190, 100) equal the app's, so
they are raised here. 8190 is the largest request line gunicorn accepts.
"""

limit_request_line = 8190
limit_request_field_size = 16380
limit_request_fields = 200
