"""A recorded Kalshi temperature bracket's strike terms from its subtitle (the listing of
../shared/data/prices carries subtitles, not strikes): shared by the sim's real-days world and the priced
replay."""
from __future__ import annotations

import re


def strikes_of(subtitle: str) -> tuple[str, int | None, int | None] | None:
    """(strike_type, floor_strike, cap_strike) as Kalshi sets them: '85° or above' -> greater than 84;
    '76° or below' -> less than 77; '83° to 84°' -> between 83 and 84. None: not a bracket subtitle."""
    text = subtitle.replace("°", "").strip()
    if m := re.fullmatch(r"(-?\d+) or above", text):
        return "greater", int(m.group(1)) - 1, None
    if m := re.fullmatch(r"(-?\d+) or below", text):
        return "less", None, int(m.group(1)) + 1
    if m := re.fullmatch(r"(-?\d+) to (-?\d+)", text):
        return "between", int(m.group(1)), int(m.group(2))
    return None
