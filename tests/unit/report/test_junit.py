"""JUnit writing and tolerant, streaming reading."""

from __future__ import annotations

import io
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctt.report.junit import (
    Attempt,
    TestCaseResult,
    TestSuiteResult,
    parse_junit,
    read_junit,
    write_junit,
)
from ctt.report.model import Status


def _suite() -> TestSuiteResult:
    return TestSuiteResult(
        name="orders",
        properties={"ctt.kind": "flink"},
        cases=[
            TestCaseResult(name="ok", classname="orders.spec", file="specs/orders.yaml", time=1.25),
            TestCaseResult(
                name="diff",
                classname="orders.spec",
                status=Status.FAILED,
                message="3 rows differ",
                details="- {'id': 1}\n+ {'id': 2}",
                properties={"streaming_data_accuracy": "0.9995"},
            ),
            TestCaseResult(name="boom", status=Status.ERROR, message="job FAILED"),
            TestCaseResult(name="later", status=Status.SKIPPED, message="needs confluent"),
            TestCaseResult.from_attempts(
                "flaky",
                [
                    Attempt(status=Status.FAILED, time=2.0, message="timeout", details="tb"),
                    Attempt(status=Status.PASSED, time=1.0),
                ],
                classname="orders.spec",
            ),
            TestCaseResult.from_attempts(
                "broken",
                [
                    Attempt(status=Status.FAILED, time=2.0, message="first"),
                    Attempt(status=Status.FAILED, time=2.0, message="second"),
                ],
            ),
        ],
    )


def test_counts_come_from_cases() -> None:
    s = _suite()
    assert (s.tests, s.passed, s.failures, s.errors, s.skipped, s.flaky) == (6, 2, 2, 1, 1, 1)


def test_written_xml_has_the_attributes_gitlab_reads(tmp_path: Path) -> None:
    path = write_junit([_suite()], tmp_path / "out" / "junit.xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    ts = root.find("testsuite")
    assert ts is not None
    assert {k: ts.get(k) for k in ("name", "tests", "failures", "errors", "skipped")} == {
        "name": "orders",
        "tests": "6",
        "failures": "2",
        "errors": "1",
        "skipped": "1",
    }
    diff = ts.find("testcase[@name='diff']")
    assert diff is not None and diff.get("classname") == "orders.spec"
    failure = diff.find("failure")
    assert failure is not None and failure.get("message") == "3 rows differ"
    assert failure.text == "- {'id': 1}\n+ {'id': 2}"
    ok = ts.find("testcase[@name='ok']")
    assert ok is not None and ok.get("file") == "specs/orders.yaml" and ok.get("time") == "1.250"
    flaky = ts.find("testcase[@name='flaky']")
    assert flaky is not None and flaky.find("failure") is None
    assert flaky.find("flakyFailure") is not None
    broken = ts.find("testcase[@name='broken']")
    assert broken is not None and broken.find("failure") is not None
    assert len(broken.findall("rerunFailure")) == 1


def test_round_trip_keeps_status_attempts_and_properties(tmp_path: Path) -> None:
    path = write_junit([_suite()], tmp_path / "junit.xml")
    read = read_junit(path)
    assert read.problems == []
    [suite] = read.suites
    by_name = {c.name: c for c in suite.cases}
    assert by_name["diff"].details == "- {'id': 1}\n+ {'id': 2}"
    assert by_name["diff"].properties == {"streaming_data_accuracy": "0.9995"}
    assert by_name["flaky"].flaky and by_name["flaky"].status is Status.PASSED
    assert [a.status for a in by_name["flaky"].attempts] == [Status.FAILED, Status.PASSED]
    assert by_name["flaky"].attempts[0].details == "tb"
    assert not by_name["broken"].flaky and len(by_name["broken"].attempts) == 2
    assert suite.properties == {"ctt.kind": "flink"}


def test_control_characters_do_not_break_the_xml(tmp_path: Path) -> None:
    case = TestCaseResult(name="x\x00y", system_out="bell\x07 and esc\x1b[31m")
    path = write_junit([TestSuiteResult(name="s", cases=[case])], tmp_path / "j.xml")
    read = read_junit(path)
    assert read.problems == [] and read.suites[0].cases[0].system_out is not None


def test_truncated_file_keeps_cases_before_the_cut(tmp_path: Path) -> None:
    data = write_junit([_suite()], tmp_path / "j.xml").read_bytes()
    cut = data.index(b'name="boom"')
    read = parse_junit(io.BytesIO(data[:cut]), "cut.xml")
    assert not read.complete
    assert any("truncated" in p.message for p in read.problems)
    names = [c.name for s in read.suites for c in s.cases]
    assert names == ["ok", "diff"]


def test_unknown_elements_duplicates_and_bad_numbers_are_reported() -> None:
    xml = b"""<testsuites><testsuite name="s" tests="9">
      <testcase name="a" classname="k" time="abc"><weird/></testcase>
      <testcase name="a" classname="k"/>
      <mystery>text</mystery>
    </testsuite></testsuites>"""
    read = parse_junit(io.BytesIO(xml), "x.xml")
    assert read.complete
    messages = " | ".join(p.message for p in read.problems)
    assert "unknown element <weird>" in messages and "unknown element <mystery>" in messages
    assert "duplicate test 'k::a'" in messages
    assert "'abc' is not a number" in messages
    assert "declares tests=9 but holds 2" in messages
    assert [c.name for c in read.suites[0].cases] == ["a", "a (#2)"]


def test_bare_testsuite_root_and_loose_testcases() -> None:
    read = parse_junit(io.BytesIO(b'<testsuite name="solo"><testcase name="t"/></testsuite>'), "a")
    assert read.problems == [] and read.suites[0].name == "solo"
    loose = parse_junit(io.BytesIO(b'<testsuites><testcase name="t"/></testsuites>'), "b.xml")
    assert loose.suites[0].name == "b" and loose.suites[0].tests == 1
    assert any("outside any <testsuite>" in p.message for p in loose.problems)


def test_entity_bombs_are_refused_not_expanded() -> None:
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
    <testsuites><testsuite name="s"><testcase name="&lol2;"/></testsuite></testsuites>"""
    read = parse_junit(io.BytesIO(bomb), "bomb.xml")
    assert not read.complete and read.suites == []


def test_missing_empty_and_non_junit_files(tmp_path: Path) -> None:
    assert not read_junit(tmp_path / "nope.xml").complete
    (tmp_path / "empty.xml").write_bytes(b"")
    assert not read_junit(tmp_path / "empty.xml").complete
    (tmp_path / "html.xml").write_bytes(b"<html><body/></html>")
    read = read_junit(tmp_path / "html.xml")
    assert not read.complete and any("root element" in p.message for p in read.problems)


def test_huge_output_is_cut_and_reported(tmp_path: Path) -> None:
    big = "x" * 200_000
    case = TestCaseResult(name="loud", system_out=big)
    path = write_junit([TestSuiteResult(name="s", cases=[case])], tmp_path / "j.xml")
    read = read_junit(path)
    out = read.suites[0].cases[0].system_out
    assert out is not None and len(out) < 70_000
    assert any("system-out cut" in p.message for p in read.problems)


def test_many_cases_stream_with_flat_memory(tmp_path: Path) -> None:
    cases = [TestCaseResult(name=f"t{i}", classname="c", time=0.01) for i in range(20_000)]
    path = write_junit([TestSuiteResult(name="big", cases=cases)], tmp_path / "big.xml")
    read = read_junit(path)
    assert read.problems == [] and read.suites[0].tests == 20_000


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    read = parse_junit(io.BytesIO(data), "fuzz.xml")
    assert isinstance(read.problems, list)


_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), min_codepoint=1), min_size=1, max_size=20
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_names, st.sampled_from(list(Status)), st.text(max_size=50)),
        min_size=1,
        max_size=15,
        unique_by=lambda t: t[0],
    )
)
def test_any_written_file_reads_back_complete(cases: list[tuple[str, Status, str]]) -> None:
    suite = TestSuiteResult(
        name="s",
        cases=[TestCaseResult(name=n, status=s, message=m or None) for n, s, m in cases],
    )
    with tempfile.TemporaryDirectory() as d:
        path = write_junit([suite], Path(d) / "j.xml")
        read = read_junit(path)
    assert read.complete
    [back] = read.suites
    assert [c.status for c in back.cases] == [s for _, s, _ in cases]
    assert (back.failures, back.errors, back.skipped) == (
        suite.failures,
        suite.errors,
        suite.skipped,
    )


@given(st.text())
def test_attribute_fast_path_escapes_as_quoteattr(value: str) -> None:
    from xml.sax.saxutils import quoteattr

    from ctt.report.junit import _attr, _clean

    expected = quoteattr(_clean(value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
    assert _attr(value) == expected


def test_a_case_read_equals_the_same_case_constructed_by_pydantic() -> None:
    """The reader builds cases without model_construct: the installed pydantic must agree."""
    from ctt.report.junit import _typed_case

    values = TestCaseResult(name="t", classname="c", time=0.5, properties={"k": "v"}).model_dump()
    fast, slow = _typed_case(dict(values)), TestCaseResult.model_construct(**values)
    assert fast == slow and fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set
    fast.name = "renamed"  # assignment goes through pydantic as on any model
    assert fast.name == "renamed" and fast.model_copy(update={"time": 1.0}).time == 1.0
    assert set(values) == set(TestCaseResult.model_fields)  # _typed_case is given every field


@pytest.mark.parametrize(
    "head",
    [
        b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd">',
        b"<!-- a comment first --><!DOCTYPE x []>",
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x []>'.encode("utf-16"),
    ],
)
def test_any_dtd_is_refused_before_the_root(head: bytes) -> None:
    tail = b"<testsuites><testsuite name='s'><testcase name='t'/></testsuite></testsuites>"
    if head.startswith(b"\xff\xfe"):
        tail = tail.decode().encode("utf-16")[2:]  # no second byte-order mark
    read = parse_junit(io.BytesIO(head + tail), "dtd.xml")
    assert not read.complete and read.suites == []
    assert any("DTDForbidden" in p.message for p in read.problems)


def test_an_undeclared_entity_is_a_parse_error_not_an_expansion() -> None:
    xml = b"<testsuites><testsuite name='s'><testcase name='&ext;'/></testsuite></testsuites>"
    read = parse_junit(io.BytesIO(xml), "ent.xml")
    assert not read.complete and any("malformed XML" in p.message for p in read.problems)
