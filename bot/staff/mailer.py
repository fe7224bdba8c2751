"""Sends a notice to STAFF_EMAIL through the clinic's SMTP server (smtplib, a blocking client:
it runs in the staff worker's thread, never on an event loop that answers patients).

A failure of the server or of the connection (refused, timed out, TLS or login refused) is
`ChannelDown`: nothing else can be mailed either, so the rest of the pass waits with it; a refusal
of this one message is a plain `DeliveryFailed`. Errors are described by class and SMTP code only:
a server's reply text can quote addresses."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Optional

from bot.notices.config import SmtpSettings
from bot.staff.delivery_errors import ChannelDown, DeliveryFailed
from bot.staff.messages import NoticeText

# The message itself was refused; any other SMTP error says the server or our access to it failed.
_MESSAGE_ERRORS = (smtplib.SMTPDataError,)


class Mailer:
    """One SMTP connection per notice: notices are rare, and a fresh connection needs no
    keep-alive handling across the minutes or hours between them."""

    channel = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._tls = ssl.create_default_context(cafile=settings.ca_file)

    def message(self, text: NoticeText) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = text.subject
        message["From"] = self.settings.sender
        message["To"] = ", ".join(self.settings.recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2] or None)
        message.set_content(text.email_body)
        return message

    def deliver(self, text: NoticeText) -> None:
        """Send one notice; raises ChannelDown or DeliveryFailed."""
        try:
            with self._connect() as client:
                client.send_message(self.message(text))
        except _MESSAGE_ERRORS as error:
            raise DeliveryFailed(_describe(error)) from None
        except (smtplib.SMTPException, OSError) as error:  # ssl.SSLError is an OSError
            raise ChannelDown(_describe(error)) from None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        client: smtplib.SMTP
        if settings.implicit_tls:
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=self._tls)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            client.ehlo()
            if not settings.implicit_tls:
                client.starttls(context=self._tls)  # SMTPNotSupportedError if the server offers no STARTTLS
                client.ehlo()
            if settings.username:
                client.login(settings.username, settings.password)
        except BaseException:
            client.close()
            raise
        return client


def _describe(error: BaseException) -> str:
    code: Optional[int] = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({reply[0] for reply in error.recipients.values()})
        return f"SMTPRecipientsRefused {codes}"
    return f"{type(error).__name__} {code}" if code else type(error).__name__
