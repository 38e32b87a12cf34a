#!/usr/bin/env bash
# docker-compose.yml and the Dockerfile, checked without a Docker engine:
# `docker-compose config` must accept the file with the example env file,
# every stage must be its own scalable service and only the API published.
source "$MF_ROOT/tests/lib.sh"
cd "$MF_ROOT"

dc() {
    METRIFLOW_ENV_FILE=.env.example docker-compose --env-file .env.example \
        -f docker-compose.yml "$@"
}
cfg=$T_OUT/compose.yml
check "docker-compose config accepts docker-compose.yml with .env.example" \
    dc config -q
dc config >"$cfg" 2>"$T_OUT/config.err"

services=$(dc config --services | sort | tr '\n' ' ')
check_eq "the services of the suite" \
    "api daily ingest interval migrate monthly page postgres rabbitmq redis stage-ga stage-psi yearly " \
    "$services"

# Per service: its published ports and its command, from the rendered YAML.
summary=$(python3 - "$cfg" <<'PY'
import re, sys
svc, section, out = None, None, {}
for line in open(sys.argv[1]):
    m = re.match(r'^  ([a-z-]+):$', line)
    if m:
        svc, section = m.group(1), None
        out[svc] = {"ports": False, "cmd": []}
        continue
    m = re.match(r'^    ([a-z_]+):', line)
    if m and svc:
        section = m.group(1)
        if section == "ports":
            out[svc]["ports"] = True
        continue
    m = re.match(r'^    - (.*)$', line)
    if m and svc and section == "command":
        out[svc]["cmd"].append(m.group(1).strip("'\""))
for s, v in sorted(out.items()):
    print(s, "ports" if v["ports"] else "-", " ".join(v["cmd"]))
PY
)
check_eq "only the api publishes a port" "api" \
    "$(echo "$summary" | awk '$2=="ports"{print $1}' | tr '\n' ' ' | sed 's/ $//')"
for s in stage-ga stage-psi page interval daily monthly yearly; do
    check_eq "service $s runs its stage's worker" \
        "$s - metriflow-worker --stage $s" "$(echo "$summary" | grep "^$s ")"
done
check_eq "the ingest watches the mounted folder" \
    "ingest - metriflow-ingest --watch /inbox" "$(echo "$summary" | grep '^ingest ')"
check "no service pins a container name (scaling needs none)" \
    bash -c "! grep -q container_name '$cfg'"
check "postgres, rabbitmq and redis have health checks" \
    bash -c "[ \$(grep -c healthcheck: '$cfg') -ge 3 ]"
check "the migration runs once and the others wait for it" \
    grep -q "service_completed_successfully" "$cfg"
check "the runtime image runs as a non-root user" \
    bash -c "awk '/^FROM .* AS runtime/{r=1} r&&/^USER /{print \$2}' Dockerfile | grep -qx metriflow"
check "the runtime image installs no -dev package or compiler" \
    bash -c "! awk '/^FROM .* AS runtime/{r=1} r' Dockerfile | grep -qE -- '-dev|build-essential|cmake'"
check ".env is ignored by git and not in the repository" \
    bash -c "git check-ignore -q .env && ! git ls-files --error-unmatch .env >/dev/null 2>&1"
mf_done
