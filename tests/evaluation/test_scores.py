"""Score tables: mixed files, their default rows, and the names of the shipped tables."""

import json
from pathlib import Path

import pytest

from naswot.evaluation.scores import (
    SHIPPED_TABLES,
    load_score_tables,
    load_scores,
    scores_location,
    shipped_scores_path,
)
from naswot.exceptions import InvalidParameterError
from naswot.spaces import SPACES

SPACE = SPACES.get("nb201")
A = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
B = "|skip_connect~0|+|none~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"


def mixed(tmp_path: Path, meta: dict[str, object] | None) -> Path:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "arch,proxy,variant,score,status\n"
        f"{A},zico,default,1.0,ok\n{B},zico,default,2.0,ok\n"
        f"{A},mean_rank,zico+swap,0.5,ok\n{B},mean_rank,zico+swap,1.5,ok\n"
    )
    if meta is not None:
        (tmp_path / "mixed.csv.meta.json").write_text(json.dumps(meta))
    return path


def test_a_mixed_file_needs_a_proxy_unless_its_sidecar_names_default_rows(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="mixes several proxies"):
        load_scores(mixed(tmp_path, None), SPACE)
    path = mixed(tmp_path, {"default_rows": "mean_rank:zico+swap"})
    table = load_scores(path, SPACE)
    assert table.proxy == "mean_rank/zico+swap" and sorted(table.scores.values()) == [0.5, 1.5]
    assert sorted(load_scores(path, SPACE, proxy="zico").scores.values()) == [1.0, 2.0]
    unknown = mixed(tmp_path, {"default_rows": "nope"})  # names no rows: the choice stays yours
    with pytest.raises(InvalidParameterError, match="mixes several proxies"):
        load_scores(unknown, SPACE)


def test_several_tables_from_one_read_equal_one_at_a_time(tmp_path: Path) -> None:
    path = mixed(tmp_path, None)
    tables = load_score_tables(path, SPACE, ["zico", "mean_rank:zico+swap"])
    for label, table in tables.items():
        alone = load_scores(path, SPACE, proxy=label)
        assert (table.scores, table.failed, table.proxy) == (
            alone.scores,
            alone.failed,
            alone.proxy,
        )
    with pytest.raises(InvalidParameterError, match="no rows of proxy 'swap', 'meco'"):
        load_score_tables(path, SPACE, ["zico", "swap", "meco"])


def test_shipped_tables_by_name() -> None:
    for name in SHIPPED_TABLES:
        assert shipped_scores_path(name).is_file(), name
    assert scores_location("shipped:naswot") == shipped_scores_path()
    assert scores_location("my.csv") == Path("my.csv")
    with pytest.raises(InvalidParameterError, match="the shipped tables are naswot, recommended"):
        scores_location("shipped:best")
