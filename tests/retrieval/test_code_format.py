"""What looks like a code: every ICD-10-CM chapter letter, U included (U07.1 COVID-19)."""

from retrieval.text import looks_like_code


def test_u_codes_and_other_chapters_look_like_codes() -> None:
    for code in ("U07.1", "U09.9", "A41.9", "Z99.2", "S72.001A", "0DTJ4ZZ", "BW03ZZZ"):
        assert looks_like_code(code), code
    for text in ("heart failure", "U07.1.2", "E1", ""):
        assert not looks_like_code(text), text
