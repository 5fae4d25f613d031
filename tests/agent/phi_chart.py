"""A made-up discharge summary full of identifiers (every name, number and place is invented),
marked up so the tests know exactly where each one is, and clinical text that must survive.

Markup: ⟦KIND|text⟧ marks an identifier; `parse` strips it and returns the plain chart with the
identifiers' spans. Kinds follow the HIPAA Safe Harbor list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKED = """\
DISCHARGE SUMMARY
Patient: ⟦NAME|Jane Roe⟧    MRN: ⟦MRN|00482913⟧    DOB: ⟦DATE|04/12/1931⟧
Account #: ⟦ACCOUNT|ACC-7730214⟧    SSN: ⟦SSN|123-45-6789⟧
Insurance: Medicare member ID ⟦INSURANCE|1EG4-TE5-MK72⟧; policy no. ⟦INSURANCE|BCX448812907⟧
Address: ⟦ADDRESS|1420 Maple Avenue, Apt 3B⟧, ⟦ADDRESS|Springfield⟧, IL ⟦ZIP|62704⟧
Phone: ⟦PHONE|(217) 555-0143⟧    Fax: ⟦FAX|217-555-0199⟧
Email: ⟦EMAIL|jane.roe1931@example.com⟧
Admitted: ⟦DATE|03/14/2026⟧    Discharged: ⟦DATE|2026-03-18⟧
Attending: Dr. ⟦NAME|Alan Whitaker⟧    PCP: Dr. ⟦NAME|Priya Natarajan⟧
Referred by Mrs. ⟦NAME|Helen Ortiz⟧, NP, and Mr. ⟦NAME|Okafor⟧ (case manager).

History of present illness: Ms. ⟦NAME|Roe⟧ is a ⟦AGE|94⟧-year-old woman with T2DM, CKD stage 3a
and hypertension who was seen on ⟦DATE|March 10, 2026⟧ for pneumonia at an outside clinic. She
presented 2 weeks ago with cough, fever to 38.9 C and dyspnea. Her son, ⟦NAME|Michael Roe⟧,
reports poor oral intake since ⟦DATE|14 Mar 2026⟧. She also has Crohn's disease and Parkinson's
disease, both stable. Pacemaker serial no. ⟦DEVICE|PJN123456H⟧ checked ⟦DATE|Jan 5, 2026⟧.

Medications: metformin 500 mg twice daily, lisinopril 10 mg daily, carbidopa/levodopa 25/100 mg
three times daily, vitamin B12 1000 mcg.
Vitals: BP 142/88, HR 96, RR 22, SpO2 91% on room air, temp 38.9 C, weight 61.2 kg.
Labs: HbA1c 7.2%, eGFR 48, creatinine 1.3 mg/dL, WBC 14.2, Na 134; pain 5/10.
Imaging: chest x-ray on ⟦DATE|3/14/26⟧ showed right lower lobe consolidation.
Results portal: ⟦URL|https://portal.springfieldhealth.org/results/8812⟧; also
⟦URL|www.roefamilyblog.net⟧. Telemetry device IP ⟦IP|192.168.14.27⟧.

Assessment: 1. Community-acquired pneumonia, right lower lobe (J18.1). 2. Type 2 diabetes
mellitus with diabetic chronic kidney disease (E11.22), CKD stage 3a (N18.31). 3. Essential
hypertension (I10). 4. Age-related physical debility (R54).
Plan: ceftriaxone 1 g IV daily, then amoxicillin 875 mg for 5 days. Follow up with
Dr. ⟦NAME|Natarajan⟧ in 2 weeks; call ⟦PHONE|217.555.0150⟧ with questions. Next visit
⟦DATE|April 2, 2026⟧ at 10:30.
Her sister ⟦NAME|Dorothy Keane⟧, age ⟦AGE|96⟧, lives at ⟦ADDRESS|88 Oak St⟧, ⟦ZIP|62711⟧, and
can be reached at ⟦PHONE|+1 312 555 0177⟧ or ⟦EMAIL|dkeane@example.org⟧.
Driver's license ⟦LICENSE|R200-5567-8812⟧; vehicle plate ⟦VEHICLE|7TRK442⟧.
Health plan beneficiary number ⟦INSURANCE|HPB-99812-77⟧; medical record number ⟦MRN|MR-5521907⟧.
Electronically signed by ⟦NAME|Alan Whitaker⟧, MD on ⟦DATE|2026-03-18⟧ 14:32.
"""

# Clinical text near the identifiers that de-identification must leave exactly as it is.
CLINICAL = [
    "T2DM",
    "CKD stage 3a",
    "stage 3a",
    "2 weeks ago",
    "38.9 C",
    "Crohn's disease",
    "Parkinson's",
    "metformin 500 mg twice daily",
    "lisinopril 10 mg daily",
    "carbidopa/levodopa 25/100 mg",
    "vitamin B12 1000 mcg",
    "BP 142/88",
    "HR 96",
    "RR 22",
    "SpO2 91% on room air",
    "weight 61.2 kg",
    "HbA1c 7.2%",
    "eGFR 48",
    "creatinine 1.3 mg/dL",
    "WBC 14.2",
    "Na 134",
    "pain 5/10",
    "right lower lobe consolidation",
    "Community-acquired pneumonia, right lower lobe (J18.1)",
    "(E11.22)",
    "(N18.31)",
    "(I10)",
    "Age-related physical debility (R54)",
    "ceftriaxone 1 g IV daily",
    "amoxicillin 875 mg for 5 days",
    "in 2 weeks",
    "for pneumonia",
    "woman with T2DM",
]

_MARK = re.compile(r"⟦([A-Z]+)\|(.*?)⟧", re.DOTALL)


@dataclass(frozen=True)
class Identifier:
    kind: str
    start: int
    end: int
    text: str


def parse(marked: str) -> tuple[str, list[Identifier]]:
    """The plain text and the identifiers' spans in it."""
    pieces: list[str] = []
    found: list[Identifier] = []
    at = length = 0
    for match in _MARK.finditer(marked):
        pieces.append(marked[at : match.start()])
        length += match.start() - at
        kind, value = match.group(1), match.group(2)
        found.append(Identifier(kind, length, length + len(value), value))
        pieces.append(value)
        length += len(value)
        at = match.end()
    pieces.append(marked[at:])
    return "".join(pieces), found


PHI_TEXT, IDENTIFIERS = parse(MARKED)


# Two more charts, written after the recognizers were: the first was used to widen them once
# (23 of its 28 identifiers were found before), the second was never tuned on.
HELD_OUT_MARKED = [
    """\
EMERGENCY DEPARTMENT NOTE
Name: ⟦NAME|O'Brien, Margaret⟧   DOB ⟦DATE|7/4/1929⟧   Visit date: ⟦DATE|Feb 28 2026⟧
Med Rec #: ⟦MRN|7719-0042⟧  Encounter no. ⟦ACCOUNT|E260228113⟧
CC: fall at home. Pt is a ⟦AGE|96⟧ yo female brought in by EMS from
⟦ADDRESS|42 W. Chestnut Blvd⟧, ⟦ADDRESS|Oak Park⟧, IL ⟦ZIP|60302-1144⟧.
Daughter ⟦NAME|Susan McAllister⟧ (cell ⟦PHONE|708-555-0112⟧) at bedside. Seen by Dr
⟦NAME|Ramirez⟧ and ⟦NAME|Kevin Tran⟧, PA-C.
HPI: tripped over rug on the evening of ⟦DATE|2/27⟧? no, on ⟦DATE|02/27/2026⟧; prior fall in
⟦DATE|December 2025⟧. Hx of atrial fibrillation on apixaban 5 mg BID, COPD GOLD 3, osteoporosis.
Last DEXA ⟦DATE|11-03-2024⟧ T-score -3.1.
Exam: T 36.8, P 88 irregular, BP 158/92, SpO2 93% 2L NC. Left hip shortened and externally
rotated. GCS 15.
Imaging: XR pelvis: displaced left femoral neck fracture (S72.002A). CT head negative.
Labs: Hgb 10.9, INR 1.1, K 4.8, troponin <0.01.
Plan: ortho consult (Dr. ⟦NAME|Feldman⟧), hold apixaban, NPO after midnight, PT/OT. Disposition:
admit to medicine.
Insurance: Humana Gold, subscriber ID ⟦INSURANCE|H48812210⟧, group # ⟦INSURANCE|GRP-77120⟧.
Contact email ⟦EMAIL|s.mcallister@mailhost.net⟧; patient portal login at
⟦URL|http://mychart.oakparkhosp.org⟧.
Her neighbor, ⟦NAME|Walter Brandt⟧, found her. Wife of the late ⟦NAME|Patrick O'Brien⟧.
Scribe: ⟦NAME|Amy Liu⟧. Attested by ⟦NAME|Carlos Ramirez⟧, MD, ⟦DATE|28-Feb-2026⟧ 23:10.
Workstation ⟦IP|10.22.4.117⟧.
""",
    """\
Cardiology clinic letter

Dear Dr. ⟦NAME|Hiroshi Tanaka⟧,
Thank you for referring Mr. ⟦NAME|Viktor Petrov⟧ (DOB ⟦DATE|1958-11-02⟧, hospital number
⟦MRN|H0092231⟧), whom I saw in clinic on ⟦DATE|September 3rd, 2026⟧.
He is a 67-year-old retired machinist living at ⟦ADDRESS|309 Birch Lane⟧, ⟦ADDRESS|Ann Arbor⟧,
MI ⟦ZIP|48104⟧, with heart failure with reduced ejection fraction (EF 30%), NYHA class II, and
stage 3b CKD.
His wife ⟦NAME|Elena⟧ accompanied him; she can be reached on ⟦PHONE|(734) 555-0188⟧. His father
died aged ⟦AGE|91⟧ of stroke.
Medications: sacubitril/valsartan 49/51 mg BID, carvedilol 12.5 mg BID, spironolactone 25 mg
daily, dapagliflozin 10 mg.
Echo ⟦DATE|08/21/2026⟧: LVEF 30%, moderate MR. ECG: sinus rhythm 64 bpm, QRS 128 ms, LBBB.
NT-proBNP 1840 pg/mL; K 4.9; creatinine 1.6.
I have arranged CRT-D evaluation with Dr ⟦NAME|Okonkwo⟧ on ⟦DATE|10/15/2026⟧. Remote monitoring
will use device S/N ⟦DEVICE|RXV204417⟧.
Records were faxed to ⟦FAX|734-555-0190⟧ and copies sent to ⟦EMAIL|vpetrov58@example.net⟧ at his
request.
Yours sincerely,
⟦NAME|Rebecca Stone⟧, MD, FACC
cc: ⟦NAME|Viktor Petrov⟧; Medicare ID ⟦INSURANCE|7AB2-CD3-EF45⟧
""",
]
HELD_OUT_CLINICAL = [
    "apixaban 5 mg BID",
    "COPD GOLD 3",
    "T-score -3.1",
    "BP 158/92",
    "SpO2 93% 2L NC",
    "(S72.002A)",
    "troponin <0.01",
    "67-year-old",
    "EF 30%",
    "stage 3b CKD",
    "sacubitril/valsartan 49/51 mg BID",
    "carvedilol 12.5 mg BID",
    "QRS 128 ms",
    "NT-proBNP 1840 pg/mL",
    "CRT-D evaluation",
]
HELD_OUT = [parse(marked) for marked in HELD_OUT_MARKED]
