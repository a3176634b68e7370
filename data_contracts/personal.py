"""Personal data that must never leave the warehouse: finding it in free text, and telling a
whole phone number from a fragment. The one home of these patterns.

What counts as personal, in any text that leaves the warehouse:
- a mainland mobile number: 11 digits starting 13-19, optionally after +86 / 0086 / 86,
  written whole or in groups of 3-4-4 or 4-3-4 (spaces, dashes or dots between);
- a landline with its area code: 010 / 02x and 8 digits, or 03xx-09xx and 7-8 digits,
  written 0971-5555555, (0971)5555555, 09715555555, +86 971 5555555 and the like;
- a landline without an area code (7-8 digits, e.g. 5555555 or 555-5555) only right after a
  word that says it is one (电话, 手机, 座机, 联系, tel, phone, …): a bare 7-8 digit run
  elsewhere may be a price, a quantity or an order number, and stays;
- a resident ID number: 18 digits (the last may be X), or the old 15 digits whose
  characters 7-12 are a date (YYMMDD: an IMEI or an order number seldom is).
Full-width digits (１８６…) count as digits. Region codes (6 digits), USCCs (letters inside),
dates and amounts are left alone.

Patterns are written without look-arounds where DuckDB (RE2) and Polars (Rust regex) also use
them to find candidate rows; Python adds the digit boundaries.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection

PHONE_REMOVED = "[电话已隐去 phone removed]"
ID_REMOVED = "[身份证号已隐去 ID removed]"
NUMBER_REMOVED = "[号码已隐去 number removed]"
PURGED_TEXT = "[已删除 purged]"  # a complaint text purged by retention or erasure

_WIDE = str.maketrans("0123456789", "０１２３４５６７８９")
# One-to-one, so a match found in the folded text has the same span in the original.
_FOLD = str.maketrans("０１２３４５６７８９＋（）－\u3000", "0123456789+()- ")


def _wide(chars: str) -> str:
    """A character class of ASCII digits (or ranges) and their full-width forms."""
    return "[" + chars + chars.translate(_WIDE) + "]"


D = _wide("0-9")
_NOT_D_BEFORE = f"(?<!{D})"
_NOT_D_AFTER = f"(?!{D})"
SEP = "[ \u3000\\-‐–—－.·]"  # one separator between groups of digits
_SEPS = "[ \u3000\\-‐–—－.·()（）]{0,3}"  # any separators between two digits of a known number
_COUNTRY = f"(?:(?:\\+|＋|00)?{_wide('8')}{_wide('6')}{SEP}?)"
_MOBILE = (
    f"{_COUNTRY}?{_wide('1')}{_wide('3-9')}{D}(?:{SEP}?{D}{{4}}){{2}}"
    f"|{_COUNTRY}?{_wide('1')}{_wide('3-9')}{D}{{2}}{SEP}{D}{{3}}{SEP}{D}{{4}}"
)
_AREA = f"(?:{_wide('1')}{_wide('0')}|{_wide('2')}{D}|{_wide('3-9')}{D}{{2}})"  # after the 0
_LOCAL = f"{D}{{3,4}}{SEP}?{D}{{4}}"
_LANDLINE = (
    f"(?:{_COUNTRY}[(（]?{_wide('0')}?{_AREA}[)）]?"
    f"|[(（]{_wide('0')}{_AREA}[)）]|{_wide('0')}{_AREA}){SEP}?{_LOCAL}"
)
_ID18 = f"{_wide('1-8')}{D}{{16}}[0-9０-９Xx]"
_ID15 = (
    f"{_wide('1-8')}{D}{{7}}(?:{_wide('0')}{_wide('1-9')}|{_wide('1')}{_wide('0-2')})"
    f"(?:{_wide('0')}{_wide('1-9')}|{_wide('12')}{D}|{_wide('3')}{_wide('01')}){D}{{3}}"
)
_PHONE_WORD = "(?:电话|手机|座机|固话|联系方式|联系|热线|致电|拨打|[Tt][Ee][Ll]|[Pp]hone)"

# Text that may hold a phone number (no look-arounds: for DuckDB and Polars prefilters).
PHONE_CANDIDATE = f"{_MOBILE}|{_LANDLINE}"

_PHONE = re.compile(f"{_NOT_D_BEFORE}(?:{PHONE_CANDIDATE}){_NOT_D_AFTER}")
_ID_CARD = re.compile(f"(?<![0-9A-Za-z０-９])(?:{_ID18}|{_ID15})(?![0-9A-Za-z０-９])")
_LOCAL_AFTER_WORD = re.compile(
    f"(?P<word>{_PHONE_WORD}(?:号码|号)?[:：是为\\s]*){_NOT_D_BEFORE}{_LOCAL}{_NOT_D_AFTER}"
)
_BARE_NUMBER = re.compile(f"{_NOT_D_BEFORE}{_LOCAL}{_NOT_D_AFTER}")

_MOBILE_DIGITS = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE_DIGITS = re.compile(r"0(?:10|2[0-9])[0-9]{8}|0[3-9][0-9]{2}[0-9]{7,8}")


def redact_personal(text: str, *, bare_numbers: bool = False) -> str:
    """Text with phone numbers and resident ID numbers blanked out (see the module's rules).

    `bare_numbers` also blanks every standalone run of 7-8 digits: for a record whose cells
    cannot be told apart (a malformed row of a feed with a phone column)."""
    text = _ID_CARD.sub(ID_REMOVED, text)
    text = _PHONE.sub(PHONE_REMOVED, text)
    text = _LOCAL_AFTER_WORD.sub(lambda m: m["word"] + PHONE_REMOVED, text)
    if bare_numbers:
        text = _BARE_NUMBER.sub(NUMBER_REMOVED, text)
    return text


class NotAPhoneNumber(ValueError):
    """A text that is not one whole phone number (the message never quotes it)."""


def normalize_phone(text: str) -> str:
    """The phone number as digits: a mobile's 11 digits, or a landline's area code (with its 0)
    and local number. Spaces, dashes, dots, brackets and a +86 / 0086 / 86 prefix are dropped.

    Raises NotAPhoneNumber for anything else: a fragment, a landline without its area code,
    letters or quotes."""
    folded = text.translate(_FOLD).strip()
    digits = re.sub(r"[ \-‐–—.·()（）]", "", folded)
    international = digits.startswith(("+", "00"))
    digits = digits.removeprefix("+")
    if not digits.isascii() or not digits.isdigit():
        raise NotAPhoneNumber(
            "a phone number holds only digits, spaces, dashes, dots, brackets and a +86 prefix"
        )
    if digits.startswith("0086") or (digits.startswith("86") and len(digits) > 11):
        digits = digits.removeprefix("00")[2:]
        if not digits.startswith("0") and not _MOBILE_DIGITS.fullmatch(digits):
            digits = "0" + digits  # +86 971 5555555: the area code without its trunk 0
    elif international:
        raise NotAPhoneNumber("only mainland numbers (+86) are phone numbers here")
    if _MOBILE_DIGITS.fullmatch(digits) or _LANDLINE_DIGITS.fullmatch(digits):
        return digits
    raise NotAPhoneNumber(
        "not a whole phone number: give a mobile number (11 digits starting 13-19) or a "
        "landline with its area code (e.g. 0971-5555555), optionally with +86"
    )


def phone_digits(text: str) -> str | None:
    """`normalize_phone(text)`, or None when the text is not one whole phone number."""
    try:
        return normalize_phone(text)
    except NotAPhoneNumber:
        return None


def _spaced(digits: str) -> str:
    return _SEPS.join(_wide(d) for d in digits)


def phone_pattern(phone: str) -> str:
    """A regular expression (no look-arounds) for one normalised phone number in any written
    form: grouped, bracketed, dotted, with +86, full-width; a landline also by its local
    number alone. For DuckDB and Polars prefilters; `phone_matcher` adds the boundaries."""
    if phone.startswith("1"):
        return f"(?:{_COUNTRY}[)）]?{_SEPS})?{_spaced(phone)}"
    area = 3 if phone.startswith(("010", "02")) else 4
    local = phone[area:]
    return (
        f"{_COUNTRY}[)）]?{_SEPS}{_wide('0')}?{_SEPS}{_spaced(phone[1:])}"
        f"|{_spaced(phone)}|{_spaced(local)}"
    )


def phone_matcher(phone: str) -> re.Pattern[str]:
    """`phone_pattern` not inside a longer run of digits."""
    return re.compile(f"{_NOT_D_BEFORE}(?:{phone_pattern(phone)}){_NOT_D_AFTER}")


def phones_in(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised number) of every whole phone number written in `text` (mobiles
    and landlines with their area code)."""
    found = []
    for m in _PHONE.finditer(text):
        digits = phone_digits(m.group())
        if digits is not None:
            found.append((m.start(), m.end(), digits))
    return found


def digest(value: str) -> str:
    """The SHA-256 (hex) of a normalised value: what a tombstone keeps instead of the value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def rewrite_record(
    record: str,
    text: Callable[[str], str],
    *,
    drop: Collection[str] = (),
    keep: Collection[str] = (),
) -> str:
    """A delivered or quarantined record (JSON of one row's cells) with each value passed
    through `text`, keys in `drop` removed and keys in `keep` left as they are (compared
    lower-cased and trimmed). The record stays valid JSON; a record that is not JSON is
    rewritten as text."""
    try:
        data = json.loads(record)
    except ValueError:
        return text(record)
    if not isinstance(data, dict):
        return text(record)
    out: dict[str, object] = {}
    for key, value in data.items():
        name = key.strip().lower()
        if name in drop:
            continue
        if value is None or name in keep:
            out[key] = value
        elif isinstance(value, str):
            out[key] = text(value)
        else:
            written = json.dumps(value, ensure_ascii=False)
            changed = text(written)
            out[key] = value if changed == written else changed
    return json.dumps(out, ensure_ascii=False)
