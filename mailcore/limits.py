"""How many bytes a server may send us, per step: the byte side of every read, as the deadline is its time side.

A deadline alone does not bound memory: on a fast link a hostile server sends gigabytes within it
(an endless EHLO or CAPA, endless IMAP untagged lines, an IMAP literal announced as
``{99999999999999}``, which the standard library would allocate at once). So every byte read is
counted against the budget of the current step, and a step that would go past it ends, before the
bytes are read where the size is announced. The limits are far beyond what the step needs.
"""

# A whole check, and in a session the login and every step but the two below (a message sent is
# answered in a few lines). Real greetings, capability lists and login replies take a few kilobytes.
DIALOGUE_BYTES = 1 << 20  # 1 MiB
# The list of a mailbox's messages (UID SEARCH, UIDL): some 10-80 bytes a message, so 200,000 or more.
LISTING_BYTES = 16 << 20  # 16 MiB
# One message fetched: above what providers accept (Gmail 25-50 MB, Microsoft 365 up to 150 MB encoded).
MESSAGE_BYTES = 200 << 20  # 200 MiB


class TooMuchData(Exception):
    """The server sent (or announced) more than the current step allows."""

    def __init__(self, limit):
        super().__init__(f"the server sent more than {limit} bytes in one step")
        self.limit = limit


class ByteBudget:
    def __init__(self, limit=DIALOGUE_BYTES):
        self.reset(limit)

    def reset(self, limit):
        self.limit = limit
        self.used = 0

    def remaining(self):
        return max(0, self.limit - self.used)

    def spend(self, count):
        self.used += count
        if self.used > self.limit:
            raise TooMuchData(self.limit)


class BoundedReader:
    """A socket's file object whose reads count against ``budget``; the protocol clients read only
    through ``readline`` and ``read``."""

    def __init__(self, file, budget):
        self.file = file
        self.budget = budget

    def readline(self, size=-1):
        allowed = self.budget.remaining() + 1  # one byte past the budget shows the overrun
        line = self.file.readline(allowed if size is None or size < 0 else min(size, allowed))
        self.budget.spend(len(line))
        return line

    def read(self, size=-1):  # pylint: disable=method-required-super
        if size is None or size < 0 or size > self.budget.remaining():
            raise TooMuchData(self.budget.limit)  # refused before a byte of it is read or allocated
        data = self.file.read(size)
        self.budget.spend(len(data))
        return data

    def close(self):
        self.file.close()
