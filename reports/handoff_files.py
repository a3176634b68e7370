"""The referral review list (两法衔接审查清单: referral_review.csv / .xlsx) and the hand-off
list by province (线索通报: handoff_by_province.csv / .xlsx), written from the frames
`models.handoff_lists` builds."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from models.handoff_lists import HEADERS_ZH, VALUE_LABELS
from reports.sheets import write_list


def write_referral_review_list(frame: pl.DataFrame, out_dir: Path) -> list[Path]:
    """referral_review.csv and .xlsx (两法衔接审查清单)."""
    notes = [
        ("清单", "两法衔接审查清单（涉嫌犯罪线索，供审查是否移送公安机关）"),
        ("线索数", str(frame.height)),
        (
            "依据",
            "评分达到阈值且估算违法经营额达到所涉商品类别的立案追诉标准（models/config/referral.yaml）",
        ),
    ]
    return write_list(
        frame,
        out_dir,
        "referral_review",
        HEADERS_ZH,
        "两法衔接审查清单",
        notes=notes,
        value_labels=VALUE_LABELS,
    )


def write_handoff_list(frame: pl.DataFrame, out_dir: Path) -> list[Path]:
    """handoff_by_province.csv and .xlsx (线索通报), the workbook with one sheet per province."""
    counts = frame.group_by("province_code", "province_name", maintain_order=True).len()
    notes = [("清单", "跨省线索通报清单（按登记地省份分组）"), ("线索数", str(frame.height))]
    notes += [(f"{r[0]} {r[1]}", f"{r[2]}条线索") for r in counts.iter_rows()]
    return write_list(
        frame,
        out_dir,
        "handoff_by_province",
        HEADERS_ZH,
        "线索通报（全部）",
        group_sheets="province_name",
        notes=notes,
        value_labels=VALUE_LABELS,
    )
