"""ICD-10-CM Official Guidelines parser on an invented guideline-shaped sample (text and PDF)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from retrieval.errors import SourceError
from retrieval.records import Guideline
from retrieval.sources.guidelines import parse_cm_guidelines

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "guidelines_sample.txt"

EXPECTED_IDS = [
    "I",
    "I.A",
    "I.A.1",
    "I.A.2",
    "I.A.2.a",
    "I.A.2.b",
    "I.B",
    "I.B.1",
    "I.B.2",
    "I.B.3",
    "I.C",
    "I.C.1",
    "I.C.1.a",
    "I.C.1.a.1",
    "I.C.1.a.2",
    "I.C.1.a.2.a",
    "I.C.1.a.2.b",
    "I.C.1.b",
    "I.C.2",
    "I.C.4",
    "I.C.4.a",
    "I.C.4.a.1",
    "I.C.4.a.2",
    "I.C.4.a.2.a",
    "I.C.4.a.2.a.i",
    "I.C.4.a.2.a.ii",
    "I.C.4.a.2.b",
    "II",
    "II.A",
    "II.B",
    "II.C",
    "III",
    "III.A",
    "III.B",
    "III.C",
    "IV",
    "IV.A",
    "IV.A.1",
    "IV.A.2",
    *(f"IV.{letter}" for letter in "BCDEFGH"),
    "Appendix I",
]


@pytest.fixture(scope="module")
def sample() -> dict[str, Guideline]:
    return {g.section_id: g for g in parse_cm_guidelines(SAMPLE)}


def test_outline_ids_in_document_order() -> None:
    guidelines = list(parse_cm_guidelines(SAMPLE))
    assert [g.section_id for g in guidelines] == EXPECTED_IDS
    assert all(g.system == "cm" for g in guidelines)


def test_nested_item_title_and_text(sample: dict[str, Guideline]) -> None:
    item = sample["I.C.4.a.2"]
    assert item.title == "Sample diabetes with insulin use"
    assert item.text == "Add the long-term insulin code."
    assert item.source_id == "guideline:cm:I.C.4.a.2"
    assert sample["I.C.4.a.2.a.ii"].text == "Text of the second roman item."


def test_section_and_part_titles(sample: dict[str, Guideline]) -> None:
    assert sample["I"].title == (
        "Conventions, general coding guidelines and chapter specific guidelines"
    )
    assert sample["I.C"].title == "Chapter-Specific Coding Guidelines"
    assert sample["II"].title == "Selection of Principal Diagnosis"
    assert sample["IV.H"].title == "Sample diagnostic services only"
    assert sample["III.C"].text == "Code uncertain diagnoses as if confirmed at discharge."


def test_heading_without_body_has_empty_text(sample: dict[str, Guideline]) -> None:
    assert sample["I.A.2"].text == ""
    assert sample["IV.A"].text == ""


def test_wrapped_heading_is_joined(sample: dict[str, Guideline]) -> None:
    assert sample["I.C.1"].title == "Chapter 1: Sample infections (A00-B99)"
    assert sample["II.C"].title == (
        "Sample heading long enough that the printed page wraps it onto a second line"
    )
    assert (
        sample["II.C"].text
        == "When two conditions fit equally well, either may be sequenced first."
    )


def test_out_of_sequence_labels_stay_in_the_body(sample: dict[str, Guideline]) -> None:
    assert "5. This numbered line is part of a list" in sample["I.A.2.b"].text
    assert "Section I.B.1 above is cited here" in sample["I.B.2"].text


def test_run_in_item_keeps_its_whole_sentence(sample: dict[str, Guideline]) -> None:
    item = sample["I.C.1.a.2.b"]
    assert item.title.startswith("If the patient is admitted for something unrelated")
    assert item.text.startswith("If the patient is admitted for something unrelated")
    assert item.text.endswith("the infection after it.")


def test_page_furniture_and_contents_are_dropped(sample: dict[str, Guideline]) -> None:
    everything = "\n".join(f"{g.title}\n{g.text}" for g in sample.values())
    assert "Page 4 of 9" not in everything
    assert "Official Guidelines for Coding and Reporting" not in everything
    assert "FY 2026" not in everything
    assert "....." not in everything
    assert "second line of the contents" not in everything
    assert "Sample edition written" not in everything  # title page
    assert sample["I.C.1.a.1"].text == "A case counts as confirmed when the provider documents it."


def test_appendix_is_one_section(sample: dict[str, Guideline]) -> None:
    appendix = sample["Appendix I"]
    assert appendix.title == "Present on Admission Reporting Guidelines"
    assert appendix.text.endswith("belongs to the appendix, not to the outline.")


def test_windows_text_file(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace(
        "Sample previous", "Sample \u2018previous\u2019"
    )
    path = tmp_path / "guidelines.txt"
    path.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    guidelines = {g.section_id: g for g in parse_cm_guidelines(path)}
    assert list(guidelines) == EXPECTED_IDS
    assert guidelines["III.A"].title == "Sample \u2018previous\u2019 conditions"


# --- PDF -------------------------------------------------------------------------------------


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def minimal_pdf(pages: list[list[str]]) -> bytes:
    """A one-font PDF whose pages show the given lines, one text line per line."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in once the pages are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids: list[int] = []
    for lines in pages:
        shown = [f"{_pdf_string(line)} Tj T*" for line in lines]
        stream = "\n".join(["BT", "/F1 9 Tf", "11 TL", "40 800 Td", *shown, "ET"]).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(len(objects))
    refs = " ".join(f"{kid} 0 R" for kid in kids)
    objects[1] = f"<< /Type /Pages /Kids [{refs}] /Count {len(kids)} >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def test_pdf_gives_the_same_sections_as_text(tmp_path: Path) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    chunks = [lines[start : start + 30] for start in range(0, len(lines), 30)]
    pages = [
        [
            "ICD-10-CM Official Guidelines for Coding and Reporting",
            "FY 2026",
            *chunk,
            f"Page {number} of {len(chunks)}",
        ]
        for number, chunk in enumerate(chunks, start=1)
    ]
    path = tmp_path / "guidelines.pdf"
    path.write_bytes(minimal_pdf(pages))
    from_pdf = list(parse_cm_guidelines(path))
    assert from_pdf == list(parse_cm_guidelines(SAMPLE))


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    with pytest.raises(SourceError) as caught:
        list(parse_cm_guidelines(path))
    assert caught.value.path == path


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "",
        "A shopping list\n1. Milk\n2. Bread\n",
        # Outline labels without any "Section I." heading above them.
        "A. Conventions\n1. The index\na. Filler\n",
    ],
)
def test_no_sections_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "guidelines.txt"
    path.write_text(content)
    with pytest.raises(SourceError) as caught:
        list(parse_cm_guidelines(path))
    assert "no guideline sections found" in caught.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        list(parse_cm_guidelines(tmp_path / "absent.pdf"))
    assert "not found" in caught.value.message
