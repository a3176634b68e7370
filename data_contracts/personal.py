"""Personal data that must never leave the warehouse: finding it in free text."""

from __future__ import annotations

import re

# Mainland mobile numbers (optionally +86, spaces or dashes) and resident ID numbers.
_PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]{4}){2}(?![0-9])")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])[1-8][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
PHONE_REMOVED = "[电话已隐去 phone removed]"
ID_REMOVED = "[身份证号已隐去 ID removed]"


def redact_personal(text: str) -> str:
    """Text with mobile phone and resident ID numbers blanked out."""
    return _ID_CARD.sub(ID_REMOVED, _PHONE.sub(PHONE_REMOVED, text))
