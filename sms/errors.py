"""What can go wrong when sending an SMS, split by whose problem it is."""


class SmsError(Exception):
    """An SMS was not accepted for delivery; `reason` is an English sentence for the log."""

    def __init__(self, reason: str, code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class SmsRejected(SmsError):
    """The provider refused this recipient (invalid, unreachable, unsubscribed): answer 422.

    `code` is the provider's error code (Twilio 21211 and friends).
    """


class SmsUnavailable(SmsError):
    """The provider cannot take messages right now or we are misconfigured: answer 503.

    `code` is the provider's error code when it gave one (20003 for bad credentials), else None.
    `maybe_sent`: the request reached the provider and its answer was lost (a read timeout, an
    unreadable answer): the message may well be on its way, so a retry may text twice.
    """

    def __init__(self, reason: str, code: int | None = None, *, maybe_sent: bool = False):
        super().__init__(reason, code)
        self.maybe_sent = maybe_sent
