"""gunicorn settings for `make run`. Override with the environment (HOST, PORT, WEB_CONCURRENCY)."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 30
accesslog = "-"
# Path and status only: no query string (a search by name or MRN would land in the log), no referer.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
# gunicorn 25.1+ opens a control socket for `gunicornc` at one path per user ($XDG_RUNTIME_DIR or
# ~/.gunicorn/gunicorn.ctl), so every instance a user runs takes it from the one before and removes
# it on stopping. The app is run by its service manager (signals: HUP reloads, TERM stops) and uses
# no control socket: none is opened.
control_socket_disable = True
