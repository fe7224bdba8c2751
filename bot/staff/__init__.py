"""The clinic's side of PoreGuide (issue 15): staff are told of new consultation requests and of
red-flag reports, and personal data is kept only as long as configured.

- `outbox`: the staff_outbox table. A notice is written in the same transaction as what it is
  about, so it cannot be lost when a mail server or Slack is down; it is sent afterwards.
- `delivery` (one pass over the due notices) with `mailer` (SMTP) and `slack_notice` (Slack),
  run by `worker`, a background thread of the action server's primary process.
- `retention` (the daily purge, also `make purge`) and `erasure` (one person's data, everywhere).

Every module reads its settings from the environment when used (`config`) and creates no engine
at import time; log lines carry ids, counts and error classes, never names, contacts or texts."""
