"""The one exception type that ecg_core raises for input a person can fix."""


class ECGInputError(ValueError):
    """Input that cannot be analysed, with a message meant for the person who supplied it.

    The app shows ``str(error)`` as is, so the message names the bad value and says what
    would be accepted instead (scikit-learn style), e.g.
    ``"Sampling rate 5 Hz is outside the supported range 50-10000 Hz."``
    """
