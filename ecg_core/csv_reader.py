"""ECG from a CSV: delimiter and header sniffed, sampling rate from a time column or given.

Accepted layouts (comma, semicolon, tab, ``|`` or whitespace between values; ``#`` lines
are comments; a decimal comma is understood when the delimiter is not a comma)::

    0.12                 time,MLII,V5          'Elapsed time','MLII','V5'
    0.15                 0.000,-0.145,-0.065   'seconds','mV','mV'          <- units row
    ...                  0.003,-0.145,-0.065   0.000,-0.145,-0.065

A time column is recognised by its name (``time``, ``t``, ``seconds``, ``time_ms``,
``time (ms)``, ``sample``, ``index`` ...) or, without a header, as a first column that
strictly increases. Its unit comes from the name when it says one, else from the step
(a step of 0.0001-0.02 is seconds, 0.1-20 is milliseconds, integers 0, 1, 2 ... count
samples and need ``fs``). Lead columns keep their header names (``MLII (mV)`` gives the
lead ``MLII`` in ``mV``); without a unit, millivolts are assumed.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecg_core.errors import ECGInputError
from ecg_core.preprocessing import MAX_FS, MIN_FS

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}

#: Most leads (CSV columns, WFDB signals) read. Body-surface maps record a few hundred; a
#: wider table is a record laid along a row, or not an ECG. It also bounds the parsers' time:
#: pandas spends ~15 µs per column (a 5 MB row of '1,' took 34 s) and wfdb's header parsing
#: grows with the square of the signal count (100 000 signals took minutes).
MAX_LEADS = 1000

_BOOLEAN_CELL = re.compile(r"(?i)(?<![\w.])(true|false)(?![\w.])")
_NA_STRINGS = {"", "nan", "na", "n/a", "null", "none", "-"}
_DELIMITERS = ("\t", ";", ",", "|")
_SNIFF_LINES = 200
_MS_KEYS = {"ms", "msec", "msecs", "millisecond", "milliseconds", "timems", "tms", "timemsec"}
_S_KEYS = {"s", "sec", "secs", "second", "seconds", "times", "timesec", "timeseconds", "ts"}
_TIME_KEYS = {"time", "t", "timestamp", "elapsedtime", "elapsed"}
_SAMPLE_KEYS = {"sample", "samples", "sampleindex", "samplenumber", "sampleno", "index", "idx"}


def read_csv_signal(path: Path, fs: float | None) -> tuple[np.ndarray, float, list[str], list[str]]:
    """Parse ``path`` into ``(signal (n, leads), fs, lead_names, units)``.

    The signal may still hold NaN (empty cells); the caller validates it.
    """
    raw = path.read_bytes()
    if not raw or raw.isspace():
        raise ECGInputError(f"The file '{path.name}' is empty.")
    text, encoding = _decode(raw)
    # Where the text starts in the file when it is UTF-8 (after a byte-order mark), so that
    # its data rows can be parsed from the file itself; None for other encodings.
    utf8_start = None
    if encoding == "utf-8":
        utf8_start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    file_size = len(raw)
    del raw  # a 24-hour CSV is hundreds of MB: hold one copy at a time where possible
    if "\x00" in text:  # text never holds NUL; pandas would cut lines at it, or fail
        raise ECGInputError(
            f"The file '{path.name}' is not text (it holds binary data): it cannot be a CSV. "
            "Export the ECG as a CSV file (numbers as text, UTF-8 or UTF-16 with BOM)."
        )
    # Blank lines inside the data are missing samples (filled or refused later, like empty
    # cells); blank lines around it are not. The data rows of plain files (no comment lines,
    # no unusual line breaks, a delimiter) are parsed from the file itself when it is UTF-8,
    # else cut out of the text as one string; only the other files are split into a list of
    # lines, which costs ~70 bytes a line (a 24-hour CSV of 540 MB took 7.7 GB that way).
    plain = _plain_lines(text)
    lines = plain.head if plain else _lines_without_comments(text)
    if not lines:
        raise ECGInputError(f"The file '{path.name}' holds no data (only comments).")
    sample = [line for line in lines[:_SNIFF_LINES] if line.strip()]
    delimiter = _sniff_delimiter(sample)
    _check_column_count(path.name, sample, delimiter)
    decimal = _sniff_decimal(sample[1:], delimiter)

    names: list[str] | None = None
    units_row: list[str] | None = None
    n_header_rows = 0
    first = _split(lines[0], delimiter)
    if any(cell and not _is_number(cell, decimal) for cell in first):
        names, n_header_rows = first, 1
        second = _split(lines[1], delimiter) if len(lines) > 1 else []
        if second and all(not _is_number(cell, decimal) for cell in second if cell):
            units_row, n_header_rows = second, 2  # PhysioNet-style export: names, then units
        if (plain.n_lines if plain else len(lines)) <= n_header_rows:
            raise ECGInputError(f"The file '{path.name}' has a header but no data rows.")

    if plain and delimiter is not None:
        body_start = plain.offset_after(text, n_header_rows)
        if _has_boolean_cell(text, body_start, plain.end):  # pandas would read them as 1/0
            raise _not_a_number_error(
                path.name, text[body_start : plain.end], _read_options(delimiter, decimal), names
            )
        body: str | _FileRows
        if utf8_start is None:
            body = text[body_start : plain.end]
        else:  # parsed from the file: no copy of a text of hundreds of MB is held
            body = _FileRows(
                path,
                utf8_start + len(text[:body_start].encode("utf-8")),
                file_size - len(text[plain.end :].encode("utf-8")),
            )
        del text, lines
        data = _parse_numbers(path.name, None, delimiter, decimal, names, body)
    else:
        if plain:  # whitespace-separated: the rows are stripped one by one, as lines
            lines = _lines_without_comments(text)
        data = _parse_numbers(path.name, lines[n_header_rows:], delimiter, decimal, names)
    if delimiter is None and names and len(names) != data.shape[1]:
        if data.shape[1] == 1:
            # Whitespace-separated single column: a header such as "MLII (mV)" is one name.
            names = [" ".join(names)]
            units_row = [" ".join(units_row)] if units_row else None
        elif len(merged := _with_units_joined(names)) == data.shape[1]:
            names = merged  # "time (s) MLII (mV)": each unit belongs to the name before it
    names = names or []
    # A trailing delimiter on every row makes an empty, unnamed column: drop it.
    keep = [
        c
        for c in range(data.shape[1])
        if not (np.isnan(data[:, c]).all() and not (c < len(names) and names[c]))
    ]
    data = data[:, keep]
    names = [names[c] if c < len(names) else "" for c in keep] if names else []
    units_row = [units_row[c] if c < len(units_row) else "" for c in keep] if units_row else None
    if data.shape[1] == 0:
        raise ECGInputError(f"The file '{path.name}' holds no numbers.")
    data = _check_column_lengths(data, names)

    time_column, time_unit = _find_time_column(data, names, units_row)
    if time_column is None:
        if fs is None:
            raise ECGInputError(
                f"'{path.name}' has no time column, so the sampling rate must be given "
                "(e.g. fs=360), or add a first column 'time' in seconds."
            )
        fs_value = float(fs)
    else:
        label = names[time_column] if names else "column 1"
        fs_value = _rate_from_time(data[:, time_column], time_unit, label, fs)
    lead_columns = [c for c in range(data.shape[1]) if c != time_column]
    if not lead_columns:
        raise ECGInputError(f"'{path.name}' holds only a time column and no ECG lead.")

    lead_names, units = [], []
    for number, c in enumerate(lead_columns, start=1):
        base, unit = _split_name_unit(names[c]) if names else ("", "")
        if units_row and units_row[c]:
            unit = units_row[c]
        default_name = "ECG" if len(lead_columns) == 1 else f"lead{number}"
        lead_names.append(base or default_name)
        units.append(unit or "mV")
    return data[:, lead_columns], fs_value, lead_names, units


#: Line breaks that ``str.splitlines`` honours and pandas does not (or not alike): a file
#: holding any of them is split into lines in Python.
_UNUSUAL_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]|\r(?!\n)")
_COMMENT_LINE = re.compile(r"(?m)^\s*#")


def _lines_without_comments(text: str) -> list[str]:
    """The lines of ``text`` without comment lines and without the blank lines around them."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return []
    last = next(i for i in range(len(lines) - 1, -1, -1) if lines[i].strip())
    return lines[first : last + 1]


@dataclass
class _PlainLines:
    """A text without comment lines whose lines end in \\n or \\r\\n: its content is
    ``text[start:end]`` (the blank lines around it left out), of which ``head`` holds the
    first :data:`_SNIFF_LINES` lines, as ``str.splitlines`` gives them."""

    start: int
    end: int
    head: list[str]
    n_lines: int  # lines in text[start:end], or more than len(head) when that is all we know

    def offset_after(self, text: str, n_rows: int) -> int:
        """Where the content after its first ``n_rows`` lines starts in ``text``."""
        position = self.start
        for _ in range(n_rows):
            position = text.find("\n", position, self.end) + 1
        return position


@dataclass
class _FileRows:
    """Data rows of a UTF-8 file as the byte range ``[start, end)`` of the file."""

    path: Path
    start: int
    end: int

    def open(self) -> io.BufferedReader:
        return io.BufferedReader(_ByteRange(self.path.open("rb"), self.start, self.end))

    def text(self) -> str:
        with self.open() as rows:
            return rows.read().decode("utf-8")


class _ByteRange(io.RawIOBase):
    """A read-only stream over bytes ``[start, end)`` of an open binary file (closed with it)."""

    def __init__(self, file: io.BufferedReader, start: int, end: int):
        file.seek(start)
        self._file, self._left = file, end - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        n = self._file.readinto(memoryview(buffer)[: self._left]) or 0
        self._left -= n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _plain_lines(text: str) -> _PlainLines | None:
    """:class:`_PlainLines` of ``text``, or None when it has comment or unusual line breaks."""
    if ("#" in text and _COMMENT_LINE.search(text)) or _UNUSUAL_BREAKS.search(text):
        return None
    first_content = re.search(r"\S", text)
    if first_content is None:
        return None
    start = text.rfind("\n", 0, first_content.start()) + 1
    end = len(text)  # after the last character that is not white space, then to its line end
    while end > start and text[end - 1].isspace():
        step = min(65536, end - start)
        tail = text[end - step : end].rstrip()
        end = end - step + len(tail)
        if tail:
            break
    line_end = text.find("\n", end)
    end = len(text) if line_end < 0 else line_end
    head, position = [], start
    while position <= end and len(head) < _SNIFF_LINES:
        line_end = text.find("\n", position, end)
        line_end = end if line_end < 0 else line_end
        head.append(text[position:line_end].removesuffix("\r"))
        position = line_end + 1
    more = position <= end
    return _PlainLines(start, end, head, len(head) + 1 if more else len(head))


def _decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-16 with a byte-order mark, else UTF-8, else Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM (spreadsheet exports)
        return raw.decode("utf-16", errors="replace"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits (almost) every sampled line into the same number of cells;
    None means runs of whitespace (which also covers a single column)."""
    for candidate in _DELIMITERS:
        counts = np.array([line.count(candidate) for line in lines])
        modal = np.bincount(counts).argmax()
        if modal > 0 and np.mean(counts == modal) >= 0.9:
            return candidate
    return None


def _check_column_count(file_name: str, lines: list[str], delimiter: str | None) -> None:
    """Refuse rows of more than :data:`MAX_LEADS` leads before anything splits them: a
    200 MB single row would hold 100 million cells."""
    limit = MAX_LEADS + 2  # the leads, a time column and a trailing delimiter's empty cell
    for line in lines:
        # maxsplit bounds the work and memory to the first cells, however long the row.
        if len(line.split(delimiter, limit)) > limit:
            raise ECGInputError(
                f"'{file_name}' has rows of more than {MAX_LEADS} values; a CSV ECG has one row "
                f"per sample and one column per lead (at most {MAX_LEADS}). If the samples run "
                "along a row, transpose the table."
            )


def _sniff_decimal(lines: list[str], delimiter: str | None) -> str:
    if delimiter == ",":
        return "."
    cells = [cell for line in lines for cell in _split(line, delimiter)]
    comma = sum(bool(re.fullmatch(r"[-+]?\d*,\d+", cell)) for cell in cells)
    dot = sum(bool(re.fullmatch(r"[-+]?\d*\.\d+([eE][-+]?\d+)?", cell)) for cell in cells)
    return "," if comma > dot else "."


def _split(line: str, delimiter: str | None) -> list[str]:
    cells = line.split() if delimiter is None else line.split(delimiter)
    return [cell.strip().strip("\"'").strip() for cell in cells]


def _is_number(cell: str, decimal: str) -> bool:
    if cell.lower() in _NA_STRINGS:
        return True
    try:
        float(cell.replace(",", ".") if decimal == "," else cell)
    except ValueError:
        return False
    return True


def _read_options(delimiter: str | None, decimal: str) -> dict:
    """pandas.read_csv options for the data rows."""
    return dict(
        sep=r"\s+" if delimiter is None else delimiter,
        header=None,
        decimal=decimal,
        skipinitialspace=True,
        skip_blank_lines=False,
        na_values=sorted(_NA_STRINGS - {""}),
    )


def _parse_numbers(
    file_name: str,
    lines: list[str] | None,
    delimiter: str | None,
    decimal: str,
    names: list[str] | None,
    body: str | _FileRows | None = None,
) -> np.ndarray:
    """The data rows as numbers: ``lines``, or ``body`` (the same rows as one text, or as
    a byte range of the file, already checked for true/false cells)."""
    options = _read_options(delimiter, decimal)
    if body is None:
        body = "\n".join(line.strip() if delimiter is None else line for line in lines)
        if _has_boolean_cell(body):  # pandas would read them as 1/0: a square wave
            raise _not_a_number_error(file_name, body, options, names)

    def body_text() -> str:
        return body if isinstance(body, str) else body.text()

    # Bytes, not io.StringIO: that holds 4 bytes a character.
    rows = io.BytesIO(body.encode("utf-8")) if isinstance(body, str) else body.open()
    try:
        with rows:
            frame = pd.read_csv(rows, encoding="utf-8", dtype=np.float64, **options)
    except pd.errors.ParserError as error:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if found:  # text with spaces in a whitespace-separated file splits into "values"
            row = int(found.group(2))
            text = (body_text().splitlines() if lines is None else lines)[row - 1].strip()
            if any(not _is_number(cell, decimal) for cell in _split(text, delimiter) if cell):
                raise ECGInputError(
                    f"'{file_name}': data row {row}: '{text[:40]}' is not a number. "
                    "A CSV must hold numbers only, below an optional header row."
                ) from None
        where = (
            f"data row {found.group(2)} has {found.group(3)} values where the rows before it "
            f"have {found.group(1)}"
            if found
            else str(error)
        )
        raise ECGInputError(
            f"'{file_name}': {where}. Every row needs one value per column."
        ) from None
    except ValueError:
        raise _not_a_number_error(file_name, body_text(), options, names) from None
    too_few_names = names is not None and len(names) < frame.shape[1]
    # Named columns beyond the data (a trailing delimiter's empty name aside) would vanish
    # silently, a 'time' column with them; whitespace headers ("MLII (mV)") are merged later.
    too_many_names = names is not None and delimiter is not None and any(names[frame.shape[1] :])
    if (too_few_names and (delimiter or frame.shape[1] > 1)) or too_many_names:
        raise ECGInputError(
            f"'{file_name}': the header names {len(names)} column(s) but the rows hold "
            f"{frame.shape[1]} values. Every row needs one value per column."
        )
    return frame.to_numpy(dtype=np.float64)


def _has_boolean_cell(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether a cell of ``text[start:end]`` reads true or false as spreadsheets write them
    (true, True, TRUE). The substring test first: a regular expression over a 100 MB body
    takes seconds, ``find`` milliseconds."""
    end = len(text) if end is None else end
    if all(text.find(part, start, end) < 0 for part in ("rue", "RUE", "alse", "ALSE")):
        return False
    return _BOOLEAN_CELL.search(text, start, end) is not None


def _not_a_number_error(
    file_name: str, body: str, options: dict, names: list[str] | None
) -> ECGInputError:
    """Locate the first cell that is not a number, for a message that points at it."""
    try:
        frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False, **options)
    except ValueError:  # pandas' EmptyDataError and ParserError are ValueErrors too
        return ECGInputError(f"'{file_name}' could not be read as numbers.")
    bad_row, bad_column, bad_text = None, None, ""
    for column in frame.columns:
        text = frame[column].fillna("").str.strip().str.strip("\"'")
        as_number = text.str.replace(",", ".") if options["decimal"] == "," else text
        numeric = pd.to_numeric(as_number, errors="coerce")
        bad = numeric.isna() & ~text.str.lower().isin(_NA_STRINGS)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            if bad_row is None or row < bad_row:
                bad_row, bad_column, bad_text = row, int(column), str(text.iloc[row])
    if bad_row is None:
        return ECGInputError(f"'{file_name}' could not be read as numbers.")
    label = names[bad_column] if names and bad_column < len(names) else f"column {bad_column + 1}"
    return ECGInputError(
        f"'{file_name}': data row {bad_row + 1}, {label}: '{bad_text[:40]}' is not a number. "
        "A CSV must hold numbers only, below an optional header row."
    )


def _check_column_lengths(data: np.ndarray, names: list[str]) -> np.ndarray:
    """Drop rows empty in every column at the end; refuse columns of different lengths."""
    present = ~np.isnan(data)
    any_row = np.flatnonzero(present.any(axis=1))
    if any_row.size == 0:
        raise ECGInputError("The CSV holds no numbers.")
    data, present = data[: any_row[-1] + 1], present[: any_row[-1] + 1]
    lengths = data.shape[0] - np.argmax(present[::-1], axis=0)
    if lengths.min() != lengths.max():
        short, long = int(np.argmin(lengths)), int(np.argmax(lengths))

        def label(c: int) -> str:
            return f"'{names[c]}'" if names and names[c] else f"column {c + 1}"

        missing = int(lengths[long] - lengths[short])
        raise ECGInputError(
            f"The columns have different lengths: {label(short)} has {lengths[short]} values "
            f"but {label(long)} has {lengths[long]}: its last {missing} row"
            f"{'s are' if missing > 1 else ' is'} empty or NaN (from data row "
            f"{lengths[short] + 1}). A short gap inside a column is filled, but not one at its "
            "end: delete those rows or fill them in."
        )
    return data


def _with_units_joined(tokens: list[str]) -> list[str]:
    """A whitespace-separated header split into tokens, with each bracketed token (a unit)
    joined to the name before it.

    >>> _with_units_joined(["time", "(s)", "MLII", "(mV)", "V5", "[mV]"])
    ['time (s)', 'MLII (mV)', 'V5 [mV]']
    """
    names: list[str] = []
    for token in tokens:
        is_unit = len(token) >= 2 and token[0] in "([" and token[-1] in ")]"
        if names and is_unit:
            names[-1] = f"{names[-1]} {token}"
        else:
            names.append(token)
    return names


def _split_name_unit(name: str) -> tuple[str, str]:
    """``'MLII (mV)'`` -> ``('MLII', 'mV')``; ``'time_ms'`` stays whole (handled by key).

    The unit is the bracketed text at the end, opened by the first bracket after the last
    closing one. Found by hand, not by a regular expression: a header cell is uploaded text,
    and the pattern that says this backtracks for minutes on a long run of spaces.
    """
    text = name.rstrip()
    if not text.endswith((")", "]")):
        return name.strip(), ""
    inner = text[:-1]
    last_close = max(inner.rfind(")"), inner.rfind("]"))
    opens = [
        i for i in (inner.find("(", last_close + 1), inner.find("[", last_close + 1)) if i >= 0
    ]
    if not opens:
        return name.strip(), ""
    return inner[: min(opens)].strip(), inner[min(opens) + 1 :].strip()


def _time_unit(name: str, unit: str) -> str | None:
    """'s', 'ms', 'samples' or 'auto' (decide from the step) for a time column, else None."""
    base, name_unit = _split_name_unit(name)
    key = re.sub(r"[^a-z]", "", base.lower())
    unit_key = re.sub(r"[^a-z]", "", (unit or name_unit).lower())
    if key in _MS_KEYS:
        return "ms"
    if key in _S_KEYS:
        return "s"
    if key in _SAMPLE_KEYS:
        return "samples"
    if key in _TIME_KEYS:
        if unit_key in _MS_KEYS:
            return "ms"
        if unit_key in _S_KEYS:
            return "s"
        return "auto"
    return None


def _find_time_column(
    data: np.ndarray, names: list[str], units_row: list[str] | None
) -> tuple[int | None, str]:
    if names:
        for c, name in enumerate(names):
            unit = _time_unit(name, units_row[c] if units_row else "")
            if unit is not None:
                return c, unit
        return None, ""
    first = data[:, 0]
    if data.shape[1] >= 2 and first.size >= 2 and np.all(np.diff(first) > 0):
        return 0, "auto"  # an ECG lead never rises monotonically for seconds on end
    return None, ""


def _rate_from_time(times: np.ndarray, unit: str, label: str, fs: float | None) -> float:
    steps = np.diff(times)
    if np.isnan(times).any():
        raise ECGInputError(f"The time column '{label}' has empty cells.")
    if steps.size == 0:
        raise ECGInputError("The CSV holds a single row.")
    if np.any(steps <= 0):
        row = int(np.flatnonzero(steps <= 0)[0])
        raise ECGInputError(
            f"The time column '{label}' does not increase at data row {row + 2} "
            f"({times[row]:g} then {times[row + 1]:g})."
        )
    step = (times[-1] - times[0]) / (times.size - 1)
    # Printed times are rounded (e.g. 3 decimals at 360 Hz), so compare each time with the
    # ideal grid rather than each step with the next: a skipped stretch shows as a large
    # residual, rounding never exceeds half a step.
    residual = np.abs(times - (times[0] + step * np.arange(times.size)))
    if residual.max() > 0.5 * step:
        typical = float(np.median(steps))
        row = int(np.argmax(np.abs(steps - typical)))
        raise ECGInputError(
            f"The time column '{label}' is not evenly spaced: it steps by {steps[row]:g} at data "
            f"row {row + 2} where {typical:g} is typical. Resample the signal to a constant "
            "rate first (irregular sampling is not supported)."
        )
    integers = np.all(times == np.round(times))
    if unit == "auto":
        if integers and abs(step - 1.0) < 1e-9:
            unit = "samples"
        elif MIN_FS <= 1.0 / step <= MAX_FS:
            unit = "s"
        elif MIN_FS <= 1000.0 / step <= MAX_FS:
            unit = "ms"
        else:
            raise ECGInputError(
                f"The time column '{label}' steps by {step:g}, which is neither seconds nor "
                f"milliseconds at a supported rate ({MIN_FS:g}-{MAX_FS:g} Hz). Name it 'time_s' "
                "or 'time_ms', or remove it and give the sampling rate."
            )
    if unit == "samples":
        if fs is None:
            raise ECGInputError(
                f"The column '{label}' counts samples (0, 1, 2, ...), which does not say the "
                "sampling rate: give it (e.g. fs=360)."
            )
        return float(fs) / step
    with np.errstate(over="ignore"):
        fs_from_time = (1.0 if unit == "s" else 1000.0) / step
    if not MIN_FS <= fs_from_time <= MAX_FS:  # checked here: round() fails on an infinite rate
        raise ECGInputError(
            f"The time column '{label}' steps by {step:g} {unit}, i.e. {fs_from_time:g} Hz, "
            f"outside the supported range {MIN_FS:g}-{MAX_FS:g} Hz. Check the column's unit."
        )
    if abs(fs_from_time - round(fs_from_time)) <= 0.002 * fs_from_time:
        fs_from_time = float(round(fs_from_time))  # undo the rounding of printed times
    if fs is not None and abs(float(fs) - fs_from_time) > 0.01 * fs_from_time:
        raise ECGInputError(
            f"The time column '{label}' implies {fs_from_time:g} Hz but a sampling rate of "
            f"{float(fs):g} Hz was given. Leave the rate empty to use the time column."
        )
    return float(fs) if fs is not None else fs_from_time
