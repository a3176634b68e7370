"""Which of the contract's infringement and violation types count as counterfeiting, and which
failed inspections are severe: one list each, passed to SQL as parameters
(`$counterfeit_types`, `$severe_types`) wherever a query needs them."""

from __future__ import annotations

# complaints.infringement_type values that describe a counterfeit (a fake mark, origin or a
# substandard product sold as the real one); patent, copyright, unlicensed and other do not
COUNTERFEIT_TYPES = ("counterfeit_trademark", "fake_origin", "substandard_quality")
# inspections.violation_type values of a severe failure: the counterfeit ones and unlicensed
# trading (mislabelled and other are not)
SEVERE_TYPES = (*COUNTERFEIT_TYPES, "unlicensed")


def violation_params() -> dict[str, list[str]]:
    """The two lists as query parameters."""
    return {"counterfeit_types": list(COUNTERFEIT_TYPES), "severe_types": list(SEVERE_TYPES)}
