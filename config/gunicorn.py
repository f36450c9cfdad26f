"""gunicorn behind nginx: `gunicorn -c config/gunicorn.py config.wsgi:application` (compose's web, the tests).

nginx buffers every request body to disk before it opens the upstream connection, so gunicorn reads an
upload at loopback speed however slowly the client sent it; what takes time here is upload_create
afterwards (ffprobe, then copying the file into storage: seconds for 2 GiB). Hence threads: gthread
workers keep answering other requests while one thread copies, and their `timeout` is a heartbeat of
the worker process (a hung or starved process is restarted), not a limit on one request, so a slow
upload_create is not killed as the 30 s default of sync workers killed slow uploads. nginx's
proxy_read_timeout bounds how long one request may take.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
# Each thread keeps its own database connection (CONN_MAX_AGE): workers x threads connections per container.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# SIGTERM: requests in progress get this long to finish (compose's stop_grace_period is longer).
graceful_timeout = 30
# Seconds an idle keep-alive connection from nginx stays open.
keepalive = 5
# Only these peers may set the scheme through X-Forwarded-Proto for gunicorn (Django decides by
# DJANGO_BEHIND_PROXY); compose sets "*": gunicorn's port is reachable only on the compose network.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
# The client address nginx saw, the scheme it passed on, and the time gunicorn spent (%(L)s seconds).
access_log_format = '%(h)s xff=%({x-forwarded-for}i)s proto=%({x-forwarded-proto}i)s "%(r)s" %(s)s %(B)s %(L)ss'
