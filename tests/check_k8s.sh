#!/usr/bin/env bash
# deploy/k8s/explore-job.yaml stays valid though no cluster runs here: it parses as YAML; it is an
# Indexed Job whose shard count (--shard "$JOB_COMPLETION_INDEX/N") is its completions, writing
# its JSON result into the volume it mounts, from the claim it declares; and its command line is
# one fkemu accepts: it runs (as shard 0, on a tiny campaign) and writes shard 0's result.
# usage: check_k8s.sh SOURCE_DIR FKEMU
set -u
root=$1
fkemu=$2
/usr/bin/python3 - "$root/deploy/k8s/explore-job.yaml" "$fkemu" <<'PY'
import json, os, re, subprocess, sys, tempfile
import yaml

path, fkemu = sys.argv[1], sys.argv[2]
def fail(msg):
    print("FAIL: " + path + ": " + msg)
    sys.exit(1)

docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
kinds = {d.get("kind"): d for d in docs}
if set(kinds) != {"PersistentVolumeClaim", "Job"}:
    fail("expected a PersistentVolumeClaim and a Job, found " + str(sorted(kinds)))
pvc, job = kinds["PersistentVolumeClaim"], kinds["Job"]
if job.get("apiVersion") != "batch/v1" or pvc.get("apiVersion") != "v1":
    fail("apiVersions must be batch/v1 (Job) and v1 (PersistentVolumeClaim)")
spec = job["spec"]
if spec.get("completionMode") != "Indexed":
    fail("the Job must be Indexed (completionMode: Indexed)")
n = spec.get("completions")
if not isinstance(n, int) or n < 1 or spec.get("parallelism", n) > n:
    fail("completions must be a positive count, parallelism at most that")
pod = spec["template"]["spec"]
if pod.get("restartPolicy") != "Never":
    fail("restartPolicy must be Never (a shard is retried by the Job, not in place)")
(container,) = pod["containers"]
if container.get("command") != ["sh", "-c"] or len(container.get("args", [])) != 1:
    fail("the container runs one shell command line")
line = container["args"][0]
m = re.search(r'--shard "\$JOB_COMPLETION_INDEX/(\d+)"', line)
if not m or int(m.group(1)) != n:
    fail("--shard must be \"$JOB_COMPLETION_INDEX/%d\" (the completions)" % n)
for flag in ("fkemu explore", "--json", "--output", "--trace-dir"):
    if flag not in line:
        fail("the command line lacks " + flag)
mounts = {v["name"]: v["mountPath"] for v in container.get("volumeMounts", [])}
volumes = {v["name"]: v for v in pod.get("volumes", [])}
if set(mounts) != set(volumes):
    fail("every mounted volume must be declared, and the other way round")
claims = [v["persistentVolumeClaim"]["claimName"] for v in volumes.values()
          if "persistentVolumeClaim" in v]
if claims != [pvc["metadata"]["name"]]:
    fail("the volume must be the declared claim " + pvc["metadata"]["name"])
out = re.search(r'--output "([^"]+)"', line).group(1)
if not any(out.startswith(p + "/") for p in mounts.values()):
    fail("--output must be inside the mounted volume")

# Run it as shard 0 of a tiny campaign, with the volume in a temporary directory.
with tempfile.TemporaryDirectory() as tmp:
    small = line.replace("fkemu ", fkemu + " ", 1)
    small = re.sub(r"--generate \d+", "--generate 3", small)
    small = re.sub(r"--schedules \d+", "--schedules %d" % (2 * n), small)
    for p in mounts.values():
        small = small.replace(p + "/", tmp + "/")
    env = dict(os.environ, JOB_COMPLETION_INDEX="0")
    r = subprocess.run(["sh", "-c", small], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        fail("the command line did not run (exit %d): %s" % (r.returncode, r.stderr[-2000:]))
    result = json.load(open(out.replace("$JOB_COMPLETION_INDEX", "0").replace(
        next(p for p in mounts.values() if out.startswith(p + "/")) + "/", tmp + "/")))
    if result.get("shard") != "0/%d" % n or result.get("schedules") != 2:
        fail("shard 0 did not write its result: " + json.dumps(result)[:300])
print("deploy/k8s/explore-job.yaml: an Indexed Job of %d shards; shard 0 ran" % n)
PY
