"""What a look-up job of a discovery run hands back: its value or its exception, never raised in the
pool's thread, so the run's own thread (the only one that waits) decides what either means."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Outcome:
    value: object = None
    error: BaseException | None = None

    def get(self):
        if self.error is not None:
            raise self.error
        return self.value


def capture(call):
    """Run ``call`` and return its Outcome; an exception is kept, not raised."""
    try:
        return Outcome(call())
    except Exception as error:  # noqa: BLE001 - handed to the run's thread, which judges it
        return Outcome(error=error)
