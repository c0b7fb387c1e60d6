"""Synthetic ECG with ground truth: a Gaussian-wave P-QRS-T model, HRV, noise and ectopy.

Each beat is a sum of five Gaussian waves (P, Q, R, S, T) placed around its R peak, in the
spirit of McSharry et al.'s ECGSYN (IEEE TBME 2003) but written in the time domain so that a
24-hour record is built with array operations in seconds. The rhythm is made first (a label
per beat, then the RR interval before each beat from its label and its predecessor's), so
the beat annotations are exact ground truth: MIT-BIH symbols ``N``, ``V`` (PVC) and ``A``
(APC, AAMI class S) at the R peaks.

>>> record = synthesize(SyntheticSettings(duration_s=60, heart_rate_bpm=60, seed=1))
>>> record.fs, record.signal.shape, record.annotations.symbols[:3]
(360.0, (21600, 1), ['N', 'N', 'N'])
>>> again = synthesize(SyntheticSettings(duration_s=60, heart_rate_bpm=60, seed=1))
>>> bool((again.signal == record.signal).all())
True
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import signal as sps

from ecg_core.errors import ECGInputError
from ecg_core.record import Annotations, Record

MAX_DURATION_S: float = 24 * 3600.0
PATTERNS: tuple[str, ...] = ("none", "bigeminy", "trigeminy")

# Beat codes used internally; SYMBOLS maps them to MIT-BIH annotation symbols.
_N, _V, _A = 0, 1, 2
SYMBOLS: tuple[str, ...] = ("N", "V", "A")

# Wave table per beat code: rows P, Q, R, S, T; columns centre (s from R), sigma (s),
# amplitude (mV). Normal: ECGSYN's angles/widths turned into seconds at 60 bpm.
# PVC: no P wave, wide and tall QRS, deep broad S, T opposite to the QRS (discordant).
# APC: an early, inverted and shorter-PR P wave (ectopic atrial focus), normal narrow QRS.
_WAVES = np.array(
    [
        # N
        [
            [-0.190, 0.022, 0.12],
            [-0.030, 0.009, -0.10],
            [0.000, 0.010, 1.10],
            [0.030, 0.010, -0.28],
            [0.240, 0.045, 0.30],
        ],
        # V
        [
            [-0.190, 0.022, 0.00],
            [-0.050, 0.020, -0.15],
            [0.000, 0.028, 1.35],
            [0.070, 0.035, -0.60],
            [0.300, 0.070, -0.40],
        ],
        # A
        [
            [-0.140, 0.018, -0.11],
            [-0.030, 0.009, -0.10],
            [0.000, 0.010, 1.05],
            [0.030, 0.010, -0.26],
            [0.240, 0.045, 0.28],
        ],
    ]
)
_T_WAVE = 4  # row of the T wave, whose timing follows the preceding RR (QT ~ sqrt(RR))


@dataclass(frozen=True)
class SyntheticSettings:
    """What to generate. Fractions are of all beats; rates per hour of record.

    ``pvc_fraction`` / ``apc_fraction`` are *isolated* ectopic beats (each between two
    normal beats, at most 1/3 of beats between them). ``pattern`` makes every 2nd
    (bigeminy) or 3rd (trigeminy) beat a ``pattern_beat`` ("V" or "S") over
    ``pattern_fraction`` of the record, in one episode. ``v_runs_per_hour`` adds runs of
    consecutive PVCs with lengths drawn from ``v_run_lengths`` (2 couplet, 3 triplet,
    >= 4 non-sustained VT) at ``vt_rate_bpm``.
    """

    duration_s: float = 60.0
    fs: float = 360.0
    heart_rate_bpm: float = 70.0
    hrv_sdnn_ms: float = 40.0
    pvc_fraction: float = 0.0
    apc_fraction: float = 0.0
    pattern: str = "none"
    pattern_beat: str = "V"
    pattern_fraction: float = 1.0
    v_runs_per_hour: float = 0.0
    v_run_lengths: tuple[int, ...] = (2, 3, 5)
    vt_rate_bpm: float = 160.0
    baseline_wander_mv: float = 0.0
    emg_noise_mv: float = 0.0
    powerline_mv: float = 0.0
    powerline_hz: float = 50.0
    seed: int = 0
    name: str = "synthetic"

    def validate(self) -> SyntheticSettings:
        """Return self, or raise ECGInputError naming the first bad setting."""
        checks = [
            (0 < self.duration_s <= MAX_DURATION_S, "duration_s", "between 0 and 86400 s"),
            (50 <= self.fs <= 10_000, "fs", "between 50 and 10000 Hz"),
            (25 <= self.heart_rate_bpm <= 220, "heart_rate_bpm", "between 25 and 220 bpm"),
            (0 <= self.hrv_sdnn_ms <= 200, "hrv_sdnn_ms", "between 0 and 200 ms"),
            (0 <= self.pvc_fraction <= 0.33, "pvc_fraction", "between 0 and 0.33"),
            (0 <= self.apc_fraction <= 0.33, "apc_fraction", "between 0 and 0.33"),
            (
                self.pvc_fraction + self.apc_fraction <= 0.33,
                "pvc_fraction + apc_fraction",
                "at most 0.33",
            ),
            (self.pattern in PATTERNS, "pattern", f"one of {', '.join(PATTERNS)}"),
            (self.pattern_beat in ("V", "S"), "pattern_beat", "'V' or 'S'"),
            (0 <= self.pattern_fraction <= 1, "pattern_fraction", "between 0 and 1"),
            (0 <= self.v_runs_per_hour <= 600, "v_runs_per_hour", "between 0 and 600"),
            (
                len(self.v_run_lengths) > 0 and all(2 <= k <= 30 for k in self.v_run_lengths),
                "v_run_lengths",
                "lengths between 2 and 30 beats",
            ),
            (100 <= self.vt_rate_bpm <= 250, "vt_rate_bpm", "between 100 and 250 bpm"),
            (0 <= self.baseline_wander_mv <= 5, "baseline_wander_mv", "between 0 and 5 mV"),
            (0 <= self.emg_noise_mv <= 2, "emg_noise_mv", "between 0 and 2 mV"),
            (0 <= self.powerline_mv <= 2, "powerline_mv", "between 0 and 2 mV"),
            (self.powerline_hz in (50.0, 60.0, 50, 60), "powerline_hz", "50 or 60 Hz"),
            (self.seed >= 0, "seed", "0 or more"),  # numpy's generator refuses a negative seed
        ]
        for ok, name, allowed in checks:
            if not ok:
                value = getattr(self, name, None) if "+" not in name else None
                shown = f" {value!r}" if value is not None else ""
                raise ECGInputError(f"Synthetic setting {name}{shown} must be {allowed}.")
        return self


def synthesize(settings: SyntheticSettings | None = None, **overrides) -> Record:
    """Generate a single-lead (``MLII``-like) record in mV with ``N``/``V``/``A`` annotations.

    Same settings (seed included) give the same record, sample for sample.
    """
    settings = settings or SyntheticSettings()
    if overrides:
        settings = SyntheticSettings(**{**asdict(settings), **overrides})
    settings.validate()
    rng = np.random.default_rng(settings.seed)
    fs = float(settings.fs)
    n_samples = int(round(settings.duration_s * fs))

    labels, r_times_s, rr_pre_s = _rhythm(settings, rng)
    r_peaks = np.round(r_times_s * fs).astype(np.int64)
    keep = (r_peaks >= 0) & (r_peaks < n_samples)
    labels, r_peaks, rr_pre_s = labels[keep], r_peaks[keep], rr_pre_s[keep]

    clean_mv = _beats_waveform(labels, r_peaks, rr_pre_s, n_samples, fs, rng)
    noise_mv = _noise(settings, n_samples, fs, rng)
    signal = (clean_mv + noise_mv)[:, None]
    symbols = [SYMBOLS[code] for code in labels]
    return Record(
        signal=signal,
        fs=fs,
        lead_names=["MLII"],
        name=_safe_name(settings.name),
        units=["mV"],
        annotations=Annotations(samples=r_peaks, symbols=symbols),
    )


# --- rhythm: labels, then RR intervals from (previous label, label) -------------------------


def _rhythm(
    settings: SyntheticSettings, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beat codes, R times (s) and the RR interval before each beat (s)."""
    rr_mean_s = 60.0 / settings.heart_rate_bpm
    # Ectopy keeps the mean RR about constant (compensatory pauses), so this many beats
    # over-fill the record; the extra ones are cut after timing.
    n_beats = int(np.ceil(settings.duration_s / rr_mean_s * 1.25)) + 8
    labels = _labels(settings, n_beats, rr_mean_s, rng)

    rr_sinus_s = _sinus_rr(settings, n_beats, rr_mean_s, rng)
    prev = np.concatenate([[_N], labels[:-1]])
    rr_s = rr_sinus_s.copy()
    coupling_v = rng.uniform(0.55, 0.65)  # fixed coupling interval, as from one focus
    coupling_a = rng.uniform(0.65, 0.75)
    vt_rr_s = 60.0 / settings.vt_rate_bpm
    first_v = (labels == _V) & (prev != _V)
    rr_s[first_v] = rr_sinus_s[first_v] * coupling_v
    in_run = (labels == _V) & (prev == _V)
    rr_s[in_run] = vt_rr_s * rng.uniform(0.97, 1.03, size=int(in_run.sum()))
    # Full compensatory pause after a PVC: the sinus node was not reset, pre + post = 2 RR.
    after_v = (labels != _V) & (prev == _V)
    rr_s[after_v] = rr_sinus_s[after_v] * (2.0 - coupling_v)
    rr_s[(labels == _A) & (prev != _A)] = rr_sinus_s[(labels == _A) & (prev != _A)] * coupling_a
    # Non-compensatory pause after an APC: the sinus node is reset, pre + post < 2 RR.
    after_a = (labels != _A) & (prev == _A) & (labels != _V)
    rr_s[after_a] = rr_sinus_s[after_a] * 1.08

    # The first beat lands after a P wave's worth of signal, the last leaves room for its T.
    start_s = 0.35 + rng.uniform(0, rr_mean_s * 0.5)
    r_times_s = start_s + np.concatenate([[0.0], np.cumsum(rr_s[1:])])
    inside = r_times_s <= settings.duration_s - 0.45
    return labels[inside], r_times_s[inside], rr_s[inside]


def _labels(
    settings: SyntheticSettings, n_beats: int, rr_mean_s: float, rng: np.random.Generator
) -> np.ndarray:
    labels = np.full(n_beats, _N, dtype=np.int64)
    # Only beats within the record count towards fractions: estimate how many fit.
    n_inside = max(int(settings.duration_s / rr_mean_s) - 1, 1)

    if settings.pattern != "none" and settings.pattern_fraction > 0:
        every = 2 if settings.pattern == "bigeminy" else 3
        length = int(round(settings.pattern_fraction * n_inside))
        first = int(rng.integers(0, max(n_inside - length, 0) + 1))
        code = _V if settings.pattern_beat == "V" else _A
        labels[first + every - 1 : first + length : every] = code

    n_runs = int(round(settings.v_runs_per_hour * settings.duration_s / 3600.0))
    lengths = rng.choice(np.asarray(settings.v_run_lengths), size=n_runs)
    for run_length in lengths:  # one iteration per run (a few thousand at most), not per sample
        for _attempt in range(50):
            start = int(rng.integers(1, max(n_inside - run_length - 1, 2)))
            if np.all(labels[start - 1 : start + run_length + 1] == _N):
                labels[start : start + run_length] = _V
                break

    # Isolated ectopics sit in the middle of free 3-beat slots, so two are never adjacent.
    n_slots = n_inside // 3
    slots = labels[: n_slots * 3].reshape(n_slots, 3)
    free = np.flatnonzero(np.all(slots == _N, axis=1))
    free = rng.permutation(free)
    n_pvc = min(int(round(settings.pvc_fraction * n_inside)), len(free))
    n_apc = min(int(round(settings.apc_fraction * n_inside)), len(free) - n_pvc)
    labels[free[:n_pvc] * 3 + 1] = _V
    labels[free[n_pvc : n_pvc + n_apc] * 3 + 1] = _A
    return labels


def _sinus_rr(
    settings: SyntheticSettings, n_beats: int, rr_mean_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Sinus RR series: respiratory (HF ~0.25 Hz) and Mayer-wave (LF ~0.1 Hz) oscillations,
    a slow drift and beat-to-beat jitter, scaled to the requested SDNN (ECGSYN's bimodal
    RR spectrum, simplified to a few sinusoids)."""
    t_s = np.arange(n_beats) * rr_mean_s
    hf = np.sin(2 * np.pi * rng.uniform(0.2, 0.3) * t_s + rng.uniform(0, 2 * np.pi))
    lf = np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * t_s + rng.uniform(0, 2 * np.pi))
    drift_hz = rng.uniform(1 / 3600, 1 / 300, size=3)
    drift = np.sin(2 * np.pi * drift_hz[:, None] * t_s[None, :] + rng.uniform(0, 6.3, (3, 1)))
    jitter = rng.standard_normal(n_beats)
    variation = 0.5 * hf + 0.4 * lf + 0.5 * drift.mean(axis=0) + 0.2 * jitter
    variation /= max(float(variation.std()), 1e-9)
    rr_s = rr_mean_s + variation * settings.hrv_sdnn_ms / 1000.0
    return np.clip(rr_s, 0.25, 3.0)


# --- waveform: Gaussian waves summed into the signal with one bincount per wave -------------


def _beats_waveform(
    labels: np.ndarray,
    r_peaks: np.ndarray,
    rr_pre_s: np.ndarray,
    n_samples: int,
    fs: float,
    rng: np.random.Generator,
) -> np.ndarray:
    n_beats = len(labels)
    waves = _WAVES[labels].copy()  # (n_beats, 5, 3)
    # This record's own morphology (electrode placement, body habitus): +-10% per wave.
    waves[:, :, 2] *= rng.uniform(0.9, 1.1, size=(1, 5))
    # Beat-to-beat amplitude jitter and respiratory modulation of the QRS axis.
    waves[:, :, 2] *= 1 + 0.03 * rng.standard_normal((n_beats, 5))
    resp = 1 + 0.05 * np.sin(2 * np.pi * 0.25 * r_peaks / fs + rng.uniform(0, 6.3))
    waves[:, 1:4, 2] *= resp[:, None]
    # QT shortens with rate (Bazett): the T wave moves with sqrt(RR before the beat).
    waves[:, _T_WAVE, 0] *= np.sqrt(np.clip(rr_pre_s, 0.3, 2.0))

    signal = np.zeros(n_samples)
    chunk = 20_000  # beats at a time, to bound memory for 24-hour records at high fs
    for wave in range(waves.shape[1]):
        half_width = int(np.ceil(4.0 * waves[:, wave, 1].max() * fs))
        offsets = np.arange(-half_width, half_width + 1)
        for lo in range(0, n_beats, chunk):
            centre_s, sigma_s, amp_mv = (waves[lo : lo + chunk, wave, k] for k in range(3))
            centre = r_peaks[lo : lo + chunk] + centre_s * fs  # fractional sample
            idx = np.round(centre).astype(np.int64)[:, None] + offsets[None, :]
            z = ((idx - centre[:, None]) / (sigma_s[:, None] * fs)).astype(np.float32)
            values = amp_mv[:, None].astype(np.float32) * np.exp(-0.5 * z * z)
            inside = (idx >= 0) & (idx < n_samples)
            signal += np.bincount(idx[inside], weights=values[inside], minlength=n_samples)
    return signal


def _noise(
    settings: SyntheticSettings, n_samples: int, fs: float, rng: np.random.Generator
) -> np.ndarray:
    """Baseline wander (respiration and movement, < 0.5 Hz), muscle (EMG) noise in bursts,
    and mains interference. Each amplitude is the component's approximate peak in mV."""
    noise = np.zeros(n_samples)
    if settings.baseline_wander_mv > 0:
        freqs_hz = np.concatenate([[rng.uniform(0.15, 0.35)], rng.uniform(0.01, 0.12, size=3)])
        weights = np.array([0.5, 0.3, 0.3, 0.2])
        phases = rng.uniform(0, 2 * np.pi, size=4)
        wander = _slow_sum_of_sines(n_samples, fs, freqs_hz, weights, phases)
        noise += settings.baseline_wander_mv * wander / weights.sum()
    if settings.emg_noise_mv > 0:
        white = rng.standard_normal(n_samples, dtype=np.float32)
        high_hz = min(150.0, 0.45 * fs)
        sos = sps.butter(
            2, [min(20.0, high_hz / 2), high_hz], btype="bandpass", fs=fs, output="sos"
        )
        emg = sps.sosfilt(sos.astype(np.float32), white)
        emg /= max(float(emg[: int(600 * fs)].std()), 1e-12)
        # Muscle activity comes and goes: a slow envelope between 0.2 and 1.
        envelope = 0.6 + 0.4 * _slow_sum_of_sines(
            n_samples, fs, [rng.uniform(0.02, 0.1)], [1.0], [rng.uniform(0, 6.3)]
        )
        noise += settings.emg_noise_mv / 3.0 * envelope * emg  # ~3 sigma = peak
    if settings.powerline_mv > 0 and settings.powerline_hz < fs / 2:
        phase = rng.uniform(0, 2 * np.pi)
        if float(fs).is_integer():
            # Integer mains frequency and rate: one second repeats exactly, so tile it.
            one_second = np.sin(2 * np.pi * settings.powerline_hz * np.arange(int(fs)) / fs + phase)
            mains = np.tile(one_second, n_samples // int(fs) + 1)[:n_samples]
        else:
            mains = np.sin(2 * np.pi * settings.powerline_hz * np.arange(n_samples) / fs + phase)
        noise += settings.powerline_mv * mains
    return noise


def _slow_sum_of_sines(n_samples, fs, freqs_hz, weights, phases) -> np.ndarray:
    """Sum of sub-hertz sinusoids, computed at 10 Hz and linearly interpolated to ``fs``
    (exact to < 0.1% for frequencies below 0.5 Hz, and ~30x cheaper for long records)."""
    slow_fs = 10.0
    t_slow_s = np.arange(int(n_samples / fs * slow_fs) + 2) / slow_fs
    slow = np.zeros_like(t_slow_s)
    for f_hz, w, ph in zip(freqs_hz, weights, phases, strict=True):
        slow += w * np.sin(2 * np.pi * f_hz * t_slow_s + ph)
    return np.interp(np.arange(n_samples) / fs, t_slow_s, slow)


# --- writers --------------------------------------------------------------------------------


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_")
    return cleaned or "synthetic"


def write_csv(record: Record, path: str | Path, time_column: bool = True) -> Path:
    """Write ``time_s,<lead names...>`` (µV resolution); returns the path."""
    path = Path(path)
    columns = [record.signal[:, k] for k in range(record.n_leads)]
    header = list(record.lead_names)
    fmt = ["%.6f"] * record.n_leads
    if time_column:
        columns.insert(0, np.arange(record.n_samples) / record.fs)
        header.insert(0, "time_s")
        fmt.insert(0, "%.6f")
    np.savetxt(
        path, np.column_stack(columns), delimiter=",", header=",".join(header), comments="", fmt=fmt
    )
    return path


def write_annotations_csv(record: Record, path: str | Path) -> Path:
    """Ground truth as ``sample,time_s,symbol``."""
    path = Path(path)
    if record.annotations is None:
        raise ECGInputError(f"Record {record.name!r} has no annotations to write.")
    samples = np.asarray(record.annotations.samples)
    with path.open("w") as f:
        f.write("sample,time_s,symbol\n")
        for sample, symbol in zip(samples.tolist(), record.annotations.symbols, strict=True):
            f.write(f"{sample},{sample / record.fs:.4f},{symbol}\n")
    return path


def write_wfdb(record: Record, folder: str | Path) -> list[Path]:
    """Write ``<name>.hea``, ``<name>.dat`` (format 16) and ``<name>.atr`` into ``folder``."""
    import wfdb  # imported here: only the writers need it

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = _safe_name(record.name)
    units = record.units or ["mV"] * record.n_leads
    wfdb.wrsamp(
        name,
        fs=record.fs,
        units=list(units),
        sig_name=list(record.lead_names),
        p_signal=np.asarray(record.signal, dtype=np.float64),
        fmt=["16"] * record.n_leads,
        adc_gain=[1000.0] * record.n_leads,  # 1 µV per digital unit
        baseline=[0] * record.n_leads,
        write_dir=str(folder),
    )
    paths = [folder / f"{name}.hea", folder / f"{name}.dat"]
    if record.annotations is not None and len(record.annotations.samples):
        wfdb.wrann(
            name,
            "atr",
            np.asarray(record.annotations.samples, dtype=np.int64),
            symbol=list(record.annotations.symbols),
            fs=record.fs,
            write_dir=str(folder),
        )
        paths.append(folder / f"{name}.atr")
    return paths
