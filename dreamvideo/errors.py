"""The project's one exception type for mistakes a user can fix."""


class DreamError(ValueError):
    """A problem with the user's input or settings.

    The message is one line that names the file or value at fault and says what to do.
    The CLI prints it on stderr and exits non-zero, without a traceback.
    """
