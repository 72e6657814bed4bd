"""Arabic as written in Egypt: day month year, 24-hour times, a decimal point, Saturday first.

Times are 24-hour ("17:30") because the kiosk, the door boards and the timetable show them so.
"""

DATE_FORMAT = "j F Y"  # 28 نوفمبر 2026
TIME_FORMAT = "H:i"  # 17:30
DATETIME_FORMAT = "j F Y، H:i"  # 28 نوفمبر 2026، 17:30
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d/m/Y"  # 28/11/2026
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 6  # Saturday

# The first entry is what date widgets write: ISO, as the admin's calendar and the HTML date
# inputs send. Day-first is accepted when typed; month-first never is (28/11 vs 11/28).
DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # 2026-11-28
    "%d/%m/%Y",  # 28/11/2026
    "%d-%m-%Y",  # 28-11-2026
    "%d/%m/%y",  # 28/11/26
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
