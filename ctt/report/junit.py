"""JUnit XML: the one result format every suite kind produces and GitLab reads.

Writing follows what GitLab's JUnit parser and Maven Surefire agree on
(``testsuites/testsuite/testcase`` with ``failure``/``error``/``skipped``).
Retries are not hidden: every earlier attempt is written as a Surefire-style
``<flakyFailure>``/``<flakyError>`` (the test passed on a later attempt) or
``<rerunFailure>``/``<rerunError>`` (it failed every time), which GitLab
ignores and ctt reads back.

Reading refuses a DTD (so no entity is declared, expanded or fetched: defusedxml's
rule, checked on the prolog, the only place a DTD can be), streams the rest through
ElementTree's C parser, and never raises on bad input: truncated or malformed
XML, unknown elements, duplicate test names and wrong counts come back as a
list of :class:`JUnitProblem` next to whatever could be read.
"""

from __future__ import annotations

import io
import os
import re
import socket
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from defusedxml import DefusedXmlException, DTDForbidden
from pydantic import BaseModel, Field, computed_field

from ctt.report.model import RunSummary, Status

__all__ = [
    "Attempt",
    "JUnitProblem",
    "JUnitRead",
    "TestCaseResult",
    "TestSuiteResult",
    "parse_junit",
    "read_junit",
    "write_junit",
]

MAX_TEXT = 64 * 1024
"""Longest message/details/output kept per case; longer text is cut and the cut reported."""


class Attempt(BaseModel):
    """One run of one test; a retried test has several."""

    status: Status
    time: float = 0.0
    message: str | None = None
    details: str | None = None
    system_out: str | None = None


class TestCaseResult(BaseModel):
    """Outcome of one test case, with every attempt when it was retried."""

    __test__ = False  # not a pytest class

    name: str
    classname: str = ""
    file: str | None = None
    time: float = Field(0.0, description="seconds, of the final attempt")
    status: Status = Status.PASSED
    message: str | None = Field(None, description="one-line reason for failure/error/skip")
    details: str | None = Field(None, description="long text, e.g. an expected-vs-actual diff")
    system_out: str | None = None
    system_err: str | None = None
    attempts: list[Attempt] = Field(
        default_factory=list,
        description="all attempts in order (the last is the final outcome); empty = ran once",
    )
    flaky: bool = Field(False, description="passed only after a failed attempt")
    properties: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_attempts(cls, name: str, attempts: list[Attempt], **fields: object) -> TestCaseResult:
        """A case whose outcome is its last attempt; flaky when it passed after failing."""
        if not attempts:
            raise ValueError("from_attempts needs at least one attempt")
        last = attempts[-1]
        earlier_bad = any(a.status in (Status.FAILED, Status.ERROR) for a in attempts[:-1])
        return cls.model_validate(
            {
                "name": name,
                "status": last.status,
                "time": last.time,
                "message": last.message,
                "details": last.details,
                "system_out": last.system_out,
                "attempts": attempts if len(attempts) > 1 else [],
                "flaky": last.status is Status.PASSED and earlier_bad,
                **fields,
            }
        )

    @property
    def key(self) -> str:
        """Stable identity across runs: ``classname::name``."""
        return f"{self.classname}::{self.name}" if self.classname else self.name


class TestSuiteResult(BaseModel):
    """One ``<testsuite>``: counts are derived from the cases, never trusted from input."""

    __test__ = False

    name: str
    cases: list[TestCaseResult] = Field(default_factory=list)
    time: float = 0.0
    timestamp: datetime | None = None
    hostname: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)

    def _count(self, status: Status) -> int:
        return sum(1 for c in self.cases if c.status is status)

    @property
    def summary(self) -> RunSummary:
        """The counts as the shared run summary (what the executor reports per suite)."""
        return RunSummary.of((c.status for c in self.cases), flaky=self.flaky)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tests(self) -> int:
        return len(self.cases)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> int:
        return self._count(Status.PASSED)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failures(self) -> int:
        return self._count(Status.FAILED)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def errors(self) -> int:
        return self._count(Status.ERROR)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def skipped(self) -> int:
        return self._count(Status.SKIPPED)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flaky(self) -> int:
        return sum(1 for c in self.cases if c.flaky)


class JUnitProblem(BaseModel):
    """Something wrong with an input file, reported instead of raised."""

    file: str
    line: int | None = None
    message: str
    fatal: bool = Field(
        False, description="results are incomplete (unreadable, truncated, malformed)"
    )

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class JUnitRead(BaseModel):
    """What :func:`read_junit` could make of one file."""

    file: str
    suites: list[TestSuiteResult] = Field(default_factory=list)
    problems: list[JUnitProblem] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def complete(self) -> bool:
        """False when the file could not be read to its end: some results may be missing."""
        return not any(p.fatal for p in self.problems)


# --- writing -----------------------------------------------------------------------------------

# XML 1.0 forbids most control characters even escaped; test output often contains them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _fmt_time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def _outcome_element(
    parent: ET.Element, tag: str, message: str | None, details: str | None, kind: str
) -> ET.Element:
    elem = ET.SubElement(parent, tag)
    if message is not None:
        elem.set("message", _clean(message))
    elem.set("type", kind)
    if details:
        elem.text = _clean(details)
    return elem


def _case_element(case: TestCaseResult) -> ET.Element:
    elem = ET.Element("testcase")
    elem.set("classname", _clean(case.classname))
    elem.set("name", _clean(case.name))
    if case.file:
        elem.set("file", _clean(case.file))
    elem.set("time", _fmt_time(case.time))
    props = dict(case.properties)
    if case.attempts:
        props["ctt.attempts"] = str(len(case.attempts))
    if case.flaky:
        props["ctt.flaky"] = "true"
    if props:
        pe = ET.SubElement(elem, "properties")
        for key, value in props.items():
            ET.SubElement(pe, "property", name=_clean(key), value=_clean(value))
    if case.status is Status.FAILED:
        _outcome_element(elem, "failure", case.message or "failed", case.details, "failure")
    elif case.status is Status.ERROR:
        _outcome_element(elem, "error", case.message or "error", case.details, "error")
    elif case.status is Status.SKIPPED:
        sk = ET.SubElement(elem, "skipped")
        if case.message:
            sk.set("message", _clean(case.message))
    prefix = "flaky" if case.status is Status.PASSED else "rerun"
    for attempt in case.attempts[:-1]:
        if attempt.status not in (Status.FAILED, Status.ERROR):
            continue
        suffix = "Failure" if attempt.status is Status.FAILED else "Error"
        ae = _outcome_element(
            elem, prefix + suffix, attempt.message or attempt.status.value, None, suffix.lower()
        )
        ae.set("time", _fmt_time(attempt.time))
        if attempt.details:
            ET.SubElement(ae, "stackTrace").text = _clean(attempt.details)
        if attempt.system_out:
            ET.SubElement(ae, "system-out").text = _clean(attempt.system_out)
    if case.system_out:
        ET.SubElement(elem, "system-out").text = _clean(case.system_out)
    if case.system_err:
        ET.SubElement(elem, "system-err").text = _clean(case.system_err)
    return elem


_ATTR_SPECIAL = re.compile(_INVALID_XML.pattern + '|[&<>"\n\r\t]')


def _attr(value: str) -> str:
    if _ATTR_SPECIAL.search(value) is None:  # nearly every name: nothing to escape
        return f'"{value}"'
    return quoteattr(_clean(value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _case_xml(case: TestCaseResult) -> str:
    """One ``<testcase>``; plain passing cases (nearly all of them) skip ElementTree."""
    if (
        case.status is Status.PASSED
        and not case.properties
        and not case.attempts
        and not case.flaky
        and not case.system_out
        and not case.system_err
    ):
        file = f" file={_attr(case.file)}" if case.file else ""
        return (
            f"  <testcase classname={_attr(case.classname)} name={_attr(case.name)}{file}"
            f' time="{_fmt_time(case.time)}" />\n'
        )
    elem = _case_element(case)
    ET.indent(elem, space=" ", level=2)
    return "  " + ET.tostring(elem, encoding="unicode") + "\n"


def _suite_open(suite: TestSuiteResult) -> str:
    attrs = [
        f"name={_attr(suite.name)}",
        f'tests="{suite.tests}"',
        f'failures="{suite.failures}"',
        f'errors="{suite.errors}"',
        f'skipped="{suite.skipped}"',
        f'time="{_fmt_time(suite.time or sum(c.time for c in suite.cases))}"',
    ]
    if suite.timestamp is not None:
        attrs.append(f'timestamp="{suite.timestamp.isoformat(timespec="seconds")}"')
    attrs.append(f"hostname={_attr(suite.hostname or socket.gethostname())}")
    head = f" <testsuite {' '.join(attrs)}>\n"
    if suite.properties:
        head += "  <properties>\n"
        for key, value in suite.properties.items():
            head += f"   <property name={_attr(key)} value={_attr(value)} />\n"
        head += "  </properties>\n"
    return head


def write_junit(suites: Iterable[TestSuiteResult], path: Path | str) -> Path:
    """Write suites as one ``<testsuites>`` document, streamed, atomically (temp file + rename)."""
    suites = list(suites)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    totals = Counter[str]()
    total_time = 0.0
    for suite in suites:
        totals.update(
            tests=suite.tests, failures=suite.failures, errors=suite.errors, skipped=suite.skipped
        )
        total_time += suite.time or sum(c.time for c in suite.cases)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("<?xml version='1.0' encoding='utf-8'?>\n")
        fh.write(
            f'<testsuites tests="{totals["tests"]}" failures="{totals["failures"]}" '
            f'errors="{totals["errors"]}" skipped="{totals["skipped"]}" '
            f'time="{_fmt_time(total_time)}">\n'
        )
        for suite in suites:
            fh.write(_suite_open(suite))
            fh.writelines(_case_xml(c) for c in suite.cases)
            fh.write(" </testsuite>\n")
        fh.write("</testsuites>\n")
    tmp.replace(target)
    return target


# --- reading -----------------------------------------------------------------------------------

_KNOWN = {
    "testsuites",
    "testsuite",
    "testcase",
    "properties",
    "property",
    "failure",
    "error",
    "skipped",
    "system-out",
    "system-err",
    "flakyFailure",
    "flakyError",
    "rerunFailure",
    "rerunError",
    "stackTrace",
    "stackTraces",
}


_CASE_FIELDS = frozenset(TestCaseResult.model_fields)


def _typed_case(values: dict[str, Any]) -> TestCaseResult:
    """A case from values the reader has typed already: neither validated again nor passed
    through ``model_construct``'s per-field loop (together two fifths of reading 100,000
    cases). ``values`` holds every field; the result equals ``model_construct(**values)``,
    which ``tests/unit/report/test_junit.py`` checks against the installed pydantic."""
    case = TestCaseResult.__new__(TestCaseResult)
    _set = object.__setattr__
    _set(case, "__dict__", values)
    _set(case, "__pydantic_fields_set__", set(_CASE_FIELDS))
    _set(case, "__pydantic_extra__", None)
    _set(case, "__pydantic_private__", None)
    return case


class _CaseChildren:
    """What a ``<testcase>``'s children say: verdict, texts, properties, earlier attempts."""

    __slots__ = ("attempts", "details", "err_text", "message", "out_text", "props", "status")

    def __init__(self) -> None:
        self.status = Status.PASSED
        self.message: str | None = None
        self.details: str | None = None
        self.out_text: str | None = None
        self.err_text: str | None = None
        self.props: dict[str, str] = {}
        self.attempts: list[Attempt] = []


class _Reader:
    """Turns a stream of iterparse events into suites, collecting problems on the way."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.result = JUnitRead(file=name)
        self.unknown: Counter[str] = Counter()
        self.suite_stack: list[TestSuiteResult] = []
        self.declared: list[dict[str, str]] = []
        self.seen: list[Counter[str]] = []
        self.root_seen = False
        self.loose: TestSuiteResult | None = None  # for testcases outside any testsuite
        self.loose_seen: Counter[str] = Counter()

    def problem(self, message: str, line: int | None = None, *, fatal: bool = False) -> None:
        self.result.problems.append(
            JUnitProblem(file=self.name, line=line, message=message, fatal=fatal)
        )

    def _float(self, elem: ET.Element, attr: str, where: str) -> float:
        raw = elem.get(attr)
        if raw is None or raw.strip() == "":
            return 0.0
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            self.problem(f"{where}: {attr}={raw!r} is not a number; taken as 0")
            return 0.0
        if value != value or value < 0:  # NaN or negative
            self.problem(f"{where}: {attr}={raw!r} is not a valid duration; taken as 0")
            return 0.0
        return value

    def _text(self, text: str | None, what: str, case: str) -> str | None:
        if text is None:
            return None
        if len(text) > MAX_TEXT:
            self.problem(f"{case}: {what} cut from {len(text)} to {MAX_TEXT} characters")
            return text[:MAX_TEXT] + "\n[... cut by ctt ...]"
        return text

    @staticmethod
    def _properties(elem: ET.Element) -> dict[str, str]:
        props: dict[str, str] = {}
        for pe in elem.findall("properties/property"):
            name = pe.get("name")
            if name:
                props[name] = pe.get("value", pe.text or "")
        return props

    def start(self, elem: ET.Element) -> None:
        tag = elem.tag
        if not self.root_seen:
            self.root_seen = True
            if tag not in ("testsuites", "testsuite"):
                self.problem(
                    f"root element is <{tag}>, not <testsuites> or <testsuite>", fatal=True
                )
        if tag == "testsuite":
            ts = None
            raw_ts = elem.get("timestamp")
            if raw_ts:
                try:
                    ts = datetime.fromisoformat(raw_ts.replace("Z", "+00:00"))
                except ValueError:
                    self.problem(f"suite {elem.get('name')!r}: bad timestamp {raw_ts!r}")
            suite_name = elem.get("name") or Path(self.name).stem
            self.suite_stack.append(
                TestSuiteResult(
                    name=suite_name,
                    time=self._float(elem, "time", f"suite {suite_name!r}"),
                    timestamp=ts,
                    hostname=elem.get("hostname"),
                )
            )
            self.declared.append(dict(elem.attrib))
            self.seen.append(Counter())
        elif tag not in _KNOWN:
            self.unknown[tag] += 1

    def end(self, elem: ET.Element, parent: ET.Element | None) -> None:
        if elem.tag == "testcase":
            self._case(elem)
            if parent is not None:
                parent.remove(elem)  # keep memory flat on huge files
        elif elem.tag == "testsuite" and self.suite_stack:
            self._close_suite(elem)
            if parent is not None:
                parent.remove(elem)

    def _current_suite(self) -> tuple[TestSuiteResult, Counter[str]]:
        if self.suite_stack:
            return self.suite_stack[-1], self.seen[-1]
        if self.loose is None:
            self.loose = TestSuiteResult(name=Path(self.name).stem)
            self.problem("<testcase> outside any <testsuite>; grouped under the file name")
        return self.loose, self.loose_seen

    def _case(self, elem: ET.Element) -> None:
        """One ``<testcase>`` and its children; each oddity is reported in place."""
        suite, seen = self._current_suite()
        name, classname = self._case_name(elem, suite, seen)
        label = f"test {classname + '::' if classname else ''}{name}"
        found = self._children(elem, label)
        props = found.props
        marked_flaky = props.pop("ctt.flaky", None) == "true"
        props.pop("ctt.attempts", None)
        status = found.status
        time = self._float(elem, "time", label)
        message = self._text(found.message, "message", label)
        details = self._text(found.details, "details", label)
        full: list[Attempt] = []
        if found.attempts:
            final = Attempt(status=status, time=time, message=message, details=details)
            full = [*found.attempts, final]
        case = _typed_case(
            {
                "name": name,
                "classname": classname,
                "file": elem.get("file"),
                "time": time,
                "status": status,
                "message": message,
                "details": details,
                "system_out": self._text(found.out_text, "system-out", label),
                "system_err": self._text(found.err_text, "system-err", label),
                "attempts": full,
                "flaky": bool(found.attempts or marked_flaky) and status is Status.PASSED,
                "properties": props,
            }
        )
        suite.cases.append(case)

    def _case_name(
        self, elem: ET.Element, suite: TestSuiteResult, seen: Counter[str]
    ) -> tuple[str, str]:
        """(name, classname) of a case; a missing name is made up, a repeated one numbered."""
        name = elem.get("name")
        classname = elem.get("classname", "")
        if not name:
            name = f"unnamed-{len(suite.cases) + 1}"
            self.problem(f"suite {suite.name!r}: a <testcase> has no name; called {name!r}")
        key = f"{classname}::{name}"
        seen[key] += 1
        if seen[key] > 1:
            new_name = f"{name} (#{seen[key]})"
            self.problem(
                f"suite {suite.name!r}: duplicate test {key!r}; the repeat is named {new_name!r}"
            )
            name = new_name
        return name, classname

    def _children(self, elem: ET.Element, label: str) -> _CaseChildren:
        """What the children of a ``<testcase>`` say, in one pass (this runs for every case)."""
        found = _CaseChildren()
        for child in elem:
            tag = child.tag
            if tag == "properties":
                for pe in child:
                    pname = pe.get("name")
                    if pe.tag == "property" and pname:
                        found.props[pname] = pe.get("value", pe.text or "")
            elif tag in ("failure", "error") and found.status is Status.PASSED:
                found.status = Status.FAILED if tag == "failure" else Status.ERROR
                found.message = child.get("message") or child.get("type") or tag
                text = child.text
                found.details = text.strip("\n") if text and text.strip() else None
            elif tag == "skipped" and found.status is Status.PASSED:
                found.status = Status.SKIPPED
                found.message = child.get("message") or (child.text or "").strip() or None
            elif tag == "system-out":
                found.out_text = child.text
            elif tag == "system-err":
                found.err_text = child.text
            elif tag in ("flakyFailure", "flakyError", "rerunFailure", "rerunError"):
                found.attempts.append(self._attempt(child, label))
        return found

    def _attempt(self, child: ET.Element, label: str) -> Attempt:
        """An earlier attempt, from a ``<flakyFailure>``, ``<rerunError>`` and the like."""
        trace = child.findtext("stackTrace")
        if trace is None and child.text and child.text.strip():
            trace = child.text.strip("\n")
        return Attempt(
            status=Status.FAILED if child.tag.endswith("Failure") else Status.ERROR,
            time=self._float(child, "time", label),
            message=child.get("message"),
            details=self._text(trace, "attempt details", label),
            system_out=self._text(child.findtext("system-out"), "attempt output", label),
        )

    def _close_suite(self, elem: ET.Element) -> None:
        suite = self.suite_stack.pop()
        declared = self.declared.pop()
        self.seen.pop()
        suite.properties = self._properties(elem)
        for attr, actual in (
            ("tests", suite.tests),
            ("failures", suite.failures),
            ("errors", suite.errors),
            ("skipped", suite.skipped),
        ):
            raw = declared.get(attr)
            if raw is None:
                continue
            try:
                expected = int(raw)
            except ValueError:
                self.problem(f"suite {suite.name!r}: {attr}={raw!r} is not a number")
                continue
            if expected != actual and suite.cases:
                self.problem(
                    f"suite {suite.name!r}: declares {attr}={expected} but holds {actual}; "
                    "counted from the test cases"
                )
        self.result.suites.append(suite)

    def finish(self, truncated: bool) -> JUnitRead:
        if self.loose is not None:
            self.result.suites.append(self.loose)
        while self.suite_stack:  # truncated inside a suite: keep what was read
            suite = self.suite_stack.pop()
            self.declared.pop()
            self.seen.pop()
            if suite.cases:
                self.result.suites.append(suite)
        # Drop empty (wrapper) suites once suites with cases exist.
        if any(s.cases for s in self.result.suites):
            self.result.suites = [s for s in self.result.suites if s.cases]
        for tag, count in sorted(self.unknown.items()):
            self.problem(f"unknown element <{tag}> ignored ({count}x)")
        if not self.root_seen and not truncated:
            self.problem("file is empty", fatal=True)
        return self.result


class _RootReached(Exception):
    """The prolog is over: what follows cannot declare a DTD."""


def _refuse_dtd(source: IO[bytes]) -> None:
    """Raise defusedxml's ``DTDForbidden`` if the document declares a DTD; rewind the stream.

    A DTD can only come before the root element, so expat reads up to the root's start tag
    and no further. The whole file then goes through ElementTree's C parser: defusedxml's
    own parser calls Python for every element, a third of reading 100,000 cases. Without a
    DTD no entity can be declared; a reference to one is a parse error.
    """
    start = source.tell()
    parser = expat.ParserCreate()

    def doctype(name: str, sysid: str | None, pubid: str | None, _subset: int) -> None:
        raise DTDForbidden(name, sysid, pubid)

    def root(_name: str, _attrs: dict[str, str]) -> None:
        raise _RootReached

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = root
    try:
        while chunk := source.read(4096):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (_RootReached, expat.ExpatError):
        pass  # a malformed prolog is the main parse's to report, with its position
    finally:
        source.seek(start)


def _iter_events(source: IO[bytes]) -> Iterator[tuple[str, ET.Element]]:
    if not source.seekable():
        source = io.BytesIO(source.read())
    _refuse_dtd(source)
    return ET.iterparse(source, events=("start", "end"))


def parse_junit(source: IO[bytes], name: str) -> JUnitRead:
    """Read JUnit from an open binary stream; see :func:`read_junit`."""
    reader = _Reader(name)
    stack: list[ET.Element] = []
    truncated = False
    try:
        for event, elem in _iter_events(source):
            if event == "start":
                stack.append(elem)
                reader.start(elem)
            else:
                stack.pop()
                reader.end(elem, stack[-1] if stack else None)
    except ET.ParseError as exc:
        truncated = True
        line = exc.position[0] if exc.position else None
        text = str(exc).split(":")[0]
        if "no element found" in text or "unclosed token" in text:
            msg = f"XML ends early (truncated file?): {exc}"
        else:
            msg = f"malformed XML: {exc}"
        if reader.root_seen:
            msg += "; test cases read before this point are kept"
        reader.problem(msg, line, fatal=True)
    except DefusedXmlException as exc:
        truncated = True
        reader.problem(
            f"refused unsafe XML ({type(exc).__name__}): DTDs and entities are not allowed",
            fatal=True,
        )
    return reader.finish(truncated)


def read_junit(path: Path | str) -> JUnitRead:
    """Read one JUnit file, streaming; never raises for bad content or a missing file."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            return parse_junit(fh, name)
    except OSError as exc:
        return JUnitRead(
            file=name,
            problems=[JUnitProblem(file=name, message=f"cannot read: {exc.strerror}", fatal=True)],
        )
