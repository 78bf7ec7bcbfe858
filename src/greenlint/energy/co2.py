"""Optional: grams of CO2 for measured energy, from codecarbon's OFFLINE data only.

codecarbon is an optional extra. This module never imports it (importing codecarbon pulls in
its API client and more); it only locates the installed package with
``importlib.util.find_spec`` and reads the country table it ships,
``codecarbon/data/private_infra/global_energy_mix.json`` (``carbon_intensity`` in gCO2/kWh,
keyed by ISO 3166-1 alpha-3 code). Nothing here touches the network. Without codecarbon every
function returns None unless an explicit intensity is passed.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

JOULES_PER_KWH = 3.6e6


@lru_cache(maxsize=1)
def _energy_mix() -> dict | None:
    try:
        spec = importlib.util.find_spec("codecarbon")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / "private_infra" / "global_energy_mix.json"
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
    return None


def carbon_intensity(country: str) -> float | None:
    """gCO2/kWh for ``country`` (ISO alpha-3 like "FRA", or the English name) from
    codecarbon's offline table; None when codecarbon is absent or the country unknown."""
    table = _energy_mix()
    if not table:
        return None
    entry = table.get(country.upper())
    if entry is None:
        lowered = country.strip().lower()
        entry = next((v for v in table.values() if str(v.get("country_name", "")).lower() == lowered), None)
    if not entry or entry.get("carbon_intensity") is None:
        return None
    return float(entry["carbon_intensity"])


def co2_grams(joules: float, country_iso: str | None = None, *, intensity_g_per_kwh: float | None = None) -> float | None:
    """Grams of CO2 for ``joules`` at the grid intensity of ``country_iso`` (or the intensity
    given). The result inherits the label of the joules: CO2 from an estimate is an estimate."""
    intensity = intensity_g_per_kwh
    if intensity is None:
        if not country_iso:
            return None
        intensity = carbon_intensity(country_iso)
        if intensity is None:
            return None
    return joules / JOULES_PER_KWH * intensity
