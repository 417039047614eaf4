import logging

from erpintegr.redaction import redact


class RedactSecretsFilter(logging.Filter):
    """Masks secrets in the final message (arguments included) before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text is formatted later by the handler; render and clean it now.
            formatter = logging.Formatter()
            cleaned = cleaned + "\n" + redact(formatter.formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        record.msg = cleaned
        record.args = None
        return True
