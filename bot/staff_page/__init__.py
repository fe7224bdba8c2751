"""The staff web page (issue 15, item 2): where the clinic's staff see consultation requests, set
their status with a note, read the conversation that led to each, export them as CSV and delete
one person's data, every action written to an audit log.

Its own process and port (STAFF_PORT, default 5006) on 127.0.0.1 unless STAFF_INTERFACE says
otherwise: `make staff`, or `python -m bot.staff_page serve`. Accounts are made on the server:
`python -m bot.staff_page add-user NAME`.

- `app` (aiohttp: middlewares, headers, helpers) and `views` (the pages), Jinja2 templates in
  `templates/` with autoescaping on for all of them, a stylesheet in `static/` and no scripts;
- `auth` (accounts, argon2id), `sessions` (server-side sessions, CSRF tokens), `ratelimit`;
- `store` (statuses and notes keyed by reference; deletion through `bot.staff.erasure`),
  `transcript` (Rasa's events table), `export` (CSV), `audit` (the audit log), `models` (tables).

Nothing here creates an engine or reads a setting at import time."""
