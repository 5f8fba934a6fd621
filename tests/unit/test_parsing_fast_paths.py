"""The speed rewrites behave exactly like the definitions they replaced: ``feature_matrix``
(itemgetter + NaN fix-up), ``decode`` (orjson first, json for NaN and the error wording),
``result_set`` (row widths in one pass), ``Raw.integer`` (int fast path) and exports'
``encode`` (orjson for the canonical bytes)."""

from __future__ import annotations

import gzip
import json
import math
import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backcourt.domain.errors import MalformedRawFile
from backcourt.domain.features import FEATURES
from backcourt.models.gbm import arrow_matrix, feature_matrix
from backcourt.services.exports import encode
from backcourt.sources.parsing import Raw, decode, result_set

PATH = "raw/test/2025-01-15/file.json"
BOM = b"\xef\xbb\xbf"
COLUMNS = [(f.column, f.default) for f in sorted(FEATURES, key=lambda f: f.index)]
MISSING = object()
FAST = settings(max_examples=150, deadline=None)


# -- feature_matrix ----------------------------------------------------------------------------


def old_feature_matrix(rows: Sequence[Mapping[str, Any]]) -> Any:
    """The definition before the rewrite (what the rewrite must equal)."""
    return np.asarray([[d if (v := row.get(c)) is None else v for c, d in COLUMNS] for row in rows],
                      dtype=np.float64).reshape(len(rows), len(COLUMNS))


def _cells(complete: bool) -> st.SearchStrategy[Any]:
    values: list[st.SearchStrategy[Any]] = [
        st.none(), st.just(math.nan), st.booleans(), st.integers(-10**6, 10**6),
        st.floats(allow_nan=False), st.decimals(allow_nan=False, allow_infinity=False, places=3),
        st.floats(-100, 100).map(np.float64),
    ]
    return st.one_of(*values) if complete else st.one_of(st.just(MISSING), *values)


@st.composite
def feature_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows with every column present (the fast path) or some missing (the fallback)."""
    out = []
    for _ in range(draw(st.integers(0, 3))):
        complete = draw(st.booleans())
        row = {c: draw(_cells(complete)) for c, _ in COLUMNS}
        row = {c: v for c, v in row.items() if v is not MISSING}
        row["player_lookup"] = "somebody"  # other columns of a feature-store row are ignored
        out.append(row)
    return out


@settings(max_examples=60, deadline=None)
@given(feature_rows())
def test_feature_matrix_equals_the_old_definition(rows: list[dict[str, Any]]) -> None:
    got = feature_matrix(rows)
    want = old_feature_matrix(rows)
    assert got.dtype == np.float64 and got.shape == want.shape == (len(rows), len(COLUMNS))
    np.testing.assert_array_equal(got, want)  # NaN equals NaN here, in the same cells


def test_feature_matrix_equals_the_old_definition_on_many_random_rows() -> None:
    rnd = random.Random(20250115)
    pool: list[Any] = [MISSING, None, math.nan, True, False, 0, 3, -2, 1.5, -0.0, 1e300,
                       math.inf, Decimal("2.125"), np.float64(4.25), np.int64(9)]
    rows = []
    for i in range(3000):
        sparse = i % 3 == 0  # a third of the rows lack some columns (the fallback path)
        cells = {c: rnd.choice(pool if sparse else pool[1:]) for c, _ in COLUMNS}
        rows.append({c: v for c, v in cells.items() if v is not MISSING})
    np.testing.assert_array_equal(feature_matrix(rows), old_feature_matrix(rows))
    np.testing.assert_array_equal(feature_matrix(rows[1::3]), old_feature_matrix(rows[1::3]))


def test_null_and_missing_take_the_default_and_nan_stays_nan() -> None:
    (c0, d0), (c1, d1), (c2, _) = COLUMNS[:3]
    full = {c: 1.5 for c, _ in COLUMNS}
    m = feature_matrix([{**full, c0: None, c2: math.nan}, {c1: 7}])
    assert m[0, 0] == d0 and m[0, 1] == 1.5 and math.isnan(m[0, 2])
    assert m[1, 1] == 7.0 and m[1, 0] == d0
    assert list(m[1, 2:]) == [d for _, d in COLUMNS[2:]]
    assert not math.isnan(d0) and not math.isnan(d1)


def test_arrow_matrix_equals_the_row_matrix() -> None:
    """Phase 5A builds its matrices from ``Warehouse.query_arrow`` columns: the same float64
    values as ``feature_matrix`` of the same rows as dicts — NULL at the default, a NaN value
    left NaN, -0.0 and infinities kept, a column the table lacks at its default everywhere."""
    import pyarrow as pa

    rnd = random.Random(20251208)
    pool: list[Any] = [None, math.nan, 0.0, -0.0, 1.5, -2.25, 1e300, math.inf, 3.0, 0.1]
    rows = [{c: rnd.choice(pool) for c, _ in COLUMNS} for _ in range(2000)]
    table = pa.table({c: pa.array([r[c] for r in rows], pa.float64()) for c, _ in COLUMNS})
    got = arrow_matrix(table)
    assert got.dtype == np.float64 and got.flags.c_contiguous
    assert got.tobytes() == feature_matrix(rows).tobytes()  # bit for bit, NaN and -0.0 too
    dropped = COLUMNS[3][0]
    partial = table.drop_columns([dropped])
    rows_without = [{c: v for c, v in r.items() if c != dropped} for r in rows]
    assert arrow_matrix(partial).tobytes() == feature_matrix(rows_without).tobytes()
    assert arrow_matrix(table.slice(0, 0)).shape == (0, len(COLUMNS))


def test_feature_matrix_of_no_rows_has_every_column() -> None:
    m = feature_matrix([])
    assert m.shape == (0, len(COLUMNS)) and m.dtype == np.float64


# -- decode ------------------------------------------------------------------------------------


def old_decode(data: bytes, path: str) -> Any:
    """``decode`` before orjson: json only (gzip is covered by ``test_gzip_and_bom``)."""
    if not data.strip():
        raise MalformedRawFile(path, "empty file")
    text = data.decode("utf-8-sig")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        ends = exc.pos >= len(text.rstrip())
        what = "truncated JSON" if ends else "not valid JSON"
        raise MalformedRawFile(
            path, f"{what}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def canonical(value: Any) -> str:
    """A text telling apart everything decode could get wrong: int/float/bool, NaN, order."""
    return json.dumps(value, allow_nan=True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)


@FAST
@given(json_values, st.booleans(), st.booleans(), st.booleans())
def test_decode_equals_json_on_documents(value: Any, ascii_only: bool, bom: bool,
                                         zipped: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=None if ascii_only else 1)
    data = (BOM if bom else b"") + text.encode("utf-8")
    if zipped:
        data = gzip.compress(data)
    assert canonical(decode(data, PATH)) == canonical(json.loads(text))


NUMERAL = r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?"


@FAST
@given(st.from_regex(NUMERAL, fullmatch=True))
def test_decode_reads_numerals_like_json(numeral: str) -> None:
    """Correct rounding of long decimals, huge and tiny exponents (inf and 0.0 included)."""
    for text in (numeral, f"[{numeral}]"):
        assert canonical(decode(text.encode(), PATH)) == canonical(json.loads(text))


@st.composite
def almost_json(draw: st.DrawFn) -> str:
    """Valid documents cut or edited at a random place, and JSON-ish noise."""
    if draw(st.booleans()):
        return draw(st.text(alphabet='{}[]",:0123456789.eE+- \n\\utrefalsnNIiy', max_size=40))
    text = json.dumps(draw(json_values))
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(["", ",", "]", "}", "x", " ", "'", "NaN"]))


@FAST
@given(almost_json())
def test_decode_accepts_and_rejects_what_json_did_with_the_same_words(text: str) -> None:
    data = text.encode()
    try:
        want = old_decode(data, PATH)
    except MalformedRawFile as exc:
        with pytest.raises(MalformedRawFile) as got:
            decode(data, PATH)
        assert (got.value.path, got.value.problem) == (exc.path, exc.problem)
        return
    assert canonical(decode(data, PATH)) == canonical(want)


def test_nan_and_infinity_literals_still_decode() -> None:
    got = decode(b'{"a": NaN, "b": [Infinity, -Infinity], "c": 1}', PATH)
    assert math.isnan(got["a"]) and got["b"] == [math.inf, -math.inf] and got["c"] == 1


@pytest.mark.parametrize(("data", "problem"), [
    (b'{"a": [1, 2', "truncated JSON: Expecting ',' delimiter at line 1 column 12"),
    (b'{"a": [1, 2\n  \n', "truncated JSON: Expecting ',' delimiter at line 3 column 1"),
    (b"{'not': json}",
     "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    (b"[1, 2,]", "not valid JSON: Expecting value at line 1 column 7"),
    (b'{"a": 1} {"b": 2}', "not valid JSON: Extra data at line 1 column 10"),
    (b'{"a": nan}', "not valid JSON: Expecting value at line 1 column 7"),
    (BOM + b'{"a": [1', "truncated JSON: Expecting ',' delimiter at line 1 column 9"),
    (b"  \n", "empty file"),
    (BOM, "truncated JSON: Expecting value at line 1 column 1"),
    (BOM + BOM + b"{}", "not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 "
                        "column 1"),
])
def test_bad_json_keeps_its_messages(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedRawFile) as err:
        decode(data, PATH)
    assert err.value.problem == problem and err.value.path == PATH


def test_gzip_and_bom() -> None:
    doc = {"player": "Nikola Jokić", "pts": [31, 12.5, None, True]}
    plain = json.dumps(doc, ensure_ascii=False).encode()
    for data in (plain, BOM + plain, gzip.compress(BOM + plain), gzip.compress(plain)):
        assert decode(data, PATH) == doc


def test_integers_beyond_64_bits_stay_exact() -> None:
    big = 2**64 + 1
    got = decode(json.dumps({"id": big}).encode(), PATH)
    assert type(got["id"]) is int and got["id"] == big


# -- result_set and Raw.integer ----------------------------------------------------------------

HEADERS = ("GAME_ID", "PLAYER", "PTS")


def _doc(rows: list[Any]) -> dict[str, Any]:
    return {"resultSets": [{"name": "Other", "headers": ["X"], "rowSet": [[1]]},
                           {"name": "PlayerStats", "headers": [*HEADERS, "EXTRA"],
                            "rowSet": rows}]}


def test_result_set_rows_are_dicts_by_header() -> None:
    rows = [["g1", "A", 10, None], ["g1", "B", 0, "x"]]
    got = result_set(Raw(PATH), _doc(rows), "PlayerStats", HEADERS)
    assert got == [{"GAME_ID": "g1", "PLAYER": "A", "PTS": 10, "EXTRA": None},
                   {"GAME_ID": "g1", "PLAYER": "B", "PTS": 0, "EXTRA": "x"}]
    assert result_set(Raw(PATH), _doc([]), "PlayerStats", HEADERS) == []


@pytest.mark.parametrize(("bad", "problem"), [
    (["g1", "B", 0], "resultSets[PlayerStats].rowSet[1] has 3 values for 4 headers"),
    (["g1", "B", 0, 1, 2], "resultSets[PlayerStats].rowSet[1] has 5 values for 4 headers"),
    ([], "resultSets[PlayerStats].rowSet[1] has 0 values for 4 headers"),
    ({"GAME_ID": "g1"}, "resultSets[PlayerStats].rowSet[1]: expected an array, got dict"),
    (None, "resultSets[PlayerStats].rowSet[1]: expected an array, got null"),
    ("g1,B,0,1", "resultSets[PlayerStats].rowSet[1]: expected an array, got str"),
])
def test_a_bad_row_is_named(bad: Any, problem: str) -> None:
    rows = [["g1", "A", 10, None], bad, ["g1", "C", 1, None]]
    with pytest.raises(MalformedRawFile) as err:
        result_set(Raw(PATH), _doc(rows), "PlayerStats", HEADERS)
    assert err.value.problem == problem and err.value.path == PATH


@pytest.mark.parametrize(("value", "want"), [(0, 0), (-7, -7), (2**70, 2**70), (12.0, 12),
                                             (-3.0, -3)])
def test_integer_accepts_ints_and_integral_floats(value: Any, want: int) -> None:
    got = Raw(PATH).integer(value, "PTS")
    assert got == want and type(got) is int


@pytest.mark.parametrize(("value", "problem"), [
    (True, "PTS: expected an integer, got bool True"),
    (False, "PTS: expected an integer, got bool False"),
    (None, "PTS: expected an integer, got null"),
    ("12", "PTS: expected an integer, got str '12'"),
    (10.5, "PTS: expected an integer, got 10.5"),
])
def test_integer_rejects_the_rest(value: Any, problem: str) -> None:
    with pytest.raises(MalformedRawFile) as err:
        Raw(PATH).integer(value, "PTS")
    assert problem in err.value.problem


# -- exports.encode ----------------------------------------------------------------------------


def canonical_bytes(doc: Mapping[str, Any]) -> bytes:
    """The export format's definition: sorted keys, compact, UTF-8, one newline."""
    return (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                       allow_nan=False) + "\n").encode("utf-8")


def _rounded(places: int) -> st.SearchStrategy[float]:
    return st.floats(-1e6, 1e6).map(lambda x: round(x, places) + 0.0)


export_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | _rounded(2) | _rounded(3)
    | st.text() | st.sampled_from(["Nikola Jokić", "Luka Dončić", "Dāvis Bertāns", "🏀", ""]),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(), inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(), export_values, max_size=8))
def test_encode_gives_the_canonical_json_bytes(doc: dict[str, Any]) -> None:
    assert encode(doc) == canonical_bytes(doc)


def test_encode_of_an_export_shaped_document() -> None:
    doc = {"game_date": "2025-01-15", "summary": {"total_predictions": 2, "hit_rate": 0.571},
           "picks": [{"player": "Nikola Jokić", "line": 27.5, "edge": -1.25, "over": None,
                      "confidence": 0.612, "is_home": True}],
           "Zeta": [], "alpha": {}, "été": 1, "eta": 0.0}
    got = encode(doc)
    assert got == canonical_bytes(doc)
    assert got.endswith(b"}\n") and b" " not in got.replace(b"Nikola Joki", b"")
    assert list(json.loads(got)) == sorted(doc)
