"""Text normalization shared by forms, services and imports (one place for every rule).

- digits: Arabic-Indic (٠-٩) and Persian (۰-۹) digits become ASCII;
- names: trimmed, inner white space collapsed;
- search keys: Arabic folded (alef/hamza forms, taa marbuta, alef maqsura, diacritics,
  tatweel) so "احمد" finds "أحمد" and "فاطمه" finds "فاطمة";
- phones: any common Egyptian form becomes E.164 (+201xxxxxxxxx) via phonenumbers.
"""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_PHONE_REGION = "EG"

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        "ـ": None,  # tatweel
    }
)
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_SPACES = re.compile(r"\s+")
# Invisible marks that Excel and phones paste into cells.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def digits_ascii(value: str) -> str:
    return value.translate(_DIGITS)


def name_clean(value: str) -> str:
    """Trim, drop invisible marks and collapse inner white space."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", value or "")).strip()


def search_key(value: str) -> str:
    """A folded form of a name for matching: spelling variants of Arabic letters compare equal."""
    folded = _DIACRITICS.sub("", name_clean(value)).translate(_ARABIC_FOLD)
    return digits_ascii(folded).casefold()


def phone_e164(value: str, *, region: str = DEFAULT_PHONE_REGION) -> str:
    """Return the phone number in E.164, or raise ValidationError with a translated message."""
    raw = digits_ascii(_INVISIBLE.sub("", str(value or ""))).strip()
    if not raw:
        raise ValidationError(_("Enter a phone number."), code="required")
    compact = re.sub(r"[\s\-().]", "", raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith("20") and len(compact) == 12:
        compact = "+" + compact  # 2010xxxxxxxx typed without the plus
    try:
        parsed = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("“%(value)s” is not a phone number."), code="invalid", params={"value": value}) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("“%(value)s” is not a valid phone number."), code="invalid", params={"value": value})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def scan_code_clean(value: str) -> str:
    """R1: a scanned or typed code, trimmed, with Arabic-Indic and Persian digits made ASCII."""
    return digits_ascii(_INVISIBLE.sub("", str(value or ""))).strip()
