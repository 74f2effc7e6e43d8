"""scripts/slurm/ on a real scheduler: Debian's slurmctld, slurmd and munged, started as this user in a temporary
directory (single node, localhost), run a 4-task sweep array and its merge job, and a task requeued mid-way
resumes its shard. The merge's refusal of missing or unfinished shards and a shard task's resume after a
SIGKILL are checked without SLURM. The SLURM tests are skipped, saying why, only where the packages cannot
be installed; every daemon started is stopped by its pid whatever happens."""
import csv
import io
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

TOOL = os.path.abspath(os.environ.get("CONV1D_TUNE", "build/bin/conv1d-tune"))
ROOT = Path(__file__).resolve().parents[2]
SLURM_SCRIPTS = ROOT / "scripts" / "slurm"
OUTPUT = Path(__file__).resolve().parent / "output"

# A quick suite: 8 small shapes (dense, strided, dilated, grouped, depthwise, causal, pointwise), swept in
# both layouts: 16 shapes, 4 per shard.
SHAPES = [
    "batch=1,length=200,in_channels=8,out_channels=16,kernel_size=3,padding=1",
    "batch=2,length=150,in_channels=16,out_channels=16,kernel_size=5,stride=2,bias=1",
    "batch=1,length=300,in_channels=32,out_channels=32,kernel_size=4,num_groups=32,pad_left=3",
    "batch=1,length=120,in_channels=4,out_channels=8,kernel_size=3,dilation=2,pad_left=2,pad_right=2",
    "batch=1,length=100,in_channels=12,out_channels=12,kernel_size=3,num_groups=3",
    "batch=1,length=400,in_channels=1,out_channels=16,kernel_size=7,stride=3",
    "batch=1,length=256,in_channels=16,out_channels=32,kernel_size=1",
    "batch=2,length=128,in_channels=24,out_channels=24,kernel_size=3,padding=1",
]
SWEEP_ARGS = ["--quick", "--layout", "both", "--seed", "7"]
SWEPT = 2 * len(SHAPES)  # shapes a sweep of the suite measures: each line in both layouts
SHARDS = 4
PER_SHARD = SWEPT // SHARDS
# The commands each package provides, and where Debian puts them.
PACKAGES = {"slurmctld": "slurmctld", "slurmd": "slurmd", "sbatch": "slurm-client", "munged": "munge"}
FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                "DEADLINE", "PREEMPTED"}


def run(args, timeout=120, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)


def canonical(shape, layout):
    r = run([TOOL, "describe", shape, "--layout", layout])
    assert r.returncode == 0, r.stderr
    return re.search(r"^canonical:\s+(\S+)$", r.stdout, re.M).group(1)


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "quick.suite"
    path.write_text("# test_slurm.py: a quick suite\n" + "\n".join(SHAPES) + "\n")
    return path


@pytest.fixture(scope="module")
def expected_shapes():
    """The suite's shapes as the sweep names them (canonical form, both layouts)."""
    return {canonical(s, layout) for s in SHAPES for layout in ("nwc", "ncw")}


def winner_rows(db):
    r = run([TOOL, "winners", "--all", "--csv", "--db", db])
    assert r.returncode == 0, r.stderr
    return list(csv.DictReader(io.StringIO(r.stdout)))


def table_counts(db):
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("hardware", "builds", "shapes", "runs", "measurements", "winners")}
    finally:
        con.close()


def query(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def wait_until(what, predicate, timeout, interval=0.2, describe=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}\n{describe()}")
        time.sleep(interval)


# --- the merge and the shard task without a scheduler -----------------------------------------------------

def merge_shards(results, shards, local_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    return run(["bash", SLURM_SCRIPTS / "merge_shards.sbatch", "--tool", TOOL, "--results", results,
                "--shards", shards, "--local-dir", local_dir], env=env)


def test_merge_names_missing_and_unfinished_shards(tmp_path):
    """The merge job merges only a complete set of finished shards; otherwise it names each bad one."""
    shapes = SHAPES[:4]
    shard_files = []
    for i in range(1, 5):
        db = tmp_path / f"swept-{i}.db"
        args = [TOOL, "sweep", "--db", db, "--quick", "--seed", "3", "--shard", f"{i}/4"]
        for s in shapes:
            args += ["--shape", s]
        r = run(args, timeout=300)
        assert r.returncode == 0, r.stderr
        shard_files.append(db)
    local = tmp_path / "local"
    local.mkdir()

    complete = tmp_path / "complete"
    complete.mkdir()
    for i, db in enumerate(shard_files, 1):
        shutil.copy(db, complete / f"shard-{i}-of-4.db")
    r = merge_shards(complete, 4, local)
    assert r.returncode == 0, r.stderr
    assert "all 4 shards finished" in r.stdout
    rows = winner_rows(complete / "merged.db")
    assert sorted(row["shape"] for row in rows) == sorted(canonical(s, "nwc") for s in shapes)
    assert (complete / "winners.csv").read_text() == run([TOOL, "winners", "--all", "--csv", "--db",
                                                          complete / "merged.db"]).stdout
    assert list(local.iterdir()) == [], "the merge left its node-local copies behind"

    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(shard_files[0], partial / "shard-1-of-4.db")
    shutil.copy(shard_files[0], partial / "shard-2-of-4.db")  # holds shard 1/4's sweep, not 2/4's
    shutil.copy(shard_files[3], partial / "shard-4-of-4.db")  # shard 3 is missing
    con = sqlite3.connect(partial / "shard-4-of-4.db")
    con.execute("UPDATE runs SET status = 'interrupted'")
    con.commit()
    con.close()
    r = merge_shards(partial, 4, local)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "3 of 4 shards are missing or unfinished" in r.stderr
    assert "shard 1/4" not in r.stderr
    assert "shard 2/4: " in r.stderr and "holds no sweep of shard 2/4" in r.stderr
    assert f"shard 3/4: missing (no {partial}/shard-3-of-4.db)" in r.stderr
    assert "shard 4/4: unfinished" in r.stderr and "'interrupted', 1 shapes finished" in r.stderr
    assert not (partial / "merged.db").exists() and not (partial / "winners.csv").exists()

    # A shard file that is not a database is named too.
    (partial / "shard-3-of-4.db").write_text("not a database\n")
    r = merge_shards(partial, 4, local)
    assert r.returncode == 1 and "shard 3/4: " in r.stderr and "not a readable results database" in r.stderr


def test_shard_task_saves_progress_and_resumes_after_a_kill(tmp_path, suite):
    """A task killed without warning keeps what it had saved (--save-every); run again, it resumes."""
    results, local = tmp_path / "results", tmp_path / "local"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(SLURM_ARRAY_TASK_ID="1", SLURM_JOB_ID="4242")
    args = ["bash", SLURM_SCRIPTS / "sweep_shard.sbatch", "--tool", TOOL, "--suite", suite, "--shards", "1",
            "--results", results, "--local-dir", local, "--save-every", "1", "--", *SWEEP_ARGS]
    saved = results / "shard-1-of-1.db"
    log = tmp_path / "first.log"
    with open(log, "w") as out:
        p = subprocess.Popen([str(a) for a in args], stdout=out, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
    try:
        def saved_shapes():
            try:
                return saved.exists() and query(saved, "SELECT count(DISTINCT shape_id) FROM measurements")[0][0]
            except sqlite3.DatabaseError:
                return 0
        wait_until("a periodic save holding a finished shape", saved_shapes, 120, 0.05, log.read_text)
        assert p.poll() is None, "the shard finished before it could be killed:\n" + log.read_text()
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    first = query(saved, "SELECT count(DISTINCT shape_id) FROM measurements")[0][0]
    assert 1 <= first < SWEPT
    assert query(saved, "SELECT status FROM runs") == [("running",)]
    shutil.rmtree(local)  # what a node's cleanup does with a killed job's local directory

    r = run(args, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"resuming from {saved}" in r.stdout
    m = re.search(r"sweep: done: (\d+) measured, (\d+) already finished", r.stdout + r.stderr)
    assert m and int(m.group(2)) >= first and int(m.group(1)) + int(m.group(2)) == SWEPT, r.stderr
    assert [s for (s,) in query(saved, "SELECT status FROM runs ORDER BY id")] == ["running", "done"]
    assert query(saved, "SELECT count(DISTINCT shape_id) FROM measurements")[0][0] == SWEPT
    # No shape was measured twice: each one's measurements come from one run.
    assert query(saved, "SELECT shape_id FROM measurements GROUP BY shape_id HAVING count(DISTINCT run_id) > 1") == []
    assert not local.exists() or list(local.iterdir()) == []


def test_submit_dry_run_and_usage_errors(tmp_path, suite):
    """submit.sh's two sbatch commands, and what it refuses before submitting anything."""
    submit_sh = SLURM_SCRIPTS / "submit.sh"
    r = run([submit_sh, "--suite", suite, "--shards", 4, "--partition", "zen4", "--cpus-per-task", 2,
             "--sbatch=--account=proj", "--tool", TOOL, "--dry-run", "--", "--quick", "--layout", "both"])
    assert r.returncode == 0, r.stderr
    array, merge = r.stdout.splitlines()
    results = ROOT / "results" / "slurm" / "quick-4shards-zen4"
    for part in ("sbatch --parsable --array=1-4", f"--output {results}/logs/shard-%a.out", "--cpus-per-task 2",
                 "--partition zen4", "--account=proj", f"{SLURM_SCRIPTS}/sweep_shard.sbatch", f"--suite {suite}",
                 "--shards 4", f"--results {results}", "-- --quick --layout both"):
        assert part in array, (part, array)
    for part in ("--dependency=afterok:ARRAY", "--kill-on-invalid-dep=yes", f"{SLURM_SCRIPTS}/merge_shards.sbatch",
                 "--shards 4", f"--results {results}", "--partition zen4"):
        assert part in merge, (part, merge)
    assert "--exclusive" not in array and "--array" not in merge
    assert not results.exists(), "a dry run created the results directory"
    r = run([submit_sh, "--suite", suite, "--shards", 2, "--results", tmp_path / "r", "--tool", TOOL, "--dry-run"])
    assert r.returncode == 0 and "--exclusive" in r.stdout.splitlines()[0], r.stdout + r.stderr

    bad_suite = tmp_path / "bad.suite"
    bad_suite.write_text("batch=1,length=0,in_channels=1,out_channels=1,kernel_size=1\n")
    for args, message in (
            (["--suite", suite], "--suite FILE and --shards N are required"),
            (["--suite", suite, "--shards", "0"], "--shards must be a positive number"),
            (["--suite", suite, "--shards", "2", "--cpus-per-task", "two"], "--cpus-per-task must be"),
            (["--suite", tmp_path / "none.suite", "--shards", "2"], "does not exist"),
            (["--suite", bad_suite, "--shards", "2"], f"{bad_suite}:1:"),
            (["--suite", suite, "--shards", "2", "--tool", tmp_path / "none"], "is not an executable conv1d-tune"),
            (["--suite", suite, "--shards", "2", "--bogus"], "unknown argument '--bogus'")):
        r = run([submit_sh, "--tool", TOOL, *args, "--dry-run"])
        assert r.returncode == 2 and message in r.stderr and r.stdout == "", (args, r.stdout, r.stderr)


# --- a real cluster ---------------------------------------------------------------------------------------

def which(command):
    return shutil.which(command) or next((p for p in (f"/usr/sbin/{command}", f"/usr/bin/{command}")
                                          if os.access(p, os.X_OK)), None)


def install_packages():
    """Installs the Debian packages that are missing; returns why they cannot be, or None."""
    missing = sorted({pkg for cmd, pkg in PACKAGES.items() if not which(cmd)})
    if not missing:
        return None
    if not shutil.which("apt-get"):
        return f"{', '.join(missing)} missing and there is no apt-get to install them"
    sudo = []
    if os.geteuid() != 0:
        if not shutil.which("sudo") or run(["sudo", "-n", "true"]).returncode != 0:
            return f"{', '.join(missing)} missing, and installing needs root (no passwordless sudo)"
        sudo = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]):
        try:
            r = run(sudo + args, timeout=900, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(args)}` did not finish in 15 minutes"
        if r.returncode != 0:
            return f"`{' '.join(args)}` failed: {(r.stderr or r.stdout).strip()[-400:]}"
    still = [cmd for cmd in PACKAGES if not which(cmd)]
    assert not still, f"{missing} installed, yet {still} cannot be found"
    return None


def free_ports(n):
    """n distinct ports free now (all held open together while they are chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Cluster:
    """munged, slurmctld and slurmd of one throwaway single-node cluster, all files under `base`."""

    def __init__(self, base):
        self.base = base
        self.conf = base / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.procs = []  # (name, Popen), in start order

    def start(self, name, args):
        log = open(self.base / "log" / f"{name}.out", "w")
        p = subprocess.Popen([str(a) for a in args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=self.env, start_new_session=True)
        log.close()
        self.procs.append((name, p))
        return p

    def logs(self):
        parts = []
        for f in sorted((self.base / "log").iterdir()):
            text = f.read_text(errors="replace").splitlines()
            parts.append(f"--- {f.name} (last lines)\n" + "\n".join(text[-25:]))
        return "\n".join(parts)

    def cmd(self, *args, check=True, timeout=60):
        r = run(args, timeout=timeout, env=self.env)
        if check:
            assert r.returncode == 0, f"{' '.join(map(str, args))}: {r.stdout}{r.stderr}\n{self.logs()}"
        return r

    def jobs(self, jobid):
        """scontrol's record of a job (every task of an array), as dicts."""
        r = self.cmd("scontrol", "show", "job", "-o", jobid, check=False)
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in r.stdout.splitlines() if "JobId=" in line]

    def up(self):
        base = self.base
        for d in ("munge", "state", "spool", "log", "run", "local"):
            (base / d).mkdir()
        key = base / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        socket_path = base / "munge" / "munge.socket"
        self.start("munged", [which("munged"), "--foreground", f"--key-file={key}", f"--socket={socket_path}",
                              f"--pid-file={base}/run/munged.pid", f"--log-file={base}/log/munged.log",
                              f"--seed-file={base}/munge/munged.seed"])
        wait_until("munged's socket", socket_path.exists, 20, describe=self.logs)

        host = socket.gethostname().split(".")[0]
        ctld_port, slurmd_port = free_ports(2)
        user = pwd.getpwuid(os.getuid()).pw_name
        # task/affinity binds each task to the cores SLURM gave it (sched_setaffinity, no cgroups, so it works in
        # containers), and the harness pins its threads inside that binding: two 1-core shards on this node
        # are timed on different cores. cred_expire is also how long a requeued task waits before it may start.
        self.conf.write_text(f"""\
ClusterName=conv1dtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket_path},cred_expire=10
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/run/slurmctld.pid
SlurmdPidFile={base}/run/slurmd.pid
SlurmctldLogFile={base}/log/slurmctld.log
SlurmdLogFile={base}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
MinJobAge=3600
KillWait=10
InactiveLimit=0
NodeName=c1node NodeHostname={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=c1 Nodes=c1node Default=YES MaxTime=INFINITE State=UP
""")
        self.start("slurmctld", [which("slurmctld"), "-D", "-f", self.conf])
        self.start("slurmd", [which("slurmd"), "-D", "-f", self.conf, "-N", "c1node"])

        def node_idle():
            for name, p in self.procs:
                assert p.poll() is None, f"{name} exited with status {p.returncode}\n{self.logs()}"
            r = self.cmd("sinfo", "-h", "-o", "%T", check=False, timeout=20)
            return r.returncode == 0 and r.stdout.strip() == "idle"
        wait_until("the node to be idle", node_idle, 60, 0.5, self.logs)

    def down(self):
        """Cancels every job, then stops the daemons by pid: TERM, and KILL after 10 s."""
        if any(name == "slurmctld" and p.poll() is None for name, p in self.procs):
            try:
                self.cmd("scancel", "--user", pwd.getpwuid(os.getuid()).pw_name, check=False, timeout=20)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    r = self.cmd("squeue", "-h", check=False, timeout=20)
                    if r.returncode != 0 or not r.stdout.strip():
                        break
                    time.sleep(0.5)
            except subprocess.TimeoutExpired:
                pass
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for _, p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture(scope="module")
def cluster():
    why = install_packages()
    if why:
        pytest.skip(f"SLURM packages cannot be installed: {why}")
    # Not pytest's tmp_path: munged wants its socket directory searchable by everyone.
    base = Path(tempfile.mkdtemp(prefix="conv1d-slurm-"))
    base.chmod(0o755)
    c = Cluster(base)
    try:
        c.up()
        yield c
    finally:
        c.down()
        shutil.rmtree(base, ignore_errors=True)


def submit(c, suite, results, *extra):
    r = c.cmd(SLURM_SCRIPTS / "submit.sh", "--suite", suite, "--shards", SHARDS, "--cpus-per-task", 1,
              "--results", results, "--local-dir", c.base / "local", "--tool", TOOL, *extra, "--", *SWEEP_ARGS)
    m = re.search(r"submitted sweep array (\d+) \(4 tasks.*\n  and merge job (\d+)", r.stdout)
    assert m, r.stdout
    assert f"squeue -j {m.group(1)},{m.group(2)}" in r.stdout
    return m.group(1), m.group(2)


def finished(c, jobid, results, may_never_run=False):
    """The job's tasks once all have reached a final state; a merge that can never run fails at once, unless
    that is expected (it is then cancelled, --kill-on-invalid-dep)."""
    jobs = c.jobs(jobid)
    for j in jobs:
        assert may_never_run or "DependencyNeverSatisfied" not in j.get("Reason", ""), (
            f"job {jobid} will never run: {j}\n" + "\n".join(
                f"--- {f.name}\n{f.read_text()}" for f in sorted((results / "logs").glob("*.out"))))
    return jobs if jobs and all(j["JobState"] in FINAL_STATES for j in jobs) else None


def job_logs(results):
    return "\n".join(f"--- {f.name}\n{f.read_text()}" for f in sorted((results / "logs").glob("*.out")))


def test_array_and_merge_match_a_single_sweep(cluster, suite, expected_shapes):
    c = cluster
    single = c.base / "single.db"
    t0 = time.monotonic()
    r = run([TOOL, "sweep", "--db", single, "--suite", suite, *SWEEP_ARGS], timeout=600)
    single_s = time.monotonic() - t0
    assert r.returncode == 0, r.stderr

    results = c.base / "array"
    t0 = time.monotonic()
    array, merge = submit(c, suite, results)
    tasks = wait_until("the sweep array", lambda: finished(c, array, results), 600, 0.1,
                       lambda: job_logs(results) + c.logs())
    array_s = time.monotonic() - t0
    merged_job = wait_until("the merge job", lambda: finished(c, merge, results), 300, 0.1,
                            lambda: job_logs(results) + c.logs())
    total_s = time.monotonic() - t0
    logs = job_logs(results)
    assert sorted(int(t["ArrayTaskId"]) for t in tasks) == [1, 2, 3, 4]
    for t in tasks + merged_job:
        assert (t["JobState"], t["ExitCode"]) == ("COMPLETED", "0:0"), f"{t}\n{logs}"

    # Each shard file holds exactly its own finished sweep, of disjoint shapes that together make the suite.
    shard_shapes = []
    for i in range(1, SHARDS + 1):
        f = results / f"shard-{i}-of-{SHARDS}.db"
        runs = query(f, "SELECT status, args FROM runs")
        assert len(runs) == 1 and runs[0][0] == "done" and f"--shard {i}/{SHARDS}" in runs[0][1], runs
        shard_shapes.append({k for (k,) in query(f, "SELECT s.key FROM shapes s WHERE s.id IN "
                                                    "(SELECT shape_id FROM winners)")})
    assert sum(len(s) for s in shard_shapes) == len(set().union(*shard_shapes)) == len(expected_shapes)

    merge_log = (results / "logs" / "merge.out").read_text()
    assert f"all {SHARDS} shards finished" in merge_log
    assert f"winners for {len(expected_shapes)} shapes" in merge_log
    merged = results / "merged.db"
    rows = winner_rows(merged)
    keys = [(row["shape"], row["device"], row["precision"], row["hardware"]) for row in rows]
    assert len(keys) == len(set(keys)), "a shape has two winners"
    assert {row["shape"] for row in rows} == expected_shapes
    assert len(rows) == len(expected_shapes)
    single_rows = winner_rows(single)
    assert {row["shape"] for row in single_rows} == expected_shapes
    assert {row["hardware"] for row in rows} == {row["hardware"] for row in single_rows}
    assert (results / "winners.csv").read_text() == run([TOOL, "winners", "--all", "--csv", "--db", merged]).stdout

    merged_counts, single_counts = table_counts(merged), table_counts(single)
    assert merged_counts["runs"] == SHARDS and single_counts["runs"] == 1
    for table in ("shapes", "measurements", "winners", "hardware"):
        assert merged_counts[table] == single_counts[table], (table, merged_counts, single_counts)
    assert list((c.base / "local").iterdir()) == [], "a task left its node-local directory behind"

    OUTPUT.mkdir(exist_ok=True)
    summary = (f"{os.cpu_count()} cores, suite of {len(expected_shapes)} shapes ({' '.join(SWEEP_ARGS)}):\n"
               f"  one sweep (all cores): {single_s:.1f} s\n"
               f"  4-task array, 1 core per task: {array_s:.1f} s from submission to the last task's end, "
               f"{total_s:.1f} s with the merge job\n"
               f"  rows, merged array vs one sweep: " +
               ", ".join(f"{t} {merged_counts[t]} vs {single_counts[t]}" for t in merged_counts) + "\n")
    (OUTPUT / "slurm-timing.txt").write_text(summary)
    print("\n" + summary)


def sweep_pid(slurm_job_id):
    """The pid of the sweep a task runs: its --db is in the task's own local directory."""
    marker = f"/conv1d-sweep.{slurm_job_id}/shard.db"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"sweep" in argv and any(a.decode(errors="replace").endswith(marker) for a in argv):
            return int(entry)
    return None


def first_shape_done(c, array, task, results):
    """Waits until array task `task` is running and its sweep has finished one shape; returns the sweep's pid."""
    log = results / "logs" / f"shard-{task}.out"

    def running():
        t = [j for j in c.jobs(array) if j.get("ArrayTaskId") == str(task)]
        assert not t or t[0]["JobState"] in ("PENDING", "RUNNING", "CONFIGURING"), t
        return t[0]["JobId"] if t and t[0]["JobState"] == "RUNNING" else None
    job = wait_until(f"task {task} to run", running, 300, 0.05, lambda: job_logs(results) + c.logs())
    pid = wait_until(f"task {task}'s sweep", lambda: sweep_pid(job), 60, 0.02, lambda: job_logs(results))
    wait_until(f"task {task}'s first finished shape", lambda: log.exists() and f"[1/{PER_SHARD}]" in log.read_text(),
               120, 0.02, lambda: job_logs(results))
    return pid


def resumed(log_text, marker):
    """From the part of a shard log after `marker`: (measured, already finished) of the resumed sweep."""
    assert marker in log_text, log_text
    after = log_text[log_text.index(marker):]
    m = re.search(r"sweep: done: (\d+) measured, (\d+) already finished", after)
    assert m, log_text
    return int(m.group(1)), int(m.group(2))


def check_resumed_shard(shard, first_status):
    """The shard file holds the killed sweep and the one that finished it, and no shape measured twice."""
    assert [s for (s,) in query(shard, "SELECT status FROM runs ORDER BY id")] == [first_status, "done"]
    assert query(shard, "SELECT count(DISTINCT shape_id) FROM measurements")[0][0] == PER_SHARD
    assert query(shard, "SELECT shape_id FROM measurements GROUP BY shape_id HAVING count(DISTINCT run_id) > 1") == []


def test_requeued_task_resumes_its_shard(cluster, suite, expected_shapes):
    """Task 2 is held after its first shape and requeued (what a pre-emption does): SLURM kills it and runs it
    again, the new attempt resumes the shard, and the merge job, waiting on the array, merges every shard."""
    c = cluster
    results = c.base / "requeue"
    array, merge = submit(c, suite, results)
    pid = first_shape_done(c, array, 2, results)
    os.kill(pid, signal.SIGSTOP)  # held mid-way; SLURM sends SIGCONT before SIGTERM
    c.cmd("scontrol", "requeue", f"{array}_2")

    wait_until("the merge job", lambda: finished(c, merge, results), 300, 0.2, lambda: job_logs(results) + c.logs())
    logs = job_logs(results)
    for t in c.jobs(array) + c.jobs(merge):
        assert (t["JobState"], t["ExitCode"]) == ("COMPLETED", "0:0"), f"{t}\n{logs}"
    task2 = [j for j in c.jobs(array) if j["ArrayTaskId"] == "2"][0]
    assert task2["Restarts"] == "1", task2

    text = (results / "logs" / "shard-2.out").read_text()
    assert "attempt 1," in text and "attempt 2," in text, text
    measured, skipped = resumed(text, "attempt 2,")
    assert skipped >= 1 and measured + skipped == PER_SHARD, text
    assert f"resuming from {results}/shard-2-of-4.db" in text[text.index("attempt 2,"):]
    check_resumed_shard(results / "shard-2-of-4.db", "interrupted")

    rows = winner_rows(results / "merged.db")
    keys = [(row["shape"], row["device"], row["precision"], row["hardware"]) for row in rows]
    assert len(keys) == len(set(keys)) and {row["shape"] for row in rows} == expected_shapes


def test_failed_task_resumes_when_the_sweep_is_submitted_again(cluster, suite, expected_shapes):
    """Task 3's sweep is killed (SIGKILL) after its first shape: the task fails with what it had finished saved,
    the merge job is cancelled rather than left waiting, and the same submission again finishes the sweep:
    task 3 resumes its shard, the others end at once, and the new merge job merges everything."""
    c = cluster
    results = c.base / "failed"
    array, merge = submit(c, suite, results)
    pid = first_shape_done(c, array, 3, results)
    os.kill(pid, signal.SIGKILL)

    wait_until("the first merge job", lambda: finished(c, merge, results, may_never_run=True), 300, 0.2,
               lambda: job_logs(results) + c.logs())
    tasks = {j["ArrayTaskId"]: j for j in c.jobs(array)}
    assert (tasks["3"]["JobState"], tasks["3"]["ExitCode"]) == ("FAILED", "137:0"), tasks["3"]
    assert c.jobs(merge)[0]["JobState"] == "CANCELLED", c.jobs(merge)
    assert not (results / "merged.db").exists()
    shard = results / "shard-3-of-4.db"
    assert [s for (s,) in query(shard, "SELECT status FROM runs")] == ["running"]
    assert 1 <= query(shard, "SELECT count(DISTINCT shape_id) FROM measurements")[0][0] < PER_SHARD

    logs_before = {i: (results / "logs" / f"shard-{i}.out").read_text() for i in range(1, SHARDS + 1)}
    array2, merge2 = submit(c, suite, results)
    wait_until("the second merge job", lambda: finished(c, merge2, results), 300, 0.2,
               lambda: job_logs(results) + c.logs())
    logs = job_logs(results)
    for t in c.jobs(array2) + c.jobs(merge2):
        assert (t["JobState"], t["ExitCode"]) == ("COMPLETED", "0:0"), f"{t}\n{logs}"
    for i in range(1, SHARDS + 1):
        second = (results / "logs" / f"shard-{i}.out").read_text()[len(logs_before[i]):]
        assert f"resuming from {results}/shard-{i}-of-4.db" in second, second
        measured, skipped = resumed(second, "attempt 1,")
        if i == 3:
            assert skipped >= 1 and measured + skipped == PER_SHARD, second
        else:
            assert (measured, skipped) == (0, PER_SHARD), second
    check_resumed_shard(shard, "running")
    rows = winner_rows(results / "merged.db")
    keys = [(row["shape"], row["device"], row["precision"], row["hardware"]) for row in rows]
    assert len(keys) == len(set(keys)) and {row["shape"] for row in rows} == expected_shapes
