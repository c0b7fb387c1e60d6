"""ECG from an EDF or EDF+ file (European Data Format), the export format of many Holter
recorders, wearables and polysomnography systems.

An EDF file is a 256-byte ASCII header, 256 bytes more per signal, then data records of
little-endian 16-bit integers, each record holding every signal's samples for
``record_duration_s`` (Kemp et al. 1992; EDF+: Kemp & Olivan 2003). Signals may have different
rates (an ECG at 256 Hz beside an SpO2 at 1 Hz); a record here has one rate, so only the
channels at the rate of the fastest channel that may be an ECG
(:func:`~ecg_core.preprocessing.is_ecg_channel`) are offered, and EDF+ annotation channels
never are. The file is memory-mapped and only the leads asked for are converted, so a 24-hour
12-lead file costs the leads analysed, not the file. Values are in the file's physical
dimension; microvolts and volts are converted to millivolts.

Not read: EDF+ files with gaps (``EDF+D``), BDF (24-bit) files, and EDF+ annotations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg_core.errors import ECGInputError
from ecg_core.preprocessing import is_ecg_channel

EDF_SUFFIXES = {".edf"}
#: Most signals an EDF header may declare (its own field has 4 digits).
MAX_EDF_SIGNALS = 9999
ANNOTATION_LABEL = "EDF Annotations"
#: Physical dimensions converted to millivolts, and their factor.
TO_MILLIVOLTS = {"uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "nv": 1e-6, "mv": 1.0, "v": 1e3}

# Per-signal header fields, in file order: (name, width in bytes).
_SIGNAL_FIELDS = (
    ("label", 16),
    ("transducer", 80),
    ("dimension", 8),
    ("physical_min", 8),
    ("physical_max", 8),
    ("digital_min", 8),
    ("digital_max", 8),
    ("prefiltering", 80),
    ("samples_per_record", 8),
    ("reserved", 32),
)


@dataclass
class EdfHeader:
    """What :func:`read_edf_header` found: the channels offered as leads (one rate) and where
    their samples sit in each data record."""

    header_bytes: int
    n_records: int
    record_duration_s: float
    samples_per_record: list[int]  # every signal's, annotation channels included
    fs: float  # the offered channels' rate
    channels: list[int]  # indices (into the file's signals) of the channels offered
    lead_names: list[str]  # their labels
    units: list[str]  # their physical dimensions ("mV" for any voltage, converted)
    gains: list[float]  # value = digital * gain + offset, in ``units``
    offsets: list[float]


def read_edf_header(path: Path) -> EdfHeader:
    """Parse and check the header of the EDF file at ``path`` (ECGInputError, naming the
    file and the field, for anything that is not a readable EDF)."""
    name = path.name
    with open(path, "rb") as f:
        fixed = f.read(256)
        if fixed[:1] == b"\xff":
            raise ECGInputError(f"'{name}' is a BDF (24-bit) file; export it as EDF (16-bit).")
        if len(fixed) < 256 or fixed[:8].strip() != b"0":
            raise ECGInputError(f"'{name}' is not an EDF file (it does not start as one).")
        n_signals = _int_field(_text(fixed[252:256]), name, "number of signals")
        if not 1 <= n_signals <= MAX_EDF_SIGNALS:
            raise ECGInputError(f"'{name}' declares {n_signals} signals.")
        per_signal = f.read(256 * n_signals)
    if len(per_signal) < 256 * n_signals:
        raise ECGInputError(f"'{name}' ends inside its header.")
    header_bytes = _int_field(_text(fixed[184:192]), name, "header size")
    if header_bytes != 256 * (n_signals + 1):
        raise ECGInputError(
            f"'{name}' declares a {header_bytes}-byte header for {n_signals} signals "
            f"({256 * (n_signals + 1)} expected)."
        )
    if fixed[192:197] == b"EDF+D":
        raise ECGInputError(
            f"'{name}' is a discontinuous EDF+ file (EDF+D): its recording has gaps. Export "
            "the continuous parts as separate files."
        )
    record_duration_s = _float_field(_text(fixed[244:252]), name, "data record duration")
    if not record_duration_s > 0:
        raise ECGInputError(f"'{name}' declares data records of {record_duration_s:g} s.")

    fields: dict[str, list[str]] = {}
    at = 0
    for field, width in _SIGNAL_FIELDS:
        raw = per_signal[at : at + width * n_signals]
        fields[field] = [_text(raw[i * width : (i + 1) * width]) for i in range(n_signals)]
        at += width * n_signals
    samples = [_int_field(v, name, "samples per record") for v in fields["samples_per_record"]]
    if any(s < 1 for s in samples):
        raise ECGInputError(f"'{name}' declares a signal with no samples per data record.")

    record_bytes = 2 * sum(samples)
    declared = _int_field(_text(fixed[236:244]), name, "number of data records")
    present = (path.stat().st_size - header_bytes) // record_bytes
    # -1: the recorder did not know the count when it wrote the header. A file cut short
    # (an interrupted copy) keeps its whole data records.
    n_records = present if declared < 0 else min(declared, present)
    if n_records < 1:
        raise ECGInputError(f"'{name}' holds no complete data record.")

    labels = fields["label"]
    signals = [i for i in range(n_signals) if labels[i] != ANNOTATION_LABEL]
    if not signals:
        raise ECGInputError(f"'{name}' holds annotations only, no signal.")
    rates = [samples[i] / record_duration_s for i in range(n_signals)]
    ecg_like = [i for i in signals if is_ecg_channel(labels[i])] or signals
    fs = max(rates[i] for i in ecg_like)
    channels = [i for i in signals if rates[i] == fs]

    gains, offsets = [], []
    for i in channels:
        p_min, p_max, d_min, d_max = (
            _float_field(fields[k][i], name, f"{k.replace('_', ' ')} of '{labels[i]}'")
            for k in ("physical_min", "physical_max", "digital_min", "digital_max")
        )
        if d_max <= d_min or p_max == p_min:
            raise ECGInputError(
                f"'{name}': signal '{labels[i]}' has an empty digital or physical range."
            )
        factor = TO_MILLIVOLTS.get(fields["dimension"][i].lower(), 1.0)
        gain = (p_max - p_min) / (d_max - d_min)
        gains.append(gain * factor)
        offsets.append((p_min - d_min * gain) * factor)
    units = [
        "mV" if fields["dimension"][i].lower() in TO_MILLIVOLTS else fields["dimension"][i]
        for i in channels
    ]
    return EdfHeader(
        header_bytes=header_bytes,
        n_records=n_records,
        record_duration_s=record_duration_s,
        samples_per_record=samples,
        fs=fs,
        channels=channels,
        lead_names=[labels[i] or str(i) for i in channels],
        units=units,
        gains=gains,
        offsets=offsets,
    )


def read_edf_leads(path: Path, header: EdfHeader, leads: list[int]) -> np.ndarray:
    """The offered channels ``leads`` (indices into ``header.lead_names``) as float64
    ``(n_samples, len(leads))``, in millivolts where the file's unit is a voltage."""
    per_record = sum(header.samples_per_record)
    data = np.memmap(
        path,
        dtype="<i2",
        mode="r",
        offset=header.header_bytes,
        shape=(header.n_records, per_record),
    )
    starts = np.concatenate([[0], np.cumsum(header.samples_per_record)])
    out = np.empty((header.n_records * header.samples_per_record[header.channels[0]], len(leads)))
    for column, lead in enumerate(leads):
        channel = header.channels[lead]
        digital = data[:, starts[channel] : starts[channel + 1]].reshape(-1)
        np.multiply(digital, header.gains[lead], out=out[:, column])  # no float temporary
        out[:, column] += header.offsets[lead]
    del data
    return out


def _text(raw: bytes) -> str:
    """A header field: ASCII by the standard, read as Latin-1 so that no byte fails."""
    return raw.decode("latin-1").strip()


def _int_field(text: str, file_name: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _invalid_field(text, file_name, field) from None


def _float_field(text: str, file_name: str, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _invalid_field(text, file_name, field) from None
    if not np.isfinite(value):  # "nan" and "inf" parse
        raise _invalid_field(text, file_name, field)
    return value


def _invalid_field(text: str, file_name: str, field: str) -> ECGInputError:
    return ECGInputError(f"'{file_name}' is not a valid EDF file: its {field} is {text!r}.")
