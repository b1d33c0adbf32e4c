"""The filter grammar subset: what parses, what it matches, what is rejected."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meet_emulator.filters import (
    CONFERENCE_RECORD_FIELDS,
    PARTICIPANT_FIELDS,
    SESSION_FIELDS,
    Comparison,
    FilterError,
    parse_filter,
    tokenize,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T1 = datetime(2024, 1, 2, tzinfo=UTC)


def record(**over):
    base = {"space.name": "spaces/AbC", "space.meeting_code": "abc-defg-hij", "start_time": T0, "end_time": None}
    return base | over


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_filter_matches_everything(text):
    flt = parse_filter(text, CONFERENCE_RECORD_FIELDS)
    assert flt.terms == ()
    assert flt.matches(record())


@pytest.mark.parametrize(
    "text",
    [
        'space.name = "spaces/AbC"',
        'space.name="spaces/AbC"',
        "space.name = 'spaces/AbC'",
        "space.name = spaces/AbC",
        '  space.name   =   "spaces/AbC"  ',
        'space.name\t=\n"spaces/AbC"',
    ],
)
def test_space_name_equality_spellings(text):
    flt = parse_filter(text, CONFERENCE_RECORD_FIELDS)
    assert flt.terms == (Comparison("space.name", "=", "spaces/AbC"),)
    assert flt.matches(record())
    assert not flt.matches(record(**{"space.name": "spaces/abc"}))  # ids are case-sensitive


def test_meeting_code_is_case_insensitive():
    flt = parse_filter('space.meeting_code = "ABC-defg-HIJ"', CONFERENCE_RECORD_FIELDS)
    assert flt.matches(record())
    assert not flt.matches(record(**{"space.meeting_code": "xyz-defg-hij"}))


def test_not_equal():
    flt = parse_filter('space.name != "spaces/X"', CONFERENCE_RECORD_FIELDS)
    assert flt.matches(record())
    assert not flt.matches(record(**{"space.name": "spaces/X"}))


@pytest.mark.parametrize(
    ("op", "when", "expected"),
    [
        (">=", T0, True),
        (">", T0, False),
        ("<=", T0, True),
        ("<", T0, False),
        ("=", T0, True),
        ("!=", T0, False),
        (">=", T1, False),
        ("<", T1, True),
    ],
)
def test_time_comparisons(op, when, expected):
    text = f'start_time {op} "{when.isoformat().replace("+00:00", "Z")}"'
    assert parse_filter(text, CONFERENCE_RECORD_FIELDS).matches(record()) is expected


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.000Z",
        "2024-01-01T00:00:00.000000000Z",
        "2024-01-01T01:00:00+01:00",
        "2023-12-31T19:00:00-05:00",
        "2024-01-01t00:00:00z",
    ],
)
def test_timestamp_forms_are_equivalent(stamp):
    assert parse_filter(f'start_time = "{stamp}"', CONFERENCE_RECORD_FIELDS).matches(record())


def test_unquoted_timestamp():
    assert parse_filter("start_time>=2024-01-01T00:00:00Z", CONFERENCE_RECORD_FIELDS).matches(record())


def test_nanoseconds_are_truncated_not_rejected():
    flt = parse_filter('start_time > "2024-01-01T00:00:00.000000999Z"', CONFERENCE_RECORD_FIELDS)
    assert not flt.matches(record())  # 999 ns truncates to T0, and T0 > T0 is false


def test_and_conjunction_case_insensitive_keyword():
    for kw in ("AND", "and", "And"):
        text = f'start_time>="2024-01-01T00:00:00.000Z" {kw} start_time<="2024-01-02T00:00:00.000Z"'
        flt = parse_filter(text, CONFERENCE_RECORD_FIELDS)
        assert len(flt.terms) == 2
        assert flt.matches(record())
        assert not flt.matches(record(start_time=datetime(2024, 1, 3, tzinfo=UTC)))


def test_three_terms_and_parentheses():
    text = '(space.name = "spaces/AbC" AND start_time >= "2023-12-31T00:00:00Z") AND end_time IS NULL'
    flt = parse_filter(text, CONFERENCE_RECORD_FIELDS)
    assert len(flt.terms) == 3
    assert flt.matches(record())
    assert not flt.matches(record(end_time=T1))


OVERLAP = ('space.name = "spaces/AbC" AND start_time <= "{end}" AND (end_time IS NULL OR end_time >= "{start}")')
WINDOW = {"start": "2024-01-01T10:00:00Z", "end": "2024-01-01T12:00:00Z"}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 1, 1, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (at(9), None, True),  # opened an hour early, still running
        (at(9), at(10), True),  # ended exactly at the window start
        (at(9), at(9, 59), False),  # ended a minute before it
        (at(8), at(11), True),  # opened early, ended inside
        (at(11), at(13), True),  # started inside, ran past the end
        (at(12), None, True),  # started exactly at the window end
        (at(12, 1), None, False),  # started after it
        (at(9), at(13), True),  # covers the whole window
    ],
)
def test_overlap_filter(start, end, expected):
    flt = parse_filter(OVERLAP.format(**WINDOW), CONFERENCE_RECORD_FIELDS)
    assert flt.matches(record(start_time=start, end_time=end)) is expected
    assert not flt.matches(record(**{"space.name": "spaces/other"}, start_time=start, end_time=end))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # OR binds tighter than AND (AIP-160): a AND (b OR c)
        ('space.name = "spaces/X" AND end_time IS NULL OR start_time >= "2023-01-01T00:00:00Z"', False),
        ('(space.name = "spaces/X" AND end_time IS NULL) OR start_time >= "2023-01-01T00:00:00Z"', True),
        ('space.name = "spaces/X" OR space.name = "spaces/AbC"', True),
        ('space.name = "spaces/X" or space.name = "spaces/Y"', False),
        ('((end_time IS NULL))', True),
        ('end_time >= "2023-01-01T00:00:00Z" OR (space.name = "spaces/AbC" AND end_time IS NULL)', True),
        ('end_time >= "2023-01-01T00:00:00Z" OR (space.name = "spaces/X" AND end_time IS NULL)', False),
    ],
)
def test_or_and_parentheses(text, expected):
    assert parse_filter(text, CONFERENCE_RECORD_FIELDS).matches(record()) is expected


@pytest.mark.parametrize("text", ["end_time IS NULL", "end_time is null", "end_time   IS\tNull"])
def test_is_null(text):
    flt = parse_filter(text, CONFERENCE_RECORD_FIELDS)
    assert flt.matches(record(end_time=None))
    assert not flt.matches(record(end_time=T1))


def test_comparison_with_null_value_never_matches():
    flt = parse_filter('end_time >= "2020-01-01T00:00:00Z"', CONFERENCE_RECORD_FIELDS)
    assert not flt.matches(record(end_time=None))
    assert parse_filter('end_time != "2020-01-01T00:00:00Z"', CONFERENCE_RECORD_FIELDS).matches(record(end_time=T1))


def test_participant_fields():
    flt = parse_filter('latest_end_time IS NULL AND earliest_start_time < "2024-01-02T00:00:00Z"', PARTICIPANT_FIELDS)
    assert flt.matches({"earliest_start_time": T0, "latest_end_time": None})
    assert not flt.matches({"earliest_start_time": T0, "latest_end_time": T1})
    assert not flt.matches({"earliest_start_time": T1, "latest_end_time": None})


def test_session_fields():
    flt = parse_filter("end_time IS NULL", SESSION_FIELDS)
    assert flt.matches({"start_time": T0, "end_time": None})


@pytest.mark.parametrize(
    ("text", "fields", "fragment"),
    [
        ('space.nam = "x"', CONFERENCE_RECORD_FIELDS, "unknown field"),
        ('spaceName = "x"', CONFERENCE_RECORD_FIELDS, "unknown field"),
        ('startTime >= "2024-01-01T00:00:00Z"', CONFERENCE_RECORD_FIELDS, "unknown field"),
        ('NOT space.name = "x"', CONFERENCE_RECORD_FIELDS, "field name"),
        ('-space.name = "x"', CONFERENCE_RECORD_FIELDS, "unknown field"),
        ('space.name:"x"', CONFERENCE_RECORD_FIELDS, "unknown field"),
        ('space.name = "x" OR', CONFERENCE_RECORD_FIELDS, "end of filter"),
        ('OR space.name = "x"', CONFERENCE_RECORD_FIELDS, "field name"),
        ('space.name = "x" OR OR space.name = "y"', CONFERENCE_RECORD_FIELDS, "field name"),
        ('space.name = "x" AND OR end_time IS NULL', CONFERENCE_RECORD_FIELDS, "field name"),
        ('(end_time IS NULL OR end_time >= "2024-01-01T00:00:00Z"', CONFERENCE_RECORD_FIELDS, "end of filter"),
        ('end_time IS NULL OR (start_time = "x")', CONFERENCE_RECORD_FIELDS, "invalid timestamp"),
        ("space.name", CONFERENCE_RECORD_FIELDS, "end of filter"),
        ("space.name =", CONFERENCE_RECORD_FIELDS, "end of filter"),
        ('space.name = "x" AND', CONFERENCE_RECORD_FIELDS, "end of filter"),
        ('space.name = "x" space.name = "y"', CONFERENCE_RECORD_FIELDS, "unexpected"),
        ('space.name == "x"', CONFERENCE_RECORD_FIELDS, "value"),
        ('space.name ~ "x"', CONFERENCE_RECORD_FIELDS, "operator"),
        ('space.name = "unterminated', CONFERENCE_RECORD_FIELDS, "unexpected character"),
        ('space.name < "x"', CONFERENCE_RECORD_FIELDS, "not supported"),
        ("space.name IS NULL", CONFERENCE_RECORD_FIELDS, "cannot be NULL"),
        ("start_time IS NULL", CONFERENCE_RECORD_FIELDS, "cannot be NULL"),
        ("end_time IS NOT NULL", CONFERENCE_RECORD_FIELDS, "NULL"),
        ("end_time IS", CONFERENCE_RECORD_FIELDS, "end of filter"),
        ("end_time = NULL", CONFERENCE_RECORD_FIELDS, "value"),
        ('start_time >= "yesterday"', CONFERENCE_RECORD_FIELDS, "invalid timestamp"),
        ('start_time >= "2024-01-01"', CONFERENCE_RECORD_FIELDS, "invalid timestamp"),
        ('start_time >= "2024-01-01T00:00:00"', CONFERENCE_RECORD_FIELDS, "invalid timestamp"),
        ('start_time >= "2024-13-01T00:00:00Z"', CONFERENCE_RECORD_FIELDS, "invalid timestamp"),
        ('(space.name = "x"', CONFERENCE_RECORD_FIELDS, "end of filter"),
        ('space.name = "x")', CONFERENCE_RECORD_FIELDS, "unexpected"),
        ("()", CONFERENCE_RECORD_FIELDS, "field name"),
        ("AND", CONFERENCE_RECORD_FIELDS, "field name"),
        ('"spaces/x" = space.name', CONFERENCE_RECORD_FIELDS, "field name"),
        ('space.name = "x"', PARTICIPANT_FIELDS, "unknown field"),
        ('start_time >= "2024-01-01T00:00:00Z"', PARTICIPANT_FIELDS, "unknown field"),
        ('earliest_start_time >= "2024-01-01T00:00:00Z"', SESSION_FIELDS, "unknown field"),
    ],
)
def test_bad_filters_are_rejected(text, fields, fragment):
    with pytest.raises(FilterError) as info:
        parse_filter(text, fields)
    assert fragment.lower() in str(info.value).lower()


def test_tokenize_splits_operators_without_spaces():
    kinds = [(t.kind, t.text) for t in tokenize('start_time>="x"AND end_time IS NULL')]
    assert kinds == [
        ("word", "start_time"),
        ("op", ">="),
        ("string", '"x"'),
        ("word", "AND"),
        ("word", "end_time"),
        ("word", "IS"),
        ("word", "NULL"),
    ]


def test_escaped_quote_in_string():
    flt = parse_filter(r'space.name = "spaces/a\"b"', CONFERENCE_RECORD_FIELDS)
    assert flt.terms[0].value == 'spaces/a"b'


@given(st.text(max_size=60))
def test_arbitrary_text_either_parses_or_raises_filter_error(text):
    for fields in (CONFERENCE_RECORD_FIELDS, PARTICIPANT_FIELDS, SESSION_FIELDS):
        try:
            flt = parse_filter(text, fields)
        except FilterError:
            continue
        flt.matches({})  # never crashes on a record missing the fields


@given(
    st.lists(
        st.sampled_from(
            [
                'space.name = "spaces/AbC"',
                'space.meeting_code = "abc-defg-hij"',
                'start_time >= "2023-01-01T00:00:00Z"',
                'start_time < "2025-01-01T00:00:00.5Z"',
                "end_time IS NULL",
            ]
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([" AND ", " and ", "  AND\t"]),
)
def test_conjunctions_of_true_terms_match(terms, joiner):
    assert parse_filter(joiner.join(terms), CONFERENCE_RECORD_FIELDS).matches(record())
