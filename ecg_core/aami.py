"""AAMI EC57 beat classes, the MIT-BIH symbol mapping and the inter-patient split.

The single place where these protocol constants live (DESIGN.md §3).
"""

from __future__ import annotations

import numpy as np

#: Class order used everywhere: model outputs, confusion matrices, metrics.
AAMI_CLASSES: tuple[str, ...] = ("N", "S", "V", "F", "Q")
CLASS_INDEX: dict[str, int] = {label: i for i, label in enumerate(AAMI_CLASSES)}

#: MIT-BIH beat annotation symbol -> AAMI class. Symbols not listed are not beats
#: (rhythm changes, noise, `+ ~ | x [ ] !` ...); `!` (flutter wave) is not a beat in EC57.
SYMBOL_TO_AAMI: dict[str, str] = {
    **dict.fromkeys(["N", "L", "R", "e", "j"], "N"),
    **dict.fromkeys(["A", "a", "J", "S"], "S"),
    **dict.fromkeys(["V", "E"], "V"),
    "F": "F",
    **dict.fromkeys(["/", "f", "Q"], "Q"),
}

#: de Chazal et al. (2004) inter-patient split. Paced records 102, 104, 107, 217 are left out.
DS1: tuple[str, ...] = tuple(
    "101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split()
)
DS2: tuple[str, ...] = tuple(
    "100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234".split()
)
PACED: tuple[str, ...] = ("102", "104", "107", "217")
#: Fixed DS1 validation records (train.py --early-stop / --hold-out-val), chosen by their DS1
#: class counts only so that S- and V-rich records sit on both sides: val S = 321 (118, 201,
#: 220), V = 658 (119, 201, 118); train keeps 209, 207, 223, 124 (S) and 208, 106, 203, 223,
#: 207, 215 (V) and all of F's 208.
DS1_VAL_RECORDS: tuple[str, ...] = ("101", "118", "119", "201", "220")
DS1_TRAIN_RECORDS: tuple[str, ...] = tuple(r for r in DS1 if r not in DS1_VAL_RECORDS)
MITDB_ALL: tuple[str, ...] = tuple(sorted((*DS1, *DS2, *PACED)))


def symbols_to_classes(symbols: list[str] | np.ndarray) -> np.ndarray:
    """Map annotation symbols to AAMI class indices; non-beat symbols become -1.

    >>> symbols_to_classes(["N", "V", "+", "A"]).tolist()
    [0, 2, -1, 1]
    """
    return np.array(
        [CLASS_INDEX.get(SYMBOL_TO_AAMI.get(s, ""), -1) for s in symbols], dtype=np.int64
    )


def resolve_record_list(spec: str, available: list[str] | None = None) -> list[str]:
    """Turn ``DS1``, ``DS2``, ``all`` or ``"100,101"`` / ``"100 101"`` into record names.

    ``all`` means every record in ``available`` (a database's RECORDS file or directory
    listing), so that the same option works on databases other than MIT-BIH.
    """
    key = spec.strip()
    if key.upper() == "DS1":
        return list(DS1)
    if key.upper() == "DS2":
        return list(DS2)
    if key.lower() == "all":
        if available is None:
            raise ValueError("'all' needs the list of available records")
        return sorted(available)
    return [name for name in key.replace(",", " ").split() if name]
