"""The YAML configurations are read through their pydantic schemas (data_contracts/config.py):
every committed file loads, and a bad file names each bad key on a line of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from data_contracts.config import ConfigError
from flows.configs import CONFIGURATIONS, configuration_problems
from models.dispositions import load_disposition_config
from models.scoring import CONFIG_DIR, load_baseline_config, load_referral_config
from models.surges import CONFIG_PATH as SURVEILLANCE_PATH
from models.surges import load_config


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_every_committed_configuration_loads(name: str) -> None:
    path, load = CONFIGURATIONS[name]
    assert load(path) is not None


def _broken(tmp_path: Path, source: Path, change: dict[str, object]) -> Path:
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    for dotted, value in change.items():
        *parents, key = dotted.split(".")
        node = raw
        for part in parents:
            node = node[part]
        if value is None:
            del node[key]
        else:
            node[key] = value
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_each_bad_key_is_named_on_its_own_line(tmp_path: Path) -> None:
    path = _broken(
        tmp_path,
        SURVEILLANCE_PATH,
        {
            "lookback_days": "ninety",  # not a number
            "scan.threshhold": 7.0,  # a typo: unknown key
            "negbin.alpha": None,  # missing
            "method": "poisson",  # not one of the methods
        },
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 4
    assert all(line.startswith("surveillance.yaml: ") for line in lines)
    where = {line.split(": ")[1] for line in lines}
    assert where == {"lookback_days", "scan.threshhold", "negbin.alpha", "method"}


def test_an_unknown_score_term_is_refused(tmp_path: Path) -> None:
    path = _broken(tmp_path, CONFIG_DIR / "baseline.yaml", {"weights.low_prices": 3.0})
    with pytest.raises(ConfigError, match=r"baseline.yaml: weights: .*low_prices"):
        load_baseline_config(path)


def test_a_config_that_is_not_yaml_says_so(tmp_path: Path) -> None:
    path = tmp_path / "referral.yaml"
    path.write_text("min_score: [0.6\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="referral.yaml: not valid YAML"):
        load_referral_config(path)


def test_numbers_written_as_text_are_read_as_numbers(tmp_path: Path) -> None:
    path = _broken(tmp_path, CONFIG_DIR / "dispositions.yaml", {"hold_days": "60"})
    assert load_disposition_config(path).hold_days == 60


def test_the_run_checks_every_configuration_first(tmp_path: Path) -> None:
    assert configuration_problems() == []
    bad = _broken(tmp_path, CONFIG_DIR / "referral.yaml", {"min_scor": 0.5, "min_score": None})
    problems = configuration_problems({"referral": (bad, load_referral_config)})
    assert problems == [
        "referral.yaml: min_score: Field required",
        "referral.yaml: min_scor: Extra inputs are not permitted",
    ]


def test_a_section_read_into_a_dataclass_refuses_unknown_keys_too(tmp_path: Path) -> None:
    path = _broken(tmp_path, SURVEILLANCE_PATH, {"negbin.alfa": 0.01, "severity.high.max_pp": 1.0})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    where = {line.split(": ")[1] for line in str(caught.value).splitlines()}
    assert where == {"negbin.alfa", "severity.high.max_pp"}
