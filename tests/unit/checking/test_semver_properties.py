"""Properties of checking.versions and checking.ranges over generated input (hypothesis).

- Parsing never raises, whatever the input: hostile HelmRelease values are "not a version".
- Version precedence is a total order consistent with equality (and with hashing): what sorting
  chart versions and picking the newest rely on.
- The linear constraint scanner splits and rejects exactly as a transcription of Masterminds'
  validConstraintRegex/findConstraintRegex does (short inputs: the transcription backtracks
  exponentially in Python's engine on long ones, which is why the scanner exists).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluxcd_helm_upgrader.checking import ranges, versions

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(st.integers(0, 20), st.integers(0, versions.UINT64_MAX), st.just(versions.UINT64_MAX)).map(str)
padded_numbers = st.tuples(st.sampled_from(["", "", "", "0", "00"]), numbers).map("".join)
numeric_identifiers = numbers.filter(lambda n: n == "0" or not n.startswith("0")) | st.just("99999999999999999999999")
word_identifiers = st.from_regex(r"[0-9A-Za-z-]*[A-Za-z-][0-9A-Za-z-]*", fullmatch=True).filter(lambda s: len(s) < 12)
identifiers = numeric_identifiers | word_identifiers
version_texts = st.builds(
    lambda v, parts, pre, build: v + ".".join(parts) + ("-" + ".".join(pre) if pre else "") + build,
    st.sampled_from(["", "v"]),
    st.lists(padded_numbers, min_size=1, max_size=3),
    st.lists(identifiers, max_size=3),
    st.sampled_from(["", "+b", "+001.x-y"]),
).filter(lambda t: len(t) <= versions.MAX_LENGTH)
parsed_versions = version_texts.map(versions.parse)


@SETTINGS
@given(st.one_of(st.text(), st.text(alphabet="0123456789.-+vx ", max_size=300), st.binary(), st.integers()))
def test_version_parser_never_raises(value: object) -> None:
    parsed = versions.parse(value)
    assert parsed is None or (isinstance(value, str) and len(value) <= versions.MAX_LENGTH)


@SETTINGS
@given(st.integers(1, 20_000), st.sampled_from(["", ".0.0", "-1", "+1"]))
def test_long_digit_strings_are_invalid_not_errors(digits: int, suffix: str) -> None:
    text = "1" + "0" * digits + suffix
    assert (versions.parse(text) is None) is (len(text) > versions.MAX_LENGTH or digits > 19)


@SETTINGS
@given(st.one_of(st.text(), st.text(alphabet=" \t,|-<>=!~^v0123456789.xX*+ab", max_size=600), st.binary()))
def test_constraint_parser_never_raises(value: object) -> None:
    parsed = ranges.parse_constraint(value)
    assert parsed is None or (isinstance(value, str) and len(value) <= ranges.MAX_LENGTH)


@SETTINGS
@given(version_texts)
def test_generated_versions_parse_and_print_canonically(text: str) -> None:
    parsed = versions.parse(text)
    assert parsed is not None
    assert versions.parse(str(parsed)) == parsed


@SETTINGS
@given(parsed_versions, parsed_versions, parsed_versions)
def test_precedence_is_a_total_order_consistent_with_equality(
    a: versions.Version | None, b: versions.Version | None, c: versions.Version | None
) -> None:
    assert a is not None and b is not None and c is not None
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a <= b) is (a < b or a == b) and (a >= b) is (a > b or a == b)
    assert (a == b) is (b == a) and (a < b) is (b > a)
    assert (a == b) is ((a.core, a.prerelease) == (b.core, b.prerelease))  # build and "v" never count
    if a == b:
        assert hash(a) == hash(b)
    if a <= b <= c:
        assert a <= c
    if a < b and b <= c:
        assert a < c


# Masterminds v3.5.0's expressions, transcribed: Go's \s is [\t\n\f\r ] and its $ is the end of text.
_S = r"[\t\n\f\r ]"
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_CV = r"v?(?:[0-9|x|X|\*]+)(?:\.[0-9|x|X|\*]+)?(?:\.[0-9|x|X|\*]+)?(?:-(?:[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?"
_CV += r"(?:\+(?:[0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?"
_VALID = re.compile(rf"({_S}*({_OPS}){_S}*({_CV}){_S}*)((?:{_S}+|,{_S}*)({_OPS}){_S}*({_CV}){_S}*)*")
_FIND = re.compile(rf"({_OPS}){_S}*({_CV})")


@settings(deadline=None, max_examples=1000)
@given(st.text(alphabet=" \t\n\v,=!<>~^v0123.-+xX*|a", max_size=18))
def test_scanner_splits_an_and_group_like_masterminds_expressions(chunk: str) -> None:
    expected = None
    if _VALID.fullmatch(chunk):
        expected = [(m.group(1), m.group(2)) for m in _FIND.finditer(chunk)]
    terms = ranges._scan_group(chunk)
    assert (None if terms is None else [(op, version.group(0)) for op, version in terms]) == expected
