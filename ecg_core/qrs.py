"""QRS (R-peak) detection: our own Pan-Tompkins / Hamilton-style detector.

>>> import numpy as np
>>> fs = 360.0
>>> t = np.arange(int(10 * fs)) / fs
>>> ecg = np.exp(-(((t[:, None] - np.arange(0.5, 10, 0.8)) / 0.012) ** 2)).sum(axis=1)
>>> r_peaks = detect_qrs(ecg, fs)
>>> len(r_peaks), int(r_peaks[0])
(12, 180)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy import signal as sps

from ecg_core.errors import ECGInputError
from ecg_core.flutter import detect_vf_spans, in_vf_spans
from ecg_core.preprocessing import in_pieces, resample, validate_fs

#: Rate of the internal feature signals. Fixed so that filters and windows are designed
#: once; 250 Hz keeps QRS slopes (content up to ~40 Hz) for every input from 100 to
#: 1000 Hz, and makes the envelope 3x cheaper than at 1000 Hz.
DETECTION_FS: float = 250.0

#: QRS energy band (Hz): P and T waves and baseline wander lie below, muscle noise above.
QRS_BAND_HZ: tuple[float, float] = (5.0, 20.0)
#: Moving-window integration length: about one wide QRS.
INTEGRATION_S: float = 0.12
#: No second beat within this time (physiological refractory period).
REFRACTORY_S: float = 0.2
#: A peak this soon after a beat may be its T wave: accept only if its slope is steep.
T_WAVE_WINDOW_S: float = 0.36
T_WAVE_SLOPE_RATIO: float = 0.5
T_WAVE_HEIGHT_RATIO: float = 0.5
#: Threshold = noise level + THRESHOLD_FRACTION * (signal level - noise level).
THRESHOLD_FRACTION: float = 0.3
#: Two envelope peaks belong to one complex unless the envelope fell below this fraction of
#: the smaller one between them.
VALLEY_RATIO: float = 0.55
VALLEY_WINDOW_S: float = 0.6
#: A peak this many times higher than the beat just before it (within the T-wave window)
#: replaces that beat, which was then a P wave or an artefact.
REPLACE_RATIO: float = 1.6
#: Look back for a missed beat when no beat came within this multiple of the mean RR.
SEARCHBACK_RR_RATIO: float = 1.66
SEARCHBACK_THRESHOLD_RATIO: float = 0.5
#: Learning period that initialises the signal and noise levels.
LEARNING_S: float = 2.0
#: Median envelope at the beats over its median everywhere, below which the "beats" are
#: noise (see :func:`_plausible_qrs`).
MIN_BEAT_TO_BACKGROUND: float = 2.2
MIN_BEAT_TO_SIZE: float = 0.004
#: Half-width of the window (input rate) in which a detection is moved to the R extremum.
REFINE_S: float = 0.06
#: Band of the input-rate signal in which the R extremum is sought.
REFINE_BAND_HZ: tuple[float, float] = (1.0, 40.0)


def _bandpass(x: np.ndarray, fs: float, band: tuple[float, float], order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth band-pass, an hour at a time on long signals (:func:`in_pieces`)."""
    high = min(band[1], 0.45 * fs)
    sos = sps.butter(order, [band[0], high], btype="bandpass", fs=fs, output="sos")
    return in_pieces(lambda piece: sps.sosfiltfilt(sos, piece), x, fs)


def qrs_envelope(signal: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Band-pass at :data:`DETECTION_FS`, then (RMS slope over a QRS width, |slope|).

    Both outputs are at :data:`DETECTION_FS` and zero-phase (peaks sit on the QRS). The RMS
    (not the squared slope of Pan-Tompkins) keeps amplitude ratios linear, so small aberrant
    beats are not crushed below the threshold by their larger neighbours.
    """
    slope = _slope_at_detection_rate(resample(signal, fs, DETECTION_FS))
    return _rms_envelope(slope), np.abs(slope, out=slope)


def _slope_at_detection_rate(x: np.ndarray) -> np.ndarray:
    """Slope of the QRS band of ``x`` (at :data:`DETECTION_FS`), per sample: ``np.gradient``'s
    values, without its full-length temporary array."""
    filtered = _bandpass(x, DETECTION_FS, QRS_BAND_HZ)
    slope = np.empty_like(filtered)
    np.subtract(filtered[2:], filtered[:-2], out=slope[1:-1])  # central differences
    slope[1:-1] /= 2.0
    slope[0], slope[-1] = filtered[1] - filtered[0], filtered[-1] - filtered[-2]
    return slope


def _rms_envelope(slope: np.ndarray) -> np.ndarray:
    """RMS of ``slope`` over a moving window of :data:`INTEGRATION_S`."""
    width = max(1, int(round(INTEGRATION_S * DETECTION_FS)))
    envelope = ndimage.uniform_filter1d(np.square(slope), width, mode="nearest")
    return np.sqrt(np.maximum(envelope, 0.0, out=envelope), out=envelope)


class _BeatDecider:
    """Pan-Tompkins style adaptive thresholds over candidate envelope peaks.

    Walks the candidates once, in time order (a loop over peaks, a few per beat, never over
    samples). State: running signal and noise peak levels, the mean RR interval, the last
    accepted beat. Plain Python floats and lists inside the loop: numpy scalars there cost
    more than all the filtering.
    """

    def __init__(self, envelope: np.ndarray, candidates: np.ndarray, slopes: np.ndarray, fs: float):
        self.envelope = envelope
        self.candidates = candidates
        heights = envelope[candidates]
        self.pos: list[int] = candidates.tolist()
        self.height: list[float] = heights.tolist()
        self.slope: list[float] = slopes.tolist()
        self.refractory = int(REFRACTORY_S * fs)
        self.t_window = int(T_WAVE_WINDOW_S * fs)
        self.valley_window = int(VALLEY_WINDOW_S * fs)
        learning = candidates < LEARNING_S * fs
        first = heights[learning] if learning.any() else heights[:5]
        self.signal_level = 0.5 * float(first.max())
        self.noise_level = 0.5 * float(np.median(first))
        self.rr_mean: float | None = None
        self.beats: list[int] = []  # indices into candidates
        self.last = -(10**9)  # position of the last beat

    def threshold(self) -> float:
        return self.noise_level + THRESHOLD_FRACTION * (self.signal_level - self.noise_level)

    def _is_new_complex(self, k: int) -> bool:
        """False when candidate k is the previous beat's own tail or its T wave."""
        if not self.beats:
            return True
        gap = self.pos[k] - self.last
        if gap < self.refractory:
            return False
        j = self.beats[-1]
        if gap < self.valley_window:
            # Wide QRS or a PVC with its T wave: the envelope never fell between the two
            # humps -> same complex.
            valley = float(self.envelope[self.last : self.pos[k]].min())
            if valley > VALLEY_RATIO * min(self.height[k], self.height[j]):
                return False
        if gap >= self.t_window:
            return True
        # T wave: markedly slower slope or much smaller than the QRS before it.
        return (
            self.slope[k] >= T_WAVE_SLOPE_RATIO * self.slope[j]
            and self.height[k] >= T_WAVE_HEIGHT_RATIO * self.height[j]
        )

    def _accept(self, k: int, weight: float) -> None:
        if self.beats:
            rr = float(self.pos[k] - self.last)
            self.rr_mean = rr if self.rr_mean is None else 0.875 * self.rr_mean + 0.125 * rr
        self.beats.append(k)
        self.last = self.pos[k]
        self.signal_level = weight * self.height[k] + (1 - weight) * self.signal_level

    def _search_back(self, k: int) -> None:
        """Long gap before candidate k: accept the best earlier candidate above half the
        threshold that is a complex of its own (a small beat the threshold missed)."""
        lo = int(np.searchsorted(self.candidates, self.last + self.refractory, side="left"))
        hi = int(np.searchsorted(self.candidates, self.pos[k] - self.refractory, side="right"))
        floor = SEARCHBACK_THRESHOLD_RATIO * self.threshold()
        for i in sorted(range(lo, hi), key=lambda i: -self.height[i]):
            if self.height[i] <= floor:
                return
            if self._is_new_complex(i):
                self._accept(i, weight=0.25)
                return

    def run(self) -> np.ndarray:
        searchback_ratio = SEARCHBACK_RR_RATIO
        for k, (position, height) in enumerate(zip(self.pos, self.height, strict=True)):
            if self.rr_mean is not None and position - self.last > searchback_ratio * self.rr_mean:
                self._search_back(k)
            if (
                self.beats
                and position - self.last < self.t_window
                and height > REPLACE_RATIO * self.height[self.beats[-1]]
            ):
                # The last "beat" was a P wave or artefact just before a far larger complex.
                self.beats.pop()
                self.last = self.pos[self.beats[-1]] if self.beats else -(10**9)
            if height <= self.threshold():
                self.noise_level = 0.125 * height + 0.875 * self.noise_level
            elif self._is_new_complex(k):
                self._accept(k, weight=0.125)
            elif position - self.last >= self.refractory:
                self.noise_level = 0.125 * height + 0.875 * self.noise_level  # a T wave
        return self.candidates[np.asarray(self.beats, dtype=np.int64)]


def _plausible_qrs(at_beats: float, background: float, wave: np.ndarray) -> bool:
    """Whether the detections stand out as QRS complexes do: ``at_beats`` and ``background``
    are the median slope envelope at the beats and everywhere, ``wave`` the band-passed input.

    1. Against the background: in an ECG the slope envelope at the beats is many times its
       median level (>= 6.8x on every MIT-BIH record, 3x at -6 dB SNR in the NSTDB); white or
       brown noise and baseline wander give ~1.4-1.6x.
    2. Against the signal's own size: a QRS is the steepest large wave of an ECG (envelope at
       the beats >= 0.03x the 1st-99th percentile range on MIT-BIH, 0.012x at -6 dB); filter
       edge transients on a smooth wave give < 0.001x.
    """
    if at_beats <= MIN_BEAT_TO_BACKGROUND * background:
        return False
    # Every 4th sample is plenty for two percentiles and 4x cheaper.
    low, high = np.percentile(wave[::4], [1, 99])
    size = float(high - low)
    return at_beats > MIN_BEAT_TO_SIZE * size


def refine_peaks(signal: np.ndarray, fs: float, approx_samples: np.ndarray) -> np.ndarray:
    """Move each approximate R position to the largest |deflection| of the band-passed
    input within ±:data:`REFINE_S` (either polarity). Indices at the input rate."""
    filtered = _bandpass(np.asarray(signal, dtype=np.float64), fs, REFINE_BAND_HZ)
    return _refine(filtered, fs, approx_samples)


def _refine(filtered: np.ndarray, fs: float, approx_samples: np.ndarray) -> np.ndarray:
    if approx_samples.size == 0:
        return approx_samples.astype(np.int64)
    half = max(1, int(round(REFINE_S * fs)))
    offsets = np.arange(-half, half + 1)
    windows = np.clip(approx_samples[:, None] + offsets[None, :], 0, filtered.size - 1)
    best = np.argmax(np.abs(filtered[windows]), axis=1)
    refined = np.unique(windows[np.arange(windows.shape[0]), best])
    # An extremum on the first or last sample is a filter edge or a cut-off wave, not an R
    # peak that can be located.
    return refined[(refined > 0) & (refined < filtered.size - 1)].astype(np.int64)


def detect_qrs(signal: np.ndarray, fs: float, drop_vf: bool = True) -> np.ndarray:
    """R-peak sample indices (int64, at the input rate ``fs``) of a single-lead ECG.

    Returns an empty array when the signal holds no beat (flat line, pure noise).
    With ``drop_vf`` (default) detections inside ventricular flutter/fibrillation episodes
    (:func:`ecg_core.flutter.detect_vf_spans`) are dropped: there are no countable beats
    there. :func:`detect_qrs_and_vf` also returns those episodes.
    Raises :class:`ECGInputError` for an unsupported rate or a signal that is not a finite
    1-D array.
    """
    return detect_qrs_and_vf(signal, fs, drop_vf=drop_vf)[0]


def detect_qrs_and_vf(
    signal: np.ndarray, fs: float, drop_vf: bool = True
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(R peaks, VF spans): :func:`detect_qrs` plus the ventricular flutter/fibrillation
    episodes ``[(start, end), ...]`` (samples at ``fs``, end exclusive) found on the way, so
    that a report can show them without analysing the signal twice."""
    fs = validate_fs(fs)
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ECGInputError(f"detect_qrs expects one lead (a 1-D signal), got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ECGInputError(
            "The signal contains NaN or infinite values; fill or cut the gaps first."
        )
    empty = np.zeros(0, dtype=np.int64)
    if x.size < int(0.5 * fs) or np.ptp(x) == 0:
        return empty, []

    # Each array below is 170 MB for a 24-hour record at 250 Hz: each is dropped (del) as soon
    # as it has served, so that no more than three are held at once.
    x_det = in_pieces(lambda piece: resample(piece, fs, DETECTION_FS), x, fs, DETECTION_FS)
    # On the 250 Hz copy (cheaper to bring down to the VF rate than the input).
    scale = fs / DETECTION_FS
    vf_spans = [
        (int(round(a * scale)), min(x.size, int(round(b * scale))))
        for a, b in detect_vf_spans(x_det, DETECTION_FS)
    ]
    slope = _slope_at_detection_rate(x_det)
    del x_det
    envelope = _rms_envelope(slope)
    candidates, slope_near = _candidates(envelope, np.abs(slope, out=slope))
    del slope
    beats = np.zeros(0, dtype=np.int64)
    if candidates.size and np.any(envelope > 0):  # a flat envelope has no beat
        beats = _BeatDecider(envelope, candidates, slope_near, DETECTION_FS).run()
    # The envelope at the beats against its background, before the envelope is dropped.
    at_beats = float(np.median(envelope[beats])) if beats.size else 0.0
    background = float(np.median(envelope))
    del envelope
    peaks = empty
    if beats.size:
        wave = _bandpass(x, fs, REFINE_BAND_HZ)
        if _plausible_qrs(at_beats, background, wave):
            approx = np.round(beats * (fs / DETECTION_FS)).astype(np.int64)
            peaks = _refine(wave, fs, np.clip(approx, 0, x.size - 1))
    if drop_vf and vf_spans:
        peaks = peaks[~in_vf_spans(peaks, vf_spans)]
    return peaks, vf_spans


def _candidates(envelope: np.ndarray, abs_slope: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(candidate peaks of the envelope, the steepest |slope| within ±75 ms of each), at
    :data:`DETECTION_FS`; the signal's edge value stands in beyond its ends."""
    candidates, _ = sps.find_peaks(envelope, distance=max(1, int(0.05 * DETECTION_FS)))
    half = int(0.075 * DETECTION_FS)
    steepest = ndimage.maximum_filter1d(abs_slope, 2 * half + 1, mode="nearest")
    return candidates, steepest[candidates]
