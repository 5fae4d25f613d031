#!/usr/bin/env bash
# A scripted review session over HTTP against `medcoder serve`, printing each step: keys,
# a chart, coding, accept / reject / modify, a refused and a real commit, a refused late
# decision, the audit trail and the exports. Needs curl and jq; users names must be new.
set -uo pipefail
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
B=${MEDCODER_URL:-http://127.0.0.1:8000}; L=${MEDCODER_KEY:?set MEDCODER_KEY to a lead key (medcoder users create NAME --role lead)}
post() { curl -s -X POST "$B$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' "${@:3}"; }
echo "== a lead creates a coder key and an auditor key"
CODER=$(post /users "$L" -d '{"name":"coder-ann","role":"coder"}' | jq -r .key); echo "coder key ${CODER:0:8}... (shown once)"
AUD=$(post /users "$L" -d '{"name":"auditor-bo","role":"auditor"}' | jq -r .key)
printf 'Discharge summary.\nDischarge diagnoses:\n1. Acute appendicitis.\n2. Type 2 diabetes mellitus with chronic kidney disease stage 3.\n3. Hypertension.\n4. Mild anemia, not clinically significant.\nHPI: The patient denies chest pain.\nProcedures: Laparoscopic appendectomy.\n' > "$WORK/chart.txt"
echo "== the coder posts the chart"
ID=$(jq -Rs '{text: ., external_id: "ENC-1001", meta: {setting: "inpatient", age: 61, sex: "F"}}' "$WORK/chart.txt" | post /charts "$CODER" -H 'Idempotency-Key: enc-1001' -d @- | jq .id); echo "chart $ID"
echo "== coding run (a job: 202 and its Location; Prefer: wait answers with the run once done)"
post /charts/$ID/coding-runs "$CODER" -H 'Prefer: wait=120' -d '{}' > "$WORK/run.json"
jq -c '.proposals[] | {id, code, title, principal, confidence}' "$WORK/run.json"
pid() { jq -r --arg c "$1" '.proposals[] | select(.code|startswith($c)) | .id' "$WORK/run.json" | head -1; }
echo "== the coder asks about the chart (chat)"
CONV=$(post /charts/$ID/conversations "$CODER" -d '{"title":"first look"}' | jq .id)
K35=$(jq -r '.proposals[] | select(.code|startswith("K35")) | .code' "$WORK/run.json" | head -1)
for q in "Why did you propose $K35?" "Is chest pain mentioned?" "Can I code I10 with I12.9?" "What must be coded first with F02.80?" "and its excludes1 note?" "Summarize the hospital course"; do
  echo "-- $q"
  jq -n --arg q "$q" '{question: $q}' | post /conversations/$CONV/messages "$CODER" -d @- | jq -r '"[\(.answer.kind)\(if .answer.refused then ", refused" else "" end), \(.answer.citations|length) citations, \(.latency_ms) ms] \(.answer.text | split("\n")[0:3] | join(" / "))"'
done
echo "-- streamed: Is anemia mentioned?"
jq -n '{question: "Is anemia mentioned?"}' | post /conversations/$CONV/messages "$CODER" -H 'Accept: text/event-stream' -d @- | grep '^event:' | sort | uniq -c
decide() { post /proposals/$1/decision "$CODER" -H "If-Match: \"$2\"" -d "$3" | jq -c '{code, status, final_code, reason, version, title, detail, current}' | sed 's/,"[a-z_]*":null//g'; }
echo "== accept the appendicitis";  decide $(pid K35) 1 '{"action":"accept"}'
echo "== accept it again with a stale version (409 with the current state)"; decide $(pid K35) 1 '{"action":"accept"}'
echo "== modify without a reason (422)"; decide $(pid E11.2) 1 '{"action":"modify","code":"E11.21"}'
echo "== modify to a code that does not exist (422)"; decide $(pid E11.2) 1 '{"action":"modify","code":"E11.99","reason":"wrong_code"}'
echo "== commit while proposals are undecided (409, every problem listed)"
post /charts/$ID/commit "$L" | jq -c '{status, title, problems}'
for code in $(jq -r '.proposals[] | select(.code|startswith("K35")|not) | .code' "$WORK/run.json"); do
  case $code in
    I10) body='{"action":"modify","code":"I12.9","reason":"combination_code","note":"hypertension with CKD is I12 by the Alphabetic Index presumption"}';;
    D64*|D62*|D53*) body='{"action":"reject","reason":"not_clinically_significant","note":"no workup or treatment documented"}' ;;
    *) body='{"action":"accept"}';;
  esac
  echo "== $code: $body"; decide $(pid $code) 1 "$body"
done
echo "== commit (a lead)"; post /charts/$ID/commit "$L" | jq -c '{version, codes: [.codes[] | {sequence, code, principal, action}]}'
echo "== a decision after commit (409)"; decide $(pid K35) 2 '{"action":"reject","reason":"duplicate"}'
echo "== audit trail (auditor)"
curl -s $B/charts/$ID/audit -H "Authorization: Bearer $AUD" | jq -c '.[] | {id, actor, role, action, proposal_id, before: .before.status, after: (.after.final_code // .after.status // .after.code_set_version), reason}' | sed 's/,"[a-z_]*":null//g'
echo "== FHIR export (auditor)"
curl -s "$B/charts/$ID/export?format=fhir" -H "Authorization: Bearer $AUD" | jq -c '.entry[] | .resource | {resourceType, diagnosis: [.diagnosis[]? | {sequence, code: .diagnosisCodeableConcept.coding[0].code, type: .type[0].coding[0].code}], procedure: [.procedure[]? | .procedureCodeableConcept.coding[0].code], code: .code.coding[0].code}' | sed 's/,"[a-z_]*":\[\]//g; s/,"code":null//'
echo "== CSV export"; curl -s "$B/charts/$ID/export?format=csv" -H "Authorization: Bearer $AUD" | cut -d, -f1-9
