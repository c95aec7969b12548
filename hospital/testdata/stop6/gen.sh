#!/bin/bash
set -e
B=/tmp/kavach-before
export KAVACH_ADMIN_PASSWORD=admin-secret-1 KAVACH_DEMO_PASSWORD=demo-secret-1
$B serve --demo --data ./data --addr 127.0.0.1:18181 > serve.log 2>&1 &
PID=$!
for i in $(seq 50); do curl -sf http://127.0.0.1:18181/healthz >/dev/null && break; sleep 0.2; done
tok() { curl -s -X POST http://127.0.0.1:18181/api/v1/login -d "{\"username\":\"$1\",\"password\":\"$2\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])'; }
R=$(tok registration demo-secret-1); D=$(tok doctor demo-secret-1); A=$(tok admin admin-secret-1); AU=$(tok auditor demo-secret-1)
api() { curl -s -X "$1" "http://127.0.0.1:18181$2" -H "Authorization: Bearer $3" ${4:+-d "$4"}; echo; }
U=()
NAMES=(x Ramesh Suresh Mahesh Dinesh Naresh Rakesh)
for i in 1 2 3 4 5 6; do
  out=$(api POST /api/v1/patients $R "{\"name\":\"${NAMES[$i]} Kumar\",\"sex\":\"M\",\"age_years\":$((30+i)),\"mobile\":\"987650000$i\",\"address\":\"House $i, Dwarka\",\"guardian_name\":\"Suresh Kumar\",\"city\":\"New Delhi\",\"state\":\"DL\",\"pin\":\"110075\"}")
  U+=($(echo "$out" | python3 -c 'import sys,json;print(json.load(sys.stdin)["uhid"])'))
done
echo "${U[@]}" > uhids.txt
api POST /api/v1/patients $R '{"name":"Sita Devi","sex":"F","date_of_birth":"1990-05-01","mobile":"9876500999","address":"Rohini","guardian_name":"Ram Lal","category":"bpl","category_id":"BPL-123","abha_number":"12-3456-7890-1234"}'
for u in ${U[0]} ${U[1]} ${U[2]}; do api POST /api/v1/opd-visits $R "{\"uhid\":\"$u\",\"department\":\"MED\"}"; done
V=$(api POST /api/v1/opd-visits $R "{\"uhid\":\"${U[3]}\",\"department\":\"ENT\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["visit_id"])')
api POST /api/v1/opd-visits/$V/seen $D '{}'
api PATCH /api/v1/patients/${U[0]} $R '{"changes":{"mobile":"9876511111","address":"New house, Janakpuri"},"reason":"moved"}'
api PATCH /api/v1/patients/${U[0]} $R '{"changes":{"mobile":"9876522222"},"reason":"new phone"}'
api PATCH /api/v1/patients/${U[1]} $R '{"changes":{"name":"Ramesh Kumar Sharma","date_of_birth":"1980-02-02"},"reason":"card"}'
# a chain: 4 into 5, then 5 into 6 (re-pointed by the old projector)
api POST /api/v1/patients/${U[4]}/merge $R "{\"into\":\"${U[5]}\",\"reason\":\"duplicate\"}"
api POST /api/v1/patients/${U[3]}/merge $R "{\"into\":\"${U[4]}\",\"reason\":\"duplicate\"}" || true
api POST /api/v1/patients/${U[2]}/merge $R "{\"into\":\"${U[3]}\",\"reason\":\"duplicate\"}" || true
api POST /api/v1/patients/${U[3]}/merge $R "{\"into\":\"${U[5]}\",\"reason\":\"same person\"}" || true
api GET "/api/v1/patients/${U[0]}" $D
api GET "/api/v1/patients?q=ramesh" $D
api GET "/api/v1/patients/${U[1]}/history" $D
api POST /api/v1/users $A '{"username":"clerk2","full_name":"Second Clerk","role":"registration","password":"clerk-secret-1"}'
api POST /api/v1/users/clerk2/disable $A '{}'
api GET /api/v1/audit $AU
sleep 1.5
kill -TERM $PID; wait $PID || true
