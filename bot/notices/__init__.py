"""What the clinic is told, stored before it is sent: the outbox table (`outbox.py`), written in the
same transaction as the consultation request or red-flag report it announces, and the settings of
the clinic's side (`config.py`: SMTP, the Slack staff channel, the staff page's address, retention).
Below both `bot.consultations` (which writes notices) and `bot.staff` (which sends them)."""
