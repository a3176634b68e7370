"""One list of counterfeit slang and honest wording, matched on folded titles."""

from __future__ import annotations

import re

import duckdb

from transforms.wording import fold, load_wording, pattern, wording_params


def test_folding_maps_full_width_to_half_width_and_lower_case() -> None:
    assert fold("Ａ货 １：１ 超Ａ\u3000原单") == "a货 1:1 超a 原单"


def test_sql_folds_titles_as_python_does() -> None:
    params = wording_params()
    title = "正品Ａ货１：１复刻ＮＩＫＥ\u3000清仓"
    with duckdb.connect() as con:
        row = con.execute(
            "select lower(translate($t, $fullwidth, $halfwidth)),"
            " regexp_matches(lower(translate($t, $fullwidth, $halfwidth)), $slang_pattern),"
            " regexp_matches(lower(translate($t, $fullwidth, $halfwidth)), $honest_pattern)",
            {"t": title} | params,
        ).fetchone()
    assert row == (fold(title), True, True)


def test_every_term_matches_itself_and_nothing_else_matches() -> None:
    wording = load_wording()
    slang = re.compile(pattern(wording.slang))
    assert all(slang.search(fold(f"xx{t}yy")) for t in wording.slang)
    assert not slang.search(fold("博世原装雨刮器 适用于大众")) and "1:1" in wording.slang
    honest = re.compile(pattern(wording.honest))
    assert all(honest.search(fold(t)) for t in wording.honest)
