"""English for a center in Egypt: the Arabic pages' formats (day month year, 24-hour times, a
decimal point, Saturday first), with an English comma and English month names accepted when typed."""

from project.formats.ar.formats import *  # noqa: F403
from project.formats.ar.formats import DATE_INPUT_FORMATS as ARABIC_DATE_INPUT_FORMATS

DATETIME_FORMAT = "j F Y, H:i"  # 28 November 2026, 17:30
DATE_INPUT_FORMATS = [
    *ARABIC_DATE_INPUT_FORMATS,
    "%d %b %Y",  # 28 Nov 2026
    "%d %B %Y",  # 28 November 2026
]
