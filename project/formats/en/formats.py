"""English for a center in Egypt: the same day-month-year order and week as the Arabic pages."""

DATE_FORMAT = "j F Y"  # 28 November 2026
TIME_FORMAT = "H:i"  # 17:30
DATETIME_FORMAT = "j F Y, H:i"  # 28 November 2026, 17:30
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d/m/Y"  # 28/11/2026
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 6  # Saturday

# ISO first (what date widgets write); day-first when typed, never month-first.
DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # 2026-11-28
    "%d/%m/%Y",  # 28/11/2026
    "%d-%m-%Y",  # 28-11-2026
    "%d/%m/%y",  # 28/11/26
    "%d %b %Y",  # 28 Nov 2026
    "%d %B %Y",  # 28 November 2026
]
TIME_INPUT_FORMATS = [
    "%H:%M:%S",  # 17:30:59
    "%H:%M:%S.%f",  # 17:30:59.000200
    "%H:%M",  # 17:30
]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",  # 2026-11-28 17:30:59
    "%Y-%m-%d %H:%M:%S.%f",  # 2026-11-28 17:30:59.000200
    "%Y-%m-%d %H:%M",  # 2026-11-28 17:30
    "%d/%m/%Y %H:%M:%S",  # 28/11/2026 17:30:59
    "%d/%m/%Y %H:%M:%S.%f",  # 28/11/2026 17:30:59.000200
    "%d/%m/%Y %H:%M",  # 28/11/2026 17:30
]

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
