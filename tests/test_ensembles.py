"""Rank-sum, majority-vote and AZ-NAS log-rank aggregation of proxy scores."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naswot.ensembles import (
    ENSEMBLES,
    log_rank,
    majority_vote,
    oriented_ranks,
    rank_sum,
)
from naswot.exceptions import InvalidParameterError

# naswot: higher is better; ntk: lower is better (looked up in the registry)
SCORES = {"naswot": [1.0, 3.0, 2.0, 4.0], "ntk": [5.0, 1.0, 9.0, 2.0]}
# oriented ranks (1 = worst, 4 = best): naswot [1, 3, 2, 4]; ntk [2, 4, 1, 3]


def test_rank_sum_by_hand() -> None:
    assert rank_sum(SCORES).tolist() == [3.0, 7.0, 3.0, 7.0]


def test_log_rank_by_hand() -> None:
    expected = [
        math.log(1 / 4) + math.log(2 / 4),
        math.log(3 / 4) + math.log(4 / 4),
        math.log(2 / 4) + math.log(1 / 4),
        math.log(4 / 4) + math.log(3 / 4),
    ]
    assert log_rank(SCORES) == pytest.approx(expected)


def test_majority_vote_by_hand() -> None:
    scores = {"naswot": [1.0, 3.0, 2.0], "ntk": [5.0, 1.0, 9.0], "params": [1, 2, 3]}
    # (0,1): all three prefer 1. (0,2): naswot and params prefer 2, ntk prefers 0.
    # (1,2): naswot and ntk prefer 1, params prefers 2. Wins: 0, 2, 1.
    assert majority_vote(scores).tolist() == [0.0, 2.0, 1.0]
    # two proxies that disagree on every pair: all pairs are ties, half a win each
    assert majority_vote({"naswot": [1, 2, 3], "params": [3, 2, 1]}).tolist() == [1.0, 1.0, 1.0]


def test_explicit_orientation_overrides_and_unknown_names_need_one() -> None:
    flipped = rank_sum(SCORES, higher_is_better={"ntk": True})
    assert flipped.tolist() == [4.0, 4.0, 6.0, 6.0]
    with pytest.raises(InvalidParameterError, match="orientation"):
        rank_sum({"my_proxy": [1.0, 2.0]})
    assert rank_sum({"my_proxy": [1.0, 2.0]}, higher_is_better={"my_proxy": False}).tolist() == [
        2.0,
        1.0,
    ]


def test_nan_policies() -> None:
    scores = {"naswot": [1.0, None, 2.0, -math.inf], "params": [4.0, 3.0, float("nan"), 1.0]}
    ranks, complete = oriented_ranks(scores)
    # naswot: the failure is the worst (rank 1), below -inf (rank 2); params: the NaN is rank 1
    assert ranks.tolist() == [[3.0, 1.0, 4.0, 2.0], [4.0, 3.0, 1.0, 2.0]]
    assert complete.all()
    omitted = rank_sum(scores, nan_policy="omit")
    assert np.isnan(omitted[[1, 2]]).all()
    assert omitted[[0, 3]].tolist() == [4.0, 2.0]
    assert np.isnan(majority_vote(scores, nan_policy="omit")[1])
    with pytest.raises(InvalidParameterError, match="architecture 1 for proxy 'naswot'"):
        log_rank(scores, nan_policy="raise")
    with pytest.raises(InvalidParameterError, match="nan_policy"):
        rank_sum(scores, nan_policy="ignore")  # type: ignore[arg-type]


def test_bad_inputs() -> None:
    with pytest.raises(InvalidParameterError, match="at least one"):
        rank_sum({})
    with pytest.raises(InvalidParameterError, match="same architectures"):
        rank_sum({"naswot": [1.0, 2.0], "params": [1.0]})


def test_registry_of_methods() -> None:
    assert set(ENSEMBLES) == {"rank_sum", "vote", "log_rank"}


score_lists = st.lists(
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False, width=32),
    min_size=2,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(a=score_lists, data=st.data())
def test_invariants(a: list[float], data: st.DataObject) -> None:
    b = data.draw(
        st.lists(st.floats(-10, 10, allow_subnormal=False), min_size=len(a), max_size=len(a))
    )
    scores = {"naswot": a, "params": b}
    m = len(a)
    # increasing transforms of a proxy's scores change nothing (powers of 2: exact in floats)
    shifted = {"naswot": [2.0 * v for v in a], "params": [v / 8.0 for v in b]}
    for method in ENSEMBLES.values():
        assert np.allclose(method(scores), method(shifted))
    # the vote hands out exactly one point per pair
    assert majority_vote(scores).sum() == pytest.approx(m * (m - 1) / 2)
    # rank sums add up to n_proxies * m(m+1)/2; log ranks are <= 0 with 0 only for a best-in-all
    assert rank_sum(scores).sum() == pytest.approx(2 * m * (m + 1) / 2)
    assert (log_rank(scores) <= 1e-12).all()
    # one proxy alone: every method orders the architectures as the proxy does
    alone = {"naswot": a}
    for method in ENSEMBLES.values():
        combined = method(alone)
        for i in range(m):
            for j in range(m):
                if a[i] > a[j]:
                    assert combined[i] > combined[j]


def test_ensemble_spec_parses_labels_and_suggests_methods() -> None:
    from naswot.ensembles import EnsembleSpec

    spec = EnsembleSpec.parse(" log_rank:naswot+ntk+naswot:official ")
    assert spec.method == "log_rank"
    assert spec.members == ("naswot", "ntk", "naswot:official")
    assert spec.label == "log_rank:naswot+ntk+naswot:official"
    scores = {"naswot": [1.0, 3.0, 2.0], "ntk": [5.0, 1.0, 9.0], "naswot:official": [1, 2, 3]}
    # a "name:variant" label takes the orientation of its proxy; ntk is lower-is-better
    assert spec.combine(scores).tolist() == pytest.approx(log_rank(scores).tolist())
    for bad, message in [
        ("log_rank", "METHOD:proxy"),
        ("log_rank:", "METHOD:proxy"),
        ("logrank:naswot+ntk", "Did you mean 'log_rank'"),
        ("vote:naswot+naswot", "twice"),
    ]:
        with pytest.raises(InvalidParameterError, match=message):
            EnsembleSpec.parse(bad)
    with pytest.raises(InvalidParameterError, match="needs scores of ntk"):
        spec.combine({"naswot": [1.0, 2.0]})


def test_named_ensembles_name_registered_proxies() -> None:
    from naswot.ensembles import NAMED_ENSEMBLES
    from naswot.proxies import PROXIES

    assert NAMED_ENSEMBLES.names() == ["az_nas", "recommended", "recommended_search", "vkdnw_agg"]
    for name in NAMED_ENSEMBLES.names():
        entry = NAMED_ENSEMBLES.get(name)
        assert entry.doc and entry.method in ("rank_sum", "vote", "log_rank")
        for member in entry.members:
            proxy, _, variant = member.partition(":")
            assert proxy in PROXIES, member
            assert not variant or variant in PROXIES.get(proxy).variants, member


def test_resolve_ensemble_takes_names_and_specs() -> None:
    from naswot.ensembles import resolve_ensemble

    az = resolve_ensemble("az_nas")
    assert az.label == "az_nas" and az.method == "log_rank" and len(az.members) == 4
    assert az.spec == "log_rank:" + "+".join(az.members)
    spec = resolve_ensemble("rank_sum:naswot+zico")
    assert spec.label == "rank_sum:naswot+zico" and spec.name is None
    with pytest.raises(InvalidParameterError, match="Did you mean 'az_nas'"):
        resolve_ensemble("az_naz")
