"""Reading ECG records: WFDB (``.hea`` + signal files, optional ``.atr``), CSV and EDF.

``read_record`` takes a WFDB record path (with or without ``.hea``), a CSV path, or the
list of files a person uploaded. Uploads arrive one per temporary folder (Gradio), so the
files of a WFDB record are gathered by name into one private folder before ``wfdb`` reads
them, and the header is checked first: it may only name files that were given, by plain
file name. Whatever the source, the signal is validated the same way and any problem is an
:class:`~ecg_core.errors.ECGInputError` whose message a person can act on.

>>> import tempfile, pathlib, numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "sine.csv"
>>> _ = path.write_text("\\n".join(f"{np.sin(i / 10):.4f}" for i in range(2000)))
>>> record = read_record(path, fs=250)
>>> record.signal.shape, record.fs, record.lead_names
((2000, 1), 250.0, ['ECG'])
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecg_core.csv_reader import CSV_SUFFIXES, MAX_LEADS, read_csv_signal
from ecg_core.edf_reader import EDF_SUFFIXES, read_edf_header, read_edf_leads
from ecg_core.errors import ECGInputError
from ecg_core.preprocessing import select_lead, validate_fs
from ecg_core.quality import run_bounds
from ecg_core.record import Annotations, Record

#: Default upload limit: a 24-hour, 12-lead Holter at 500 Hz in WFDB format 16 is
#: 24 * 3600 * 500 * 12 * 2 bytes = 1.04 GB. (The app passes a smaller limit.)
DEFAULT_MAX_BYTES: int = 1_500_000_000

#: Shortest record accepted. 5 s holds at least three beats (two RR intervals, which the
#: RR features need) down to 40 bpm, and is several time constants of the 0.5 Hz high-pass,
#: so the filtered signal is not all edge transient. A standard 12-lead strip (10 s) passes.
MIN_DURATION_S: float = 5.0

#: Missing samples (NaN) are filled by linear interpolation only when every gap is at most
#: this long: 100 ms is shorter than a QRS complex plus its neighbourhood, so a filled gap
#: cannot invent or hide a whole beat. Longer gaps are refused, not guessed at.
MAX_NAN_GAP_S: float = 0.1
#: ... and when, all gaps together, no more than this fraction of a lead is missing.
MAX_NAN_FRACTION: float = 0.01

WFDB_HEADER_SUFFIX = ".hea"
#: Suffixes that belong to WFDB records (signal files may have other names; the header
#: names them and that is what counts).
WFDB_SUFFIXES = {".hea", ".dat", ".mat", ".atr", ".qrs", ".ann", ".xws"}

#: File names listed in one message: an upload of hundreds of files must not make a message
#: of kilobytes that hides what to do.
MAX_NAMES_SHOWN = 5

PathLike = str | os.PathLike


def read_record(
    paths_or_path: PathLike | Sequence[PathLike],
    fs: float | None = None,
    *,
    annotation_extension: str = "atr",
    max_bytes: int = DEFAULT_MAX_BYTES,
    leads: LeadChoice | None = None,
) -> Record:
    """Read one ECG record from a path or from a list of uploaded files.

    ``paths_or_path``:
      - a WFDB record path without extension (``.../mitdb/100``), or its ``.hea`` (``.dat``,
        ``.atr``) path: the record's files are taken from that folder;
      - a ``.csv`` / ``.tsv`` / ``.txt`` path, or an ``.edf`` path (EDF / EDF+,
        :mod:`ecg_core.edf_reader`);
      - a list of file paths (e.g. uploads, each possibly in its own folder): one WFDB
        record's ``.hea`` and the signal files it names (plus ``<record>.<annotation_extension>``
        if given), or a single CSV or EDF file. Only these files are ever read.

    ``fs`` is needed for a CSV without a time column; for a WFDB record it is used only when
    the header gives no rate. ``max_bytes`` bounds the total size of the files read.
    ``leads``: keep only these leads, in this order: names or indices, or a function from the
    record's lead names to indices (e.g. the leads an analysis reads,
    :func:`ecg_core.leads.analysis_leads`). A WFDB record's other leads are never converted
    to numbers: a 24-hour 12-lead Holter is 4 GB as float64, two of its leads 0.7 GB.
    Raises :class:`ECGInputError` with a message meant for the person who supplied the files.
    """
    fs = _given_fs(fs)
    try:
        return _read_given(paths_or_path, fs, annotation_extension, max_bytes, leads)
    except OSError as error:  # e.g. a name too long for the file system, a file that vanished
        name = os.path.basename(os.fsdecode(error.filename)) if error.filename else "a file"
        raise ECGInputError(f"Could not read '{name}': {error.strerror or error}.") from None


def _given_fs(fs: object) -> float | None:
    """The caller's rate as a float; its range is checked where it is used (a WFDB header's
    own rate wins over it)."""
    if fs is None:
        return None
    try:
        return float(fs)
    except (TypeError, ValueError):
        raise ECGInputError(f"Sampling rate {fs!r} is not a number.") from None


#: Which leads to read: names or indices, or a function from the lead names to indices.
LeadChoice = Sequence[str | int] | Callable[[list[str]], Sequence[int]]


def _lead_indices(choice: LeadChoice, lead_names: list[str]) -> list[int]:
    """The indices ``choice`` names among ``lead_names`` (ECGInputError for unknown ones)."""
    if callable(choice):
        indices = [int(i) for i in choice(list(lead_names))]
    else:
        indices = [select_lead(lead_names, lead) for lead in choice]
    if not indices or any(not 0 <= i < len(lead_names) for i in indices):
        raise ECGInputError(f"No such lead(s) {indices}: the record has {len(lead_names)}.")
    if len(set(indices)) != len(indices):
        raise ECGInputError(f"A lead was asked for twice: {[lead_names[i] for i in indices]}.")
    return indices


def _read_given(
    paths_or_path: PathLike | Sequence[PathLike],
    fs: float | None,
    annotation_extension: str,
    max_bytes: int,
    leads: LeadChoice | None = None,
) -> Record:
    given = _as_paths(paths_or_path)
    if not isinstance(paths_or_path, (list, tuple)):
        given = _expand_single_path(given[0], annotation_extension)
    for path in given:
        if not path.exists():
            raise ECGInputError(f"File '{path}' does not exist.")
        if not path.is_file():
            raise ECGInputError(f"'{path}' is not a file.")
    total_bytes = sum(path.stat().st_size for path in given)
    if total_bytes > max_bytes:
        raise ECGInputError(
            f"The files are {total_bytes / 1e6:.1f} MB in total, over the {max_bytes / 1e6:.0f} MB "
            "limit. Cut the record into shorter pieces."
        )

    given = _unique_files(given)
    for kind, suffixes in (("CSV", CSV_SUFFIXES), ("EDF", EDF_SUFFIXES)):
        files = [p for p in given if p.suffix.lower() in suffixes]
        if files and len(files) < len(given):
            raise ECGInputError(
                f"The upload mixes a {kind} file with other files ({_names_text(given)}). "
                "Upload one CSV file, one EDF file or the files of one WFDB record (.hea + "
                ".dat, optionally .atr)."
            )
        if len(files) > 1:
            raise ECGInputError(
                f"Several {kind} files were given ({_names_text(files)}); analyse one record "
                "at a time."
            )
    suffix = given[0].suffix.lower()  # a CSV or an EDF file is the only file given
    if suffix in EDF_SUFFIXES:
        return _read_edf(given[0], leads)
    if suffix in CSV_SUFFIXES:
        return _read_csv(given[0], fs, leads)
    return _read_wfdb_files(given, fs, annotation_extension, max_bytes, leads)


def _read_csv(path: Path, fs: float | None, leads: LeadChoice | None) -> Record:
    """A CSV's lead columns (:mod:`ecg_core.csv_reader`), or those ``leads``."""
    signal, csv_fs, lead_names, units = read_csv_signal(path, fs)
    if leads is not None:  # all columns are parsed anyway: a CSV is text
        names = lead_names or [f"lead{i + 1}" for i in range(signal.shape[1])]
        keep = _lead_indices(leads, names)
        signal = signal[:, keep]
        lead_names = [names[i] for i in keep]
        units = [units[i] for i in keep]
    return validated_record(signal, csv_fs, lead_names, path.stem, units, None)


def _read_edf(path: Path, leads: LeadChoice | None) -> Record:
    """An EDF file's ECG-rate channels (:mod:`ecg_core.edf_reader`), or those ``leads``."""
    header = read_edf_header(path)
    keep = (
        list(range(len(header.channels)))
        if leads is None
        else _lead_indices(leads, header.lead_names)
    )
    signal = read_edf_leads(path, header, keep)
    names, units = [header.lead_names[i] for i in keep], [header.units[i] for i in keep]
    return validated_record(signal, header.fs, names, path.stem, units, None)


def _names_text(files: Sequence[PathLike]) -> str:
    """'a.dat, b.dat' or, for a long list, its first names and how many more."""
    names = [os.path.basename(os.fspath(f)) for f in files]
    shown = ", ".join(names[:MAX_NAMES_SHOWN])
    more = len(names) - MAX_NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _unique_files(given: list[Path]) -> list[Path]:
    """``given`` without repeats: the same file uploaded twice (same name, same bytes) counts
    once, so it is not taken for a second record; two different files of one name are refused."""
    by_name: dict[str, Path] = {}
    for path in given:
        if path.name in by_name and not filecmp.cmp(by_name[path.name], path, shallow=False):
            raise ECGInputError(f"Two different files named '{path.name}' were given.")
        by_name.setdefault(path.name, path)
    return list(by_name.values())


def _as_paths(paths_or_path: object) -> list[Path]:
    items = paths_or_path if isinstance(paths_or_path, (list, tuple)) else [paths_or_path]
    if not items:
        raise ECGInputError("No file was given.")
    paths = []
    for item in items:
        # Gradio (and tempfile wrappers) may hand over objects with a .path or .name.
        candidate = item
        if not isinstance(item, (str, os.PathLike)):
            candidate = getattr(item, "path", None) or getattr(item, "name", None)
        if not isinstance(candidate, (str, os.PathLike)) or not str(candidate):
            raise ECGInputError(f"{item!r} is not a file path.")
        paths.append(Path(candidate))
    return paths


def _expand_single_path(path: Path, annotation_extension: str) -> list[Path]:
    """One local path: the CSV itself, or the WFDB record's header plus its folder's files."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES or suffix in EDF_SUFFIXES:
        return [path]
    if suffix == WFDB_HEADER_SUFFIX:
        header = path
    elif Path(f"{path}{WFDB_HEADER_SUFFIX}").is_file():  # record path without extension
        header = Path(f"{path}{WFDB_HEADER_SUFFIX}")
    elif suffix in WFDB_SUFFIXES:  # e.g. 100.dat: its header sits beside it
        header = path.with_suffix(WFDB_HEADER_SUFFIX)
        if not header.is_file():
            raise ECGInputError(
                f"'{path.name}' needs its WFDB header '{header.name}', which is not in {path.parent}."
            )
    elif path.is_file():
        raise _unsupported_type(path)
    else:
        raise ECGInputError(f"File '{path}' does not exist (nor '{path}{WFDB_HEADER_SUFFIX}').")
    if not header.is_file():
        raise ECGInputError(f"File '{header}' does not exist.")
    # The record's files: the header, the signal files it names (checked to be plain names,
    # so they stay in the header's folder) and its annotation file when there is one.
    signal_files = _header_signal_files(header.name, _read_header_lines(header))
    names = [header.name, *signal_files, f"{header.stem}.{annotation_extension}"]
    return [header.parent / n for n in dict.fromkeys(names) if (header.parent / n).is_file()]


def _unsupported_type(path: Path) -> ECGInputError:
    return ECGInputError(
        f"Unsupported file type '{path.suffix or '(no extension)'}' ('{path.name}'). "
        "Upload a WFDB record (.hea + .dat, optionally .atr), a CSV file (.csv, .tsv, .txt) or "
        "an EDF file (.edf)."
    )


# --- WFDB ------------------------------------------------------------------------------------


def _read_header_lines(header: Path) -> list[str]:
    """Non-comment, non-empty lines, split exactly as wfdb splits them."""
    text = header.read_bytes().decode("ascii", errors="ignore")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise ECGInputError(f"The header '{header.name}' is empty.")
    return lines


def _header_signal_files(header_name: str, lines: list[str]) -> list[str]:
    """Signal file names a single-segment header names (its ``lines``, from
    :func:`_read_header_lines`), after checking it is one we read."""
    record_fields = lines[0].split()
    if len(record_fields) < 2 or not record_fields[1].isdigit():
        raise ECGInputError(
            f"'{header_name}' is not a WFDB header: its first line should read "
            "'<record name> <number of signals> <sampling rate> <number of samples> ...'."
        )
    if "/" in record_fields[0]:
        raise ECGInputError(
            f"'{header_name}' describes a multi-segment WFDB record, which is not supported; "
            "convert it to a single-segment record first."
        )
    n_signals = int(record_fields[1])
    signal_lines = lines[1:]
    if n_signals == 0:
        raise ECGInputError(f"The header '{header_name}' declares no signals.")
    if n_signals > MAX_LEADS:  # wfdb's header parsing takes minutes for 100 000 signals
        raise ECGInputError(
            f"The header '{header_name}' declares {n_signals} signals; at most {MAX_LEADS} "
            "leads are supported."
        )
    if len(signal_lines) != n_signals:
        raise ECGInputError(
            f"The header '{header_name}' declares {n_signals} signal(s) but describes "
            f"{len(signal_lines)}."
        )
    names = list(dict.fromkeys(line.split()[0] for line in signal_lines))
    for name in names:
        if not _is_plain_file_name(name):
            raise ECGInputError(
                f"The header '{header_name}' names signal file '{name}', which is not among the "
                "uploaded files: a header may only name files given with it, by plain file name "
                "(no folders, no '..', no absolute paths). The record was not read."
            )
    return names


def _is_plain_file_name(name: str) -> bool:
    return (
        bool(name)
        and name not in {".", "..", "~"}
        and not any(sep in name for sep in ("/", "\\", ":", "\x00"))
        and name == os.path.basename(name)
        and name.isprintable()
    )


def _read_wfdb_files(
    given: list[Path],
    fs: float | None,
    annotation_extension: str,
    max_bytes: int,
    leads: LeadChoice | None = None,
) -> Record:
    by_name = {path.name: path for path in given}  # repeats were removed by _unique_files
    headers = [name for name in by_name if name.lower().endswith(WFDB_HEADER_SUFFIX)]
    if not headers:
        if all(Path(name).suffix.lower() not in WFDB_SUFFIXES for name in by_name):
            raise _unsupported_type(Path(next(iter(by_name))))
        raise ECGInputError(
            f"No WFDB header (.hea) among the files ({_names_text(list(by_name))}). A WFDB "
            "record needs its .hea file together with its .dat file(s)."
        )
    if len(headers) > 1:
        raise ECGInputError(
            f"The upload holds several records ({_names_text(sorted(headers))}); "
            "upload the files of one record at a time."
        )
    header = by_name[headers[0]]
    record_name = header.stem
    header_lines = _read_header_lines(header)  # read once; the checks below share it
    signal_names = _header_signal_files(header.name, header_lines)
    # The name wfdb opens -> the uploaded file. wfdb opens '<record>.hea', so a header
    # uploaded as 'R.HEA' is linked under that name; signal files likewise.
    wanted = {f"{record_name}{WFDB_HEADER_SUFFIX}": header}
    for name in signal_names:
        uploaded = _uploaded_as(by_name, name)
        if uploaded is None:
            raise ECGInputError(
                f"The signal file '{name}' named by the header '{header.name}' is missing: "
                f"upload it together with '{header.name}'."
            )
        wanted[name] = by_name[uploaded]
    annotation_name = f"{record_name}.{annotation_extension}"
    uploaded_annotation = _uploaded_as(by_name, annotation_name)
    if uploaded_annotation is not None:
        wanted[annotation_name] = by_name[uploaded_annotation]
    used = {path.name for path in wanted.values()}
    strays = [n for n in by_name if n not in used and Path(n).stem != record_name]
    if strays:
        raise ECGInputError(
            f"File(s) {_names_text(strays)} do not belong to record '{record_name}' "
            f"(its header names {_names_text(signal_names)}); upload one record at a time."
        )
    _check_not_empty(wanted, header.name, annotation_name)
    _check_declared_length(header.name, header_lines, max_bytes)
    header_gives_rate = _header_gives_rate(header.name, header_lines)

    with tempfile.TemporaryDirectory(prefix="ecg_record_") as folder:
        for target, source in wanted.items():
            _link_or_copy(source, Path(folder) / target)
        record_path = os.path.join(folder, record_name)
        wfdb_record = _rdrecord(record_path, header.name, leads)
        annotations = None
        if uploaded_annotation is not None:
            annotations = _rdann(record_path, annotation_extension, uploaded_annotation)

    record_fs = float(wfdb_record.fs)
    if not header_gives_rate and fs is not None:
        record_fs = float(fs)  # WFDB's default (250 Hz) would be a guess; the caller knows.
    lead_names = [str(n) if n else f"lead{i + 1}" for i, n in enumerate(wfdb_record.sig_name)]
    units = [str(u) if u else "mV" for u in (wfdb_record.units or ["mV"] * len(lead_names))]
    return validated_record(
        wfdb_record.p_signal, record_fs, lead_names, record_name, units, annotations
    )


def _uploaded_as(by_name: dict[str, Path], name: str) -> str | None:
    """The uploaded file name that stands for ``name``: itself, else the one file that differs
    only in case (a header naming '100.dat' with '100.DAT' uploaded from a system or a memory
    card that writes upper-case names). None when there is none, or no single one."""
    if name in by_name:
        return name
    matches = [n for n in by_name if n.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def _check_not_empty(wanted: dict[str, Path], header_name: str, annotation_name: str) -> None:
    """A 0-byte signal or annotation file is refused by name: wfdb reads an empty .atr as
    'no annotations' (the agreement would silently vanish) and an empty .dat fails vaguely."""
    for target, path in wanted.items():
        if path.stat().st_size:
            continue
        if target == annotation_name:
            raise ECGInputError(
                f"Could not read the annotation file '{path.name}': it is empty (0 bytes). "
                "Upload the record without it, or the complete file."
            )
        raise ECGInputError(
            f"Could not read the WFDB record described by '{header_name}': the signal file "
            f"'{path.name}' is empty (0 bytes). Upload the complete file."
        )


def _header_gives_rate(header_name: str, lines: list[str]) -> bool:
    """Whether the header states a sampling rate (0 or none: it does not).

    A rate wfdb cannot parse ('-360', 'nan', '1e9') is refused: wfdb would silently read it
    as its default 250 Hz, or as the digits it can parse ('1e9' as 1 Hz).
    """
    fields = lines[0].split()
    if len(fields) < 3:
        return False
    rate = re.split(r"[/(]", fields[2])[0]
    if not re.fullmatch(r"\d+\.?\d*|\.\d+", rate):
        raise ECGInputError(
            f"The header '{header_name}' gives the sampling rate '{rate}', which is not a "
            "number of Hz (such as 360 or 256.5). Correct the header's first line."
        )
    return float(rate) > 0


def _check_declared_length(header_name: str, lines: list[str], max_bytes: int) -> None:
    """Refuse a header that declares no samples, or more than ``max_bytes`` could hold.

    The size limit alone does not bound memory: a FLAC-compressed signal file (formats
    508-524) of a few kB can declare a billion samples. No uncompressed format stores a
    sample in less than a byte, so a record within the limit never declares more.
    """
    record_fields = lines[0].split()
    if len(record_fields) < 4 or not record_fields[3].isdigit():
        return  # no length given: wfdb takes it from the file size, which is bounded
    n_samples = int(record_fields[3])
    if n_samples == 0:
        raise ECGInputError(
            f"The header '{header_name}' declares 0 samples per signal: there is no ECG to read."
        )
    n_values = n_samples * sum(_samples_per_frame(line) for line in lines[1:])
    if n_values > max_bytes:
        raise ECGInputError(
            f"The header '{header_name}' declares {n_samples} samples per signal "
            f"({n_values} values in all), more than the {max_bytes / 1e6:.0f} MB limit allows. "
            "Cut the record into shorter pieces."
        )


def _samples_per_frame(signal_line: str) -> int:
    """The 'x<n>' of a signal line's format field ('16x4' -> 4); 1 when absent."""
    fields = signal_line.split()
    found = re.match(r"\d+x(\d+)", fields[1]) if len(fields) > 1 else None
    return max(1, int(found.group(1))) if found else 1


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # instant for the big .dat when on the same file system
    except OSError:
        shutil.copyfile(source, target)


#: Samples (all leads together) that one ``wfdb.rdrecord`` call converts. wfdb holds a
#: record's bytes, its digital values (int64) and its physical values (float64) at once, about
#: 20 bytes a sample: read whole, a 24-hour 12-lead Holter at 500 Hz (518 M samples) would take
#: over 10 GB on top of the 4 GB result. In blocks of this size the extra is ~100 MB.
READ_BLOCK_VALUES: int = 4_000_000


@dataclass
class _WfdbSignal:
    """What the rest of ``read_record`` needs from ``wfdb``'s record object."""

    p_signal: np.ndarray  # (n_samples, n_leads) float64, physical units
    fs: float
    sig_name: list[str]
    units: list[str]


def _rdrecord(record_path: str, header_name: str, leads: LeadChoice | None = None) -> _WfdbSignal:
    """Read the record (``leads`` of it) in blocks of :data:`READ_BLOCK_VALUES` samples into
    one array."""
    import wfdb  # imported here: reading CSV never needs it

    def unreadable(error: Exception) -> ECGInputError:
        return ECGInputError(
            f"Could not read the WFDB record described by '{header_name}': {error}. "
            "Check that the .dat file(s) are complete and match the header."
        )

    try:
        header = wfdb.rdheader(record_path)
    except Exception as error:  # wfdb raises many types for a malformed record
        raise unreadable(error) from None
    n_frames, n_leads = int(header.sig_len or 0), int(header.n_sig or 0)
    # Unnamed leads are named by their place in the record, before any is left out.
    names = [str(n) if n else f"lead{i + 1}" for i, n in enumerate(header.sig_name or [])]
    channels = list(range(n_leads)) if leads is None else _lead_indices(leads, names)
    try:
        # wfdb reads every lead's bytes of a block, whichever it converts: size blocks by all.
        frames_per_block = max(1, READ_BLOCK_VALUES // max(1, n_leads))
        read = dict(physical=True, smooth_frames=True, channels=None if leads is None else channels)
        if n_frames <= frames_per_block:  # short, or the length is not in the header
            signal = wfdb.rdrecord(record_path, **read).p_signal
        else:
            signal = np.empty((n_frames, len(channels)), dtype=np.float64)
            for start in range(0, n_frames, frames_per_block):
                stop = min(start + frames_per_block, n_frames)
                block = wfdb.rdrecord(record_path, sampfrom=start, sampto=stop, **read)
                signal[start:stop] = block.p_signal
    except Exception as error:  # wfdb raises many types for a malformed record
        raise unreadable(error) from None
    if signal is None or signal.size == 0:
        raise ECGInputError(f"The record described by '{header_name}' holds no samples.")
    units = list(header.units or [])
    return _WfdbSignal(
        signal,
        float(header.fs),
        [names[i] for i in channels] if names else [],
        [units[i] for i in channels] if units else [],
    )


def _rdann(record_path: str, extension: str, file_name: str) -> Annotations:
    import wfdb

    try:
        annotation = wfdb.rdann(record_path, extension)
    except Exception as error:  # wfdb's own text (e.g. an index error) alone is no guidance
        raise ECGInputError(
            f"Could not read the annotation file '{file_name}': it is not a valid WFDB "
            f"annotation file ({error}). Upload the record without it, or the original file."
        ) from None
    return Annotations(
        samples=np.asarray(annotation.sample, dtype=np.int64),
        symbols=[str(s) for s in annotation.symbol],
    )


# --- validation shared by every source --------------------------------------------------------


def validated_record(
    signal: np.ndarray,
    fs: float,
    lead_names: list[str],
    name: str,
    units: list[str],
    annotations: Annotations | None,
) -> Record:
    """Check a signal ``(n_samples, n_leads)`` and wrap it in a :class:`Record`.

    Fills short NaN gaps (see :data:`MAX_NAN_GAP_S`), refuses long ones, infinite values,
    flat lines, records shorter than :data:`MIN_DURATION_S` and rates outside 50-10000 Hz.
    """
    # No copy when the signal is float64 already (a 24-hour 12-lead record is 4 GB); a copy
    # is made below only if a gap must be filled in an array the caller still holds.
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ECGInputError(f"Record '{name}' holds no samples.")
    fs = validate_fs(fs)
    duration_s = x.shape[0] / fs
    if duration_s < MIN_DURATION_S:
        raise ECGInputError(
            f"Record '{name}' is too short: {duration_s:.2f} s ({x.shape[0]} samples at "
            f"{fs:g} Hz). At least {MIN_DURATION_S:g} s are needed to find beats and RR intervals."
        )
    for lead in range(x.shape[1]):
        filled = _fill_short_gaps(x[:, lead], fs, lead_names[lead])
        if filled is not None:
            if np.may_share_memory(x, signal):
                x = x.copy()
            x[:, lead] = filled
    low, high = x.min(axis=0), x.max(axis=0)  # no temporary the size of the signal
    if np.all(high - low <= 1e-12 * np.maximum(1.0, np.maximum(np.abs(low), np.abs(high)))):
        raise ECGInputError(
            f"Record '{name}' is a flat line (every sample of every lead equals its first "
            f"value, {x[0, 0]:g}): there is no ECG to analyse. Check the electrodes or the column."
        )
    return Record(
        signal=x,
        fs=fs,
        lead_names=list(lead_names),
        name=name,
        units=list(units),
        annotations=annotations,
    )


def _fill_short_gaps(values: np.ndarray, fs: float, lead_name: str) -> np.ndarray | None:
    """The lead with its short NaN gaps interpolated; None when it has none."""
    infinite = np.isinf(values)
    if infinite.any():
        first_s = np.flatnonzero(infinite)[0] / fs
        raise ECGInputError(
            f"Lead '{lead_name}' holds infinite values (the first at {first_s:.3f} s)."
        )
    missing = np.isnan(values)
    if not missing.any():
        return None
    if missing.all():
        raise ECGInputError(f"Lead '{lead_name}' holds no valid samples (all values missing).")
    starts, ends = run_bounds(missing)
    longest = int(np.argmax(ends - starts))
    longest_s = (ends[longest] - starts[longest]) / fs
    if longest_s > MAX_NAN_GAP_S:
        raise ECGInputError(
            f"Lead '{lead_name}' has a gap of {longest_s:.2f} s with no data (from "
            f"{starts[longest] / fs:.2f} s). Gaps up to {MAX_NAN_GAP_S:g} s are filled in; "
            "longer ones are refused rather than guessed. Cut the record around the gap."
        )
    if missing.mean() > MAX_NAN_FRACTION:
        raise ECGInputError(
            f"Lead '{lead_name}' misses {100 * missing.mean():.1f} % of its samples "
            f"(at most {100 * MAX_NAN_FRACTION:g} % can be filled in)."
        )
    index = np.arange(values.size)
    filled = values.copy()
    filled[missing] = np.interp(index[missing], index[~missing], values[~missing])
    return filled
