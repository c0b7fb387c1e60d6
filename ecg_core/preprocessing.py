"""Filtering, resampling and lead selection: one function per step, numpy in, numpy out.

>>> import numpy as np
>>> fs = 360.0
>>> raw = np.sin(2 * np.pi * 1.2 * np.arange(3600) / fs)
>>> to_canonical(raw, fs).shape
(1280,)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction

import numpy as np
from scipy import signal as sps

from ecg_core.errors import ECGInputError

#: The rate at which beats are cut and classified.
#: 128 Hz is the lowest rate the model must serve (MIT-BIH SVDB, many Holters), so every
#: supported input (128, 250, 257, 360, 500 Hz ...) is *down*-sampled or kept, never
#: up-sampled into frequencies the model never saw: train (360 Hz) and deployment data then
#: share one band. After the 0.5-40 Hz band-pass below, Nyquist at 64 Hz loses nothing,
#: a QRS (80-120 ms) still spans 10-15 samples, and the model's cost is a third of 360 Hz.
CANONICAL_FS: float = 128.0

#: Supported input sampling rates (Hz). Outside this the data is almost surely mislabelled.
MIN_FS: float = 50.0
MAX_FS: float = 10_000.0

BANDPASS_HZ: tuple[float, float] = (0.5, 40.0)


def validate_fs(fs: float) -> float:
    """Return ``fs`` as float, or raise ECGInputError naming the bad value."""
    try:
        fs_value = float(fs)
    except (TypeError, ValueError):
        raise ECGInputError(f"Sampling rate {fs!r} is not a number.") from None
    if not np.isfinite(fs_value) or not (MIN_FS <= fs_value <= MAX_FS):
        raise ECGInputError(
            f"Sampling rate {fs_value:g} Hz is outside the supported range "
            f"{MIN_FS:g}-{MAX_FS:g} Hz. Check the header or the rate you entered."
        )
    return fs_value


#: Signals longer than an hour (and two margins) are filtered and resampled an hour at a
#: time by :func:`in_pieces`: a filter holds several copies of what it filters, and those of
#: a 24-hour lead are GBs.
PIECE_S: float = 3600.0
#: Each piece is filtered with this much of its neighbours on both sides, cut off again:
#: the filters' start-up transients (0.5 Hz high-pass, 50/60 Hz notches, the resampling
#: FIR) die out within a few seconds, so the samples kept are those of one pass.
PIECE_MARGIN_S: float = 30.0


def resample_ratio(fs_in: float, fs_out: float) -> Fraction:
    """fs_out / fs_in as a fraction with denominator <= 1000, e.g. 360 -> 128 Hz is 16/45
    and 257 -> 128 Hz is 128/257."""
    return Fraction(fs_out / fs_in).limit_denominator(1000)


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along axis 0 (anti-aliased, linear in length) by
    :func:`resample_ratio`."""
    x = np.asarray(signal, dtype=np.float64)
    if fs_in == fs_out:
        return x.copy()
    ratio = resample_ratio(fs_in, fs_out)
    return sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=0)


def in_pieces(
    transform: Callable[[np.ndarray], np.ndarray],
    signal: np.ndarray,
    fs_in: float,
    fs_out: float | None = None,
    piece_s: float | None = None,
    margin_s: float | None = None,
) -> np.ndarray:
    """``transform(signal)`` computed :data:`PIECE_S` at a time, for long signals.

    ``transform`` maps a stretch of signal at ``fs_in`` to the same stretch at ``fs_out``
    (default ``fs_in``): a filter, or filters then :func:`resample`. Each piece (``piece_s``,
    default :data:`PIECE_S`) is transformed with ``margin_s`` (default
    :data:`PIECE_MARGIN_S`) of its neighbours, which are then cut off; pieces start at
    multiples of the resampling ratio's denominator, so every output sample lies where one
    pass puts it. The result equals one pass up to rounding; signals up to one piece plus
    two margins take one pass.

    >>> x = np.random.default_rng(0).standard_normal(5000)
    >>> low_pass = lambda piece: bandpass(piece, 100.0, 0.5, 20.0)
    >>> bool(np.allclose(in_pieces(low_pass, x, 100.0, piece_s=10.0), low_pass(x), atol=1e-9))
    True
    """
    x = np.asarray(signal, dtype=np.float64)
    piece_s = PIECE_S if piece_s is None else piece_s
    margin_s = PIECE_MARGIN_S if margin_s is None else margin_s
    ratio = resample_ratio(fs_in, fs_in if fs_out is None else fs_out)
    up, down = ratio.numerator, ratio.denominator
    piece = max(1, round(piece_s * fs_in / down)) * down
    margin = max(1, math.ceil(margin_s * fs_in / down)) * down
    n = x.shape[0]
    if n <= piece + 2 * margin:
        return transform(x)
    out = None  # written piece by piece: a list of pieces joined at the end would double it
    for start in range(0, n, piece):
        low, high = max(0, start - margin), min(n, start + piece + margin)
        y = transform(np.ascontiguousarray(x[low:high]))  # a column of a record is strided
        if out is None:
            out = np.empty((-(-n * up // down), *y.shape[1:]), dtype=y.dtype)
        first, out_start = (start - low) * up // down, start * up // down
        count = min(piece * up // down, out.shape[0] - out_start)
        out[out_start : out_start + count] = y[first : first + count]
    return out


def resample_positions(samples: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Map sample indices between rates (rounded to the nearest sample)."""
    return np.round(np.asarray(samples, dtype=np.float64) * (fs_out / fs_in)).astype(np.int64)


def bandpass(
    signal: np.ndarray,
    fs: float,
    low_hz: float = BANDPASS_HZ[0],
    high_hz: float = BANDPASS_HZ[1],
    causal: bool = False,
) -> np.ndarray:
    """Butterworth band-pass along axis 0: removes baseline wander and muscle noise.

    ``causal=True`` filters forward only (real-time mode: no sample depends on the future);
    otherwise forward-backward (zero phase, for diagnostic analysis).
    """
    high_hz = min(high_hz, 0.45 * fs)
    sos = sps.butter(2, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")
    x = np.asarray(signal, dtype=np.float64)
    if causal:
        return sps.sosfilt(sos, x, axis=0)
    # scipy's default padding (a dozen samples) leaves a 1-2 s transient of the 0.5 Hz
    # high-pass at each end; padding with 2 s of odd extension settles it.
    padlen = min(x.shape[0] - 1, int(2 * fs))
    return sps.sosfiltfilt(sos, x, axis=0, padlen=padlen)


def notch_powerline(signal: np.ndarray, fs: float, causal: bool = False) -> np.ndarray:
    """Remove 50 and 60 Hz mains interference (each only where it lies below Nyquist)."""
    x = np.asarray(signal, dtype=np.float64)
    for mains_hz in (50.0, 60.0):
        if mains_hz < 0.45 * fs:
            b, a = sps.iirnotch(mains_hz, Q=30.0, fs=fs)
            x = sps.lfilter(b, a, x, axis=0) if causal else sps.filtfilt(b, a, x, axis=0)
    return x


def clean_ecg(signal: np.ndarray, fs: float, causal: bool = False) -> np.ndarray:
    """Notch the mains, then band-pass 0.5-40 Hz. Same shape and rate as the input."""
    return bandpass(notch_powerline(signal, fs, causal=causal), fs, causal=causal)


def to_canonical(signal: np.ndarray, fs: float, causal: bool = False) -> np.ndarray:
    """Clean at the input rate, then resample to :data:`CANONICAL_FS` (an hour at a time,
    :func:`in_pieces`)."""

    def clean_and_resample(piece: np.ndarray) -> np.ndarray:
        return resample(clean_ecg(piece, fs, causal=causal), fs, CANONICAL_FS)

    return in_pieces(clean_and_resample, signal, fs, CANONICAL_FS)


#: Lead names preferred for single-lead analysis, best first (matched case-insensitively,
#: ignoring spaces, dashes and underscores).
PREFERRED_LEADS: tuple[str, ...] = ("MLII", "II", "ML2", "LEADII", "ECG1", "ECG", "V5", "V1")

#: First words of channel names that are not ECG leads: pressures, respiration, oximetry,
#: EEG/EOG/EMG, temperature and airflow, as PhysioNet's polysomnography and ICU records name
#: them ("BP", "ABP", "Resp (nasal)", "EEG (C4-A1)", "PLETH", "SpO2"). Such a channel is
#: never chosen to be analysed or classified unless it is asked for by name.
NOT_ECG_CHANNELS: frozenset[str] = frozenset(
    {
        "BP", "ABP", "ART", "PAP", "CVP", "ICP", "RESP", "PLETH", "PPG", "SPO2", "SO2",
        "SAO2", "PULSE", "EEG", "EOG", "EMG", "CO2", "ETCO2", "TEMP", "FLOW", "AIRFLOW",
    }
)  # fmt: skip


def _normalise_lead_name(name: str) -> str:
    return "".join(ch for ch in str(name).upper() if ch.isalnum())


def is_ecg_channel(name: str) -> bool:
    """False for a channel named as something other than an ECG lead
    (:data:`NOT_ECG_CHANNELS`: its first word, with or without a trailing number: "EEG2");
    any other name, an unnamed channel included, may be an ECG.

    >>> [is_ecg_channel(n) for n in ["MLII", "V1", "ECG lead I", "BP", "Resp (nasal)", "EEG2"]]
    [True, True, True, False, False, False]
    """
    words = re.findall(r"[A-Z0-9]+", str(name).upper())
    if not words:
        return True
    first = words[0]
    return first not in NOT_ECG_CHANNELS and first.rstrip("0123456789") not in NOT_ECG_CHANNELS


def select_lead(lead_names: list[str], lead: str | int | None = None) -> int:
    """Index of the lead to analyse.

    ``lead`` may be a name (``"MLII"``), an index, or None for the first of
    :data:`PREFERRED_LEADS` present, else the first channel that may be an ECG
    (:func:`is_ecg_channel`). Chosen by *name*: MIT-BIH record 114 stores MLII second.
    A record whose channels are all named as something else (blood pressure, respiration)
    raises ECGInputError, unless ``lead`` names one.
    """
    if isinstance(lead, (int, np.integer)) and not isinstance(lead, bool):
        if not 0 <= int(lead) < len(lead_names):
            raise ECGInputError(
                f"Lead index {lead} does not exist; the record has {len(lead_names)} lead(s)."
            )
        return int(lead)
    normalised = [_normalise_lead_name(n) for n in lead_names]
    if lead is not None and str(lead).strip():
        wanted = _normalise_lead_name(str(lead))
        if wanted in normalised:
            return normalised.index(wanted)
        raise ECGInputError(
            f"Lead {lead!r} is not in this record; available leads: {', '.join(lead_names)}."
        )
    for preferred in PREFERRED_LEADS:
        if preferred in normalised:
            return normalised.index(preferred)
    for i, name in enumerate(lead_names):
        if is_ecg_channel(name):
            return i
    raise ECGInputError(
        f"No ECG lead found: this record's channels are {', '.join(map(str, lead_names))}. "
        "If one of them is an ECG, choose it as the lead to analyse."
    )


#: The second lead classified together with the analysed one, best first: MIT-BIH's second
#: leads (V1 in most records, else V2, V5 or V4), the ones the models were trained on.
COMPANION_LEADS: tuple[str, ...] = ("V1", "V2", "V5", "V4", "MLII", "II")


def companion_lead(lead_names: list[str], analysed: int) -> int | None:
    """Index of the lead whose beat probabilities are averaged with the analysed lead's
    (:func:`ecg_core.leads.classify_leads`): the first of :data:`COMPANION_LEADS` present,
    else the first other channel that may be an ECG (:func:`is_ecg_channel`); None for a
    single-lead record or one whose other channels are not ECGs (a blood pressure).

    Why two leads: an ectopic beat that looks normal in one lead rarely does in both. On the
    SVDB development subset the mean of the two leads' probabilities raised end-to-end V F1
    from 76.0 to 80.6 (diagnostic) and 76.4 to 79.4 (real-time) (README, "Two leads").
    """
    others = [i for i in range(len(lead_names)) if i != analysed and is_ecg_channel(lead_names[i])]
    if not others:
        return None
    normalised = [_normalise_lead_name(n) for n in lead_names]
    for name in COMPANION_LEADS:
        for i in others:
            if normalised[i] == name:
                return i
    return others[0]
