"""The metering export's vocabulary (docs/inputs.md §2): columns, media, units, reading kinds, and each unit's exact
factor to its medium's canonical unit (kWh, kg, m3, MJ). Physical conversions, not policy numbers."""

from __future__ import annotations

from datetime import date

import numpy as np

from pipelines.cells import clean_text

SHEET = "metering"
SCALE = 6  # values are read at six decimal places: micro-units of the unit as given
MICRO = 10**SCALE
DAY = 86_400
EPOCH = date(1970, 1, 1)
CHUNK_BYTES = 24 << 20  # one batch: about 300,000 rows, bounded memory whatever the file size
ROW_BYTES = 80  # a typical line, to turn a batch's bytes into rows

# Column key -> Chinese header (docs/inputs.md §2); both are accepted.
COLUMNS = {
    "credit_code": "统一社会信用代码",
    "meter_id": "计量点编号",
    "medium": "介质",
    "unit": "单位",
    "reading_kind": "读数类型",
    "timestamp": "时间",
    "value": "数值",
}

# Medium key -> Chinese label, in a fixed order: the index is part of the internal series key.
MEDIA = {
    "electricity": "电",
    "renewable_electricity": "可再生电力",
    "raw_coal": "原煤",
    "coke": "焦炭",
    "natural_gas": "天然气",
    "diesel": "柴油",
    "gasoline": "汽油",
    "fuel_oil": "燃料油",
    "heat": "热力",
    "water": "水",
}
MEDIUM_KEYS = tuple(MEDIA)
MEDIUM_ALIASES = {"电力": "electricity", "绿电": "renewable_electricity", "蒸汽": "heat", "新水": "water"}

# Canonical unit per medium, and each accepted unit's factor to it. Physical conversions, not policy numbers.
_ENERGY_UNITS = {"kWh": ("kWh", 1), "MWh": ("kWh", 1000)}
_MASS_UNITS = {"kg": ("kg", 1), "t": ("kg", 1000)}
CANONICAL_UNITS: dict[str, dict[str, tuple[str, int]]] = {
    "electricity": _ENERGY_UNITS,
    "renewable_electricity": _ENERGY_UNITS,
    "raw_coal": _MASS_UNITS,
    "coke": _MASS_UNITS,
    "diesel": _MASS_UNITS,
    "gasoline": _MASS_UNITS,
    "fuel_oil": _MASS_UNITS,
    "natural_gas": {"m3": ("m3", 1), "万m3": ("m3", 10_000)},
    "heat": {"MJ": ("MJ", 1), "GJ": ("MJ", 1000)},
    # Water intake: one tonne is one cubic metre (docs/policy.md, verified water saving).
    "water": {"m3": ("m3", 1), "万m3": ("m3", 10_000), "t": ("m3", 1)},
}
CANONICAL_UNIT = {medium: next(iter(units.values()))[0] for medium, units in CANONICAL_UNITS.items()}
UNIT_KEYS = ("kWh", "MWh", "kg", "t", "m3", "万m3", "MJ", "GJ")
UNIT_ALIASES = {
    "kwh": "kWh",
    "千瓦时": "kWh",
    "度": "kWh",
    "mwh": "MWh",
    "兆瓦时": "MWh",
    "kg": "kg",
    "千克": "kg",
    "公斤": "kg",
    "t": "t",
    "吨": "t",
    "m3": "m3",
    "m³": "m3",
    "立方米": "m3",
    "万m3": "万m3",
    "万m³": "万m3",
    "万立方米": "万m3",
    "mj": "MJ",
    "兆焦": "MJ",
    "gj": "GJ",
    "吉焦": "GJ",
}
MAX_INTERVAL_E6 = 10**10 * 10**6  # the largest interval reading kept, canonical micro-units
MAX_COUNTER_E6 = 10**12 * 10**6  # the largest counter reading kept
EXTRA = "_extra_fields"  # fields beyond the header, on a line that has too many
KINDS = ("interval", "cumulative")
KIND_ALIASES = {"interval": 0, "区间量": 0, "cumulative": 1, "累计示数": 1, "累计量": 1}


class MeteringFileError(ValueError):
    """The file as a whole cannot be read (header, encoding): one rejection for the file, no rows."""

    def __init__(self, code: str, message: str, given: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.given = given  # what the file had there, shortened


def medium_index(text: str) -> int:
    t = (clean_text(text) or "").lower()
    for i, (key, zh) in enumerate(MEDIA.items()):
        if t in (key, zh):
            return i
    alias = MEDIUM_ALIASES.get(t)
    return MEDIUM_KEYS.index(alias) if alias else -1


def unit_index(text: str) -> int:
    t = (clean_text(text) or "").replace(" ", "")
    key = UNIT_ALIASES.get(t.lower()) or UNIT_ALIASES.get(t)
    return UNIT_KEYS.index(key) if key else -1


def kind_index(text: str) -> int:
    return KIND_ALIASES.get((clean_text(text) or "").lower(), -1)


# Factor to canonical micro-units, by (medium index, unit index); 0 where the unit does not fit the medium.
FACTORS = np.zeros((len(MEDIUM_KEYS), len(UNIT_KEYS)), dtype=np.int64)
for _m, _medium_key in enumerate(MEDIUM_KEYS):
    for _unit_key, (_canonical, _factor) in CANONICAL_UNITS[_medium_key].items():
        FACTORS[_m, UNIT_KEYS.index(_unit_key)] = _factor
METER_BITS_CAP = 1 << 20
