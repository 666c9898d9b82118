#!/usr/bin/python3
"""Run kazoo's own test suite against fkemu and, optionally, a real ZooKeeper.

kazoo (the Python ZooKeeper client) ships its tests as the module
``kazoo.tests`` (Debian: python3-kazoo). Its harness,
``kazoo.testing.harness``, normally starts a three-server ZooKeeper ensemble
of its own. This runner instead starts each *target* once, on a free loopback
port, and replaces the harness's ``get_global_cluster()`` with a shim that
looks like a cluster of that one already-running server:

* ``zookeeper``: Apache ZooKeeper 3.8 standalone (``ZooKeeperServerMain``),
  configured like kazoo's harness configures its servers (SASL digest users,
  the ``super`` digest, reconfig and all four-letter words enabled);
* ``fkemu``: ``fkemu serve --data WORKDIR/fkemu-state.db --zookeeper 127.0.0.1:PORT``.

Each test module runs on each target in a child process (this same script
with ``--child``) under ``unittest``; the child reports every test's outcome
as JSON lines, so a module that hangs or crashes loses only the test that was
running: the parent kills the child after ``--timeout-per-test`` seconds on
one test and carries on with the module's remaining tests in a new child, and
gives up on the module after ``--timeout-per-module`` seconds in all.

Tests that stop and restart ``cluster[0]`` (request queuing) really stop and
restart the target, on the same port, through a control socket served by the
parent (which alone owns the server processes and stops them at the end, also
on failure or Ctrl-C). A restarted fkemu keeps its state file, sessions
included, as a restarted ZooKeeper keeps its data directory (with
``--fkemu-data :memory:`` it starts empty).
Tests that need more than one server (MULTI_SERVER_TESTS: a second server, a
read-only server, reconfig) are skipped with the reason.

kazoo's tests use ``pytest.raises`` and ``pytest.skip`` only, and
``test_cache`` uses ``objgraph.count``; when those packages are not
installed, small equivalents defined here stand in for them.

Usage::

    /usr/bin/python3 tests/zookeeper/kazoo_suite.py --fkemu build/fkemu \\
        --zookeeper-too [--modules test_client,test_watchers] [--json OUT]

It prints per-module pass counts side by side, then every test that passes on
ZooKeeper and not on fkemu with the first lines of its failure (the exception,
then where in the test). To look into one failure, run just that test and keep
the logs: ``--modules client --only 'TestClient.test_set_acls$' --keep-workdir
--debug-logs --fkemu-verbose`` (kazoo's DEBUG log per test process, fkemu's
log lines per server).
"""

import argparse
import gc
import importlib
import importlib.util
import json
import logging
import os
import queue
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
import unittest

ZOOKEEPER = "zookeeper"
FKEMU = "fkemu"
LABELS = {ZOOKEEPER: "ZooKeeper", FKEMU: "fkemu"}

DEFAULT_MODULES = [
    "client", "watchers", "connection", "paths", "exceptions", "retry", "barrier",
    "counter", "election", "lock", "lease", "partitioner", "party", "queue", "cache",
    "security", "hosts", "utils", "build", "interrupt", "threading_handler",
    "gevent_handler", "eventlet_handler", "sasl",
]

# Modules that need an optional package: without it they are reported as skipped.
MODULE_DEPENDENCIES = {
    "test_gevent_handler": ["gevent"],
    "test_eventlet_handler": ["eventlet"],
    "test_sasl": ["puresasl"],
    "test_client": ["mock"],
    "test_connection": ["mock"],
    "test_cache": ["mock"],
    "test_partitioner": ["mock"],
    "test_lock": ["mock"],
    "test_utils": ["mock"],
    "test_threading_handler": ["mock"],
}

# Tests ('Class.method', subclasses included) that cannot work with one server: skipped.
RECONFIG_REASON = ("needs a quorum: a standalone ZooKeeper answers reconfig with "
                   "ZUNIMPLEMENTED (checked on 3.8.0)")
MULTI_SERVER_TESTS = {
    "TestClient.test_update_host_list": (
        "needs a multi-server ensemble: it stops the only server and expects the client "
        "to stay connected"),
    "TestReadOnlyMode.test_read_only": (
        "needs a 3-server ensemble: it stops 2 of 3 servers to get a read-only one"),
    "TestReconfig.test_add_remove_observer": RECONFIG_REASON,
    "TestReconfig.test_no_super_auth": RECONFIG_REASON,
    "TestReconfig.test_bad_input": RECONFIG_REASON,
}

# kazoo's harness: "super" with password "test" is the ZooKeeper superuser ...
SUPER_DIGEST = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
# ... and these are the SASL digest users of its JAAS configuration (test_sasl).
JAAS_DIGEST = """Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};
"""

# Outcomes of one test on one target.
PASS, FAIL, ERROR, SKIP = "pass", "fail", "error", "skip"
TIMEOUT, CRASHED, NOT_RUN = "timeout", "crashed", "not run"
# The child's exit status when its watchdog ends a test that ran too long.
WATCHDOG_EXIT = 3

SERVER_START_TIMEOUT_S = 90
SERVER_STOP_TIMEOUT_S = 15
SERVER_RESTART_RETRY_S = 10


def log(message):
    """Print a progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def module_name(name):
    """'client' or 'test_client' or 'kazoo.tests.test_client' -> 'test_client'."""
    name = name.strip().rsplit(".", 1)[-1]
    return name if name.startswith("test_") else "test_" + name


def free_port():
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path, lines=15):
    """The last lines of a text file, or '' if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def orphan_guard():
    """A command prefix that kills the process if this runner dies (SIGKILL included)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL"] if setpriv else []


# --------------------------------------------------------------------------------------------
# Targets: the servers under test. Only the parent's main thread starts and stops them.
# --------------------------------------------------------------------------------------------


class TargetError(Exception):
    """A target server could not be started."""


class Target:
    """One server process on a fixed loopback port, restartable on that port."""

    name = None

    def __init__(self, workdir):
        self.workdir = os.path.join(workdir, self.name)
        os.makedirs(self.workdir)
        self.log_path = os.path.join(self.workdir, "server.log")
        self.port = free_port()
        self.proc = None
        self.command = None
        self.starts = 0

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def build_command(self):
        raise NotImplementedError

    def is_ready(self):
        """True once the server answers on its port."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Start the server and wait until it serves (bounded); raise TargetError if not."""
        if self.running():
            return
        self.command = self.build_command()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        retry_until = time.monotonic() + SERVER_RESTART_RETRY_S
        while True:
            with open(self.log_path, "ab") as out:
                out.write(b"\n=== start %d ===\n" % (self.starts + 1))
                out.flush()
                try:
                    self.proc = subprocess.Popen(
                        orphan_guard() + self.command, stdin=subprocess.DEVNULL, stdout=out,
                        stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
                except OSError as exc:
                    raise TargetError("cannot run %s: %s" % (self.command[0], exc))
            self.starts += 1
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self.is_ready():
                    return
                time.sleep(0.1)
            if self.proc.poll() is None:
                self.stop()
                raise TargetError("%s did not accept connections on %s within %d s; log:\n%s" % (
                    self.name, self.address, SERVER_START_TIMEOUT_S, tail(self.log_path)))
            # It exited: on a restart, the port may not be free yet. Retry a little while.
            if time.monotonic() >= retry_until:
                raise TargetError("%s exited with status %s at start; log:\n%s" % (
                    self.name, self.proc.returncode, tail(self.log_path)))
            time.sleep(0.5)

    def stop(self):
        """Stop the server (SIGTERM, then SIGKILL) by its pid and wait for it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.terminate()
                self.proc.wait(SERVER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def reset(self):
        """Stop the server and forget its state (kazoo's ManagedZooKeeper.reset)."""
        self.stop()

    def unexpected_exit(self):
        """The exit status if the server died without being asked to, else None."""
        if self.proc is not None and self.proc.poll() is not None:
            return self.proc.returncode
        return None


class ZooKeeperTarget(Target):
    """Apache ZooKeeper standalone, from the Debian zookeeper package's jars."""

    name = ZOOKEEPER

    def __init__(self, workdir, classpath):
        super().__init__(workdir)
        self.classpath = classpath
        self.data_dir = os.path.join(self.workdir, "data")
        os.makedirs(self.data_dir)

    def build_command(self):
        config = os.path.join(self.workdir, "zoo.cfg")
        jaas = os.path.join(self.workdir, "jaas.conf")
        with open(config, "w") as handle:
            handle.write("\n".join([
                "tickTime=2000",
                "dataDir=%s" % self.data_dir,
                "clientPort=%d" % self.port,
                "clientPortAddress=127.0.0.1",
                "admin.enableServer=false",
                "4lw.commands.whitelist=*",
                # As kazoo's harness: no connection limit per client address, SASL
                # authentication (test_sasl), reconfig (test_client's TestReconfig).
                "maxClientCnxns=0",
                "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
                "reconfigEnabled=true",
            ]) + "\n")
        with open(jaas, "w") as handle:
            handle.write(JAAS_DIGEST)
        return [
            "java", "-cp", self.classpath,
            "-Dfile.encoding=UTF-8",
            "-Djava.awt.headless=true",
            "-Djava.security.auth.login.config=%s" % jaas,
            "-Dzookeeper.DigestAuthenticationProvider.superDigest=%s" % SUPER_DIGEST,
            "org.apache.zookeeper.server.ZooKeeperServerMain", config,
        ]

    def is_ready(self):
        """ZooKeeper accepts connections before it serves: wait for 'ruok' -> 'imok'."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"ruok")
                return sock.recv(16) == b"imok"
        except OSError:
            return False

    def reset(self):
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        os.makedirs(self.data_dir)


class FkemuTarget(Target):
    """fkemu serve with its ZooKeeper wire-protocol listener."""

    name = FKEMU

    def __init__(self, workdir, binary, data, verbose):
        super().__init__(workdir)
        self.binary = os.path.abspath(binary)
        # A state file in the run's directory, as ZooKeeper keeps its data directory: a server
        # the tests stop and start again keeps its nodes and its sessions.
        self.data = os.path.join(workdir, "fkemu-state.db") if data == "workdir" else data
        self.verbose = verbose

    def build_command(self):
        return [self.binary, "serve", "--data", self.data, "--listen", "127.0.0.1:0",
                "--zookeeper", self.address, "--zookeeper-super-digest", SUPER_DIGEST] + (
                    [] if self.verbose else ["-q"])


# --------------------------------------------------------------------------------------------
# Control socket: lets a child's cluster shim stop and restart its target. Requests are
# queued to the parent's main thread, which owns the processes.
# --------------------------------------------------------------------------------------------


class ControlServer:
    """A Unix socket taking one-line requests 'stop', 'start' or 'reset' from children."""

    def __init__(self, path):
        self.path = path
        self.requests = queue.Queue()
        requests = self.requests

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline().decode("ascii", "replace").strip()
                answer = queue.Queue()
                requests.put((line, answer))
                try:
                    reply = answer.get(timeout=SERVER_START_TIMEOUT_S + 30)
                except queue.Empty:
                    reply = "error: no answer from the runner"
                self.wfile.write((reply + "\n").encode())

        self.server = socketserver.ThreadingUnixStreamServer(path, Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve_pending(self, target, events, wait_s):
        """Carry out queued requests on target (main thread only); wait up to wait_s."""
        try:
            line, answer = self.requests.get(timeout=wait_s)
        except queue.Empty:
            return
        try:
            if line == "stop":
                target.stop()
            elif line == "start":
                target.start()
            elif line == "reset":
                target.reset()
            else:
                raise ValueError("unknown request %r" % line)
            events.append("a test asked to %s the server" % line)
            answer.put("ok")
        except Exception as exc:  # reported to the test, which then fails
            events.append("a test asked to %s the server: %s" % (line, exc))
            answer.put("error: %s" % exc)

    def refuse_pending(self):
        """Answer requests left by a child that is gone."""
        while True:
            try:
                _, answer = self.requests.get_nowait()
            except queue.Empty:
                return
            answer.put("error: the test process has ended")

    def close(self):
        self.refuse_pending()
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------------------------
# Parent: runs every module on every target and reports.
# --------------------------------------------------------------------------------------------


class Runner:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.child = None  # the running child process, killed on the way out
        self.control = ControlServer(os.path.join(workdir, "control.sock"))

    def run_module(self, module, target):
        """Run one module on one target; return its report (a dict)."""
        report = {"status": "ok", "tests": {}, "order": None, "events": [], "seconds": 0.0}
        started = time.monotonic()
        deadline = started + self.args.timeout_per_module
        remaining = None  # test ids left to run; None: all of them
        attempt = 0
        while True:
            attempt += 1
            self.ensure_server(target, report)
            results_path = os.path.join(
                self.workdir, "%s.%s.%d.jsonl" % (module, target.name, attempt))
            tests_path = results_path[:-len(".jsonl")] + ".tests.json"
            with open(tests_path, "w") as handle:
                json.dump(remaining, handle)
            child_log = results_path[:-len(".jsonl")] + ".log"
            command = orphan_guard() + [
                sys.executable, os.path.abspath(__file__), "--child",
                "--module", module, "--target", target.name, "--address", target.address,
                "--control", self.control.path, "--results", results_path,
                "--tests", tests_path, "--timeout-per-test", str(self.args.timeout_per_test),
            ] + (["--only", self.args.only] if self.args.only else []) + (
                ["--debug-logs"] if self.args.debug_logs else [])
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("ZOOKEEPER_", "TRAVIS"))}
            with open(child_log, "wb") as out:
                self.child = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env=env, start_new_session=True)
            timed_out = False
            while self.child.poll() is None:
                if time.monotonic() > deadline:
                    timed_out = True
                    self.kill_child()
                    break
                self.control.serve_pending(target, report["events"], 0.2)
            returncode = self.child.returncode
            self.child = None
            self.control.refuse_pending()
            recorded = len(report["tests"])
            done = self.read_results(results_path, report)
            if done:
                break
            running = report.pop("running", None)
            if timed_out:
                report["status"] = TIMEOUT
                if running:
                    report["tests"][running] = record(
                        TIMEOUT, "module timed out after %d s during this test"
                        % self.args.timeout_per_module)
                break
            if running:  # the child died in this test (the watchdog records its own)
                report["tests"][running] = record(
                    CRASHED, "test process exited with status %s; its output ends with:\n%s"
                    % (returncode, tail(child_log, 10)))
            if report["order"] is None or len(report["tests"]) == recorded:
                report["status"] = CRASHED
                report["events"].append("test process exited with status %s without running "
                                        "a test; output:\n%s" % (returncode, tail(child_log)))
                break
            remaining = [t for t in report["order"] if t not in report["tests"]]
            if not remaining:
                break
        for test in report["order"] or []:
            report["tests"].setdefault(test, record(
                NOT_RUN, "not run: the module %s first" % report["status"].replace(
                    TIMEOUT, "timed out")))
        self.check_server(target, report)
        report["seconds"] = round(time.monotonic() - started, 1)
        report.pop("running", None)
        return report

    def read_results(self, path, report):
        """Merge a child's JSON lines into report; True if the child finished its tests."""
        done = False
        try:
            with open(path) as handle:
                lines = handle.read().splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:  # a line cut short by a kill
                continue
            kind = event.get("event")
            if kind == "collected" and report["order"] is None:
                report["order"] = event["tests"]
            elif kind == "start":
                report["running"] = event["test"]
            elif kind == "end":
                report["tests"][event["test"]] = event["result"]
                report.pop("running", None)
            elif kind == "done":
                done = True
        return done

    def check_server(self, target, report):
        """Note (and undo) a server that died on its own."""
        status = target.unexpected_exit()
        if status is not None:
            report["events"].append("the server exited on its own with status %s; log ends:\n%s"
                                    % (status, tail(target.log_path, 5)))
            target.proc = None

    def ensure_server(self, target, report):
        self.check_server(target, report)
        target.start()

    def kill_child(self):
        """Kill the running child and its process group (its own session) by pid."""
        if self.child is None or self.child.poll() is not None:
            return
        try:
            os.killpg(self.child.pid, signal.SIGKILL)
        except OSError:
            self.child.kill()
        self.child.wait()

    def close(self):
        self.kill_child()
        self.control.close()


def record(outcome, text="", summary=None, seconds=None):
    """The result of one test on one target."""
    result = {"outcome": outcome, "summary": summary if summary is not None else text,
              "text": text}
    if seconds is not None:
        result["seconds"] = seconds
    return result


def missing_dependencies(module):
    return [dep for dep in MODULE_DEPENDENCIES.get(module, [])
            if importlib.util.find_spec(dep) is None]


def count(report, outcome):
    return sum(1 for r in report["tests"].values() if r["outcome"] == outcome)


def summarize(results, targets):
    """Table rows, tests passing on ZooKeeper and not on fkemu (or, without ZooKeeper, all
    that do not pass on fkemu), and tests passing on fkemu and not on ZooKeeper."""
    rows, regressions, improvements = [], [], []
    for module, per_target in results.items():
        if not per_target:  # interrupted before any target ran it
            continue
        tests = set()
        for report in per_target.values():
            tests.update(report.get("tests", {}))
        cells, notes = {}, []
        for name in targets:
            report = per_target.get(name)
            if report is None:
                cells[name] = "-"
            elif report["status"] == SKIP:
                cells[name] = "skipped"
                notes.append("%s: %s" % (LABELS[name], report["reason"]))
            else:
                cells[name] = str(count(report, PASS))
                extra = ["%d %s" % (count(report, o), o)
                         for o in (FAIL, ERROR, SKIP, TIMEOUT, CRASHED, NOT_RUN)
                         if count(report, o)]
                if report["status"] != "ok":
                    extra.append("module %s" % report["status"])
                if extra:
                    notes.append("%s: %s" % (LABELS[name], ", ".join(extra)))
        rows.append([module, str(len(tests)), cells.get(ZOOKEEPER, "-"),
                     cells.get(FKEMU, "-"), "; ".join(notes)])
        fk = per_target.get(FKEMU, {}).get("tests", {})
        zk = per_target.get(ZOOKEEPER, {}).get("tests", {})
        for test in sorted(tests):
            fk_outcome = fk.get(test, {}).get("outcome")
            zk_outcome = zk.get(test, {}).get("outcome")
            if fk_outcome not in (PASS, SKIP, None) and (
                    ZOOKEEPER not in targets or zk_outcome == PASS):
                regressions.append({"module": module, "test": test, "outcome": fk_outcome,
                                    "summary": fk[test]["summary"]})
            if fk_outcome == PASS and zk_outcome not in (PASS, SKIP, None):
                improvements.append({"module": module, "test": test, "outcome": zk_outcome,
                                     "summary": zk[test]["summary"]})
    return rows, regressions, improvements


def print_report(results, targets, out):
    """Print the table and the lists; return what summarize() found."""
    rows, regressions, improvements = summarize(results, targets)
    header = ["module", "tests", "passed on ZooKeeper", "passed on fkemu"]
    total = ["total"] + [str(sum(int(r[i]) for r in rows if r[i].isdigit())) for i in (1, 2, 3)]
    if ZOOKEEPER not in targets:
        total[2] = "-"
    widths = [max(len(r[i]) for r in rows + [header, total]) for i in range(4)]
    rule = "-+-".join("-" * w for w in widths) + "-+-" + "-" * 5

    def line(cells, notes=""):
        text = " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                          for i, (c, w) in enumerate(zip(cells, widths)))
        return text + " | " + notes if notes else text

    print(line(header, "notes"), file=out)
    print(rule, file=out)
    for row in rows:
        print(line(row[:4], row[4]), file=out)
    print(rule, file=out)
    print(line(total), file=out)

    def listing(title, items):
        print("\n%s: %d" % (title, len(items)), file=out)
        for item in items:
            print("\n* %s.%s [%s]" % (item["module"], item["test"], item["outcome"]), file=out)
            for text in item["summary"].splitlines()[:3]:
                print("    " + text, file=out)

    if ZOOKEEPER in targets:
        listing("Tests that pass on ZooKeeper and not on fkemu", regressions)
        if improvements:
            listing("Tests that pass on fkemu and not on ZooKeeper", improvements)
    else:
        listing("Tests that do not pass on fkemu", regressions)
    return rows, regressions, improvements


def run_all(args, targets, runner, results):
    """Run the modules on the targets, filling results[module][target]."""
    modules = [module_name(m) for m in args.modules.split(",") if m.strip()]
    for index, module in enumerate(modules, 1):
        results[module] = {}
        missing = missing_dependencies(module)
        for target in targets:
            if missing:
                results[module][target.name] = {
                    "status": SKIP, "reason": "needs %s, not installed" % ", ".join(missing),
                    "tests": {}, "events": []}
                continue
            report = runner.run_module(module, target)
            results[module][target.name] = report
            notes = [] if report["status"] == "ok" else ["module " + report["status"]]
            notes += ["%d %s" % (count(report, o), o)
                      for o in (FAIL, ERROR, SKIP, TIMEOUT, CRASHED, NOT_RUN) if count(report, o)]
            log("[%d/%d] %s on %s: %d/%d passed in %.0f s%s" % (
                index, len(modules), module, LABELS[target.name], count(report, PASS),
                len(report["tests"]), report["seconds"],
                " (%s)" % ", ".join(notes) if notes else ""))
            for event in report["events"]:
                if "on its own" in event or "without running" in event:
                    log("    " + event.replace("\n", "\n    "))
        if missing:
            log("[%d/%d] %s: skipped, needs %s" % (index, len(modules), module,
                                                   ", ".join(missing)))


def parent_main(argv):
    parser = argparse.ArgumentParser(
        description="Run kazoo's test suite against fkemu (and a real ZooKeeper) side by side.")
    parser.add_argument("--fkemu", required=True, help="the fkemu binary")
    parser.add_argument("--zookeeper-too", action="store_true",
                        help="also run on Apache ZooKeeper standalone, for comparison")
    parser.add_argument("--zookeeper-classpath",
                        default="/usr/share/java/zookeeper.jar:/usr/share/java/*",
                        help="Java classpath of ZooKeeper (default: the Debian package's)")
    parser.add_argument("--fkemu-data", default="workdir",
                        help="fkemu's --data: a file, :memory:, or (default) 'workdir', a state "
                        "file in the run's directory, as ZooKeeper's data directory is")
    parser.add_argument("--fkemu-verbose", action="store_true",
                        help="run fkemu without -q: its log lines (why it closed a connection, "
                        "...) go to the server log (see --keep-workdir)")
    parser.add_argument("--modules", default=",".join(DEFAULT_MODULES),
                        help="comma-separated kazoo.tests modules (default: %(default)s)")
    parser.add_argument("--json", metavar="OUT", help="write every result to OUT as JSON")
    parser.add_argument("--timeout-per-module", type=float, default=300, metavar="S",
                        help="give up on a module after S seconds per target (default 300)")
    parser.add_argument("--timeout-per-test", type=float, default=90, metavar="S",
                        help="end a test after S seconds and go on with the next (default 90)")
    parser.add_argument("--only", metavar="REGEX",
                        help="run only the tests whose 'Class.test_name' matches REGEX")
    parser.add_argument("--expected", metavar="FILE",
                        help="the tests known to pass on ZooKeeper and not on fkemu, one "
                        "'module Class.test' per line with its reason after it; with it, the "
                        "run fails (status 1) if any other test passes on ZooKeeper and not "
                        "on fkemu")
    parser.add_argument("--keep-workdir", action="store_true",
                        help="keep the temporary directory (server and test logs)")
    parser.add_argument("--debug-logs", action="store_true",
                        help="log kazoo at DEBUG level in the test logs (with --keep-workdir)")
    args = parser.parse_args(argv)
    if not os.access(args.fkemu, os.X_OK):
        parser.error("--fkemu %s is not an executable file" % args.fkemu)
    if importlib.util.find_spec("kazoo") is None:
        parser.error("kazoo is not importable by %s (install python3-kazoo)" % sys.executable)

    # SIGTERM and SIGHUP end the run like Ctrl-C does: through the cleanup below.
    def interrupt(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)

    workdir = tempfile.mkdtemp(prefix="kazoo-suite-")
    targets, runner, results, status = [], None, {}, 0
    try:
        if args.zookeeper_too:
            targets.append(ZooKeeperTarget(workdir, args.zookeeper_classpath))
        targets.append(FkemuTarget(workdir, args.fkemu, args.fkemu_data, args.fkemu_verbose))
        for target in targets:
            target.start()
            log("%s serving on %s (pid %d)" % (LABELS[target.name], target.address,
                                                target.proc.pid))
        runner = Runner(args, workdir)
        run_all(args, targets, runner, results)
    except TargetError as exc:
        log("error: %s" % exc)
        status = 2
    except KeyboardInterrupt:
        log("interrupted; stopping servers and tests")
        status = 130
    finally:
        if runner is not None:
            runner.close()
        for target in targets:
            target.stop()
        if args.keep_workdir:
            log("logs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if any(results.values()):
        if status == 130:
            print("(interrupted: partial results)")
        names = [t.name for t in targets]
        rows, regressions, improvements = print_report(results, names, sys.stdout)
        if args.json:
            key = "pass_on_zookeeper_not_on_fkemu" if ZOOKEEPER in names else "not_pass_on_fkemu"
            with open(args.json, "w") as handle:
                json.dump({
                    "interrupted": status == 130,
                    "targets": {t.name: {"command": t.command, "address": t.address}
                                for t in targets},
                    "modules": results,
                    "table": [dict(zip(["module", "tests", ZOOKEEPER, FKEMU, "notes"], r))
                              for r in rows],
                    key: regressions,
                    "pass_on_fkemu_not_on_zookeeper": improvements,
                }, handle, indent=1, sort_keys=True)
                handle.write("\n")
        if args.expected and status == 0:
            status = check_expected(args.expected, regressions, results)
    return status


def check_expected(path, regressions, results):
    """1 if a test passes on ZooKeeper and not on fkemu without being listed in `path`."""
    expected = {}
    with open(path) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                module, test, *reason = line.split(None, 2)
                expected[(module, test)] = reason[0] if reason else ""
    unexpected = [r for r in regressions if (r["module"], r["test"]) not in expected]
    listed = {(r["module"], r["test"]) for r in regressions}
    stale = [key for key in expected if key not in listed and key[0] in results]
    for module, test in stale:
        print("note: %s %s is listed in %s but passes (or did not run) now" % (module, test, path))
    if unexpected:
        print("\nFAIL: %d test(s) pass on ZooKeeper and not on fkemu, and %s does not list "
              "them:" % (len(unexpected), path))
        for r in unexpected:
            print("  %s %s [%s]" % (r["module"], r["test"], r["outcome"]))
        return 1
    print("\nevery test that passes on ZooKeeper passes on fkemu, but the %d listed in %s"
          % (len(expected), path))
    return 0


# --------------------------------------------------------------------------------------------
# Child: runs one module's tests on one target, with the shims installed.
# --------------------------------------------------------------------------------------------


class ServerShim:
    """One server of the pretend cluster (kazoo.testing.common.ManagedZooKeeper's API)."""

    def __init__(self, address, control_path):
        self.host, port = address.rsplit(":", 1)
        self.client_port = int(port)
        self.control_path = control_path
        self._running = True

    @property
    def address(self):
        return "%s:%d" % (self.host, self.client_port)

    @property
    def running(self):
        return self._running

    def _ask(self, request):
        """Have the runner stop/start/reset the real server; raise if it could not."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(SERVER_START_TIMEOUT_S + 60)
            sock.connect(self.control_path)
            sock.sendall(request.encode() + b"\n")
            reply = sock.makefile().readline().strip()
        if reply != "ok":
            raise RuntimeError("runner could not %s the server: %s" % (request, reply))

    def run(self):
        if not self._running:
            self._ask("start")
            self._running = True

    start = run

    def stop(self):
        if self._running:
            self._running = False
            self._ask("stop")

    def reset(self):
        self._running = False
        self._ask("reset")

    def destroy(self):
        """The runner owns the process: nothing to destroy."""


class ClusterShim:
    """kazoo.testing.common.ZookeeperCluster's API over one already-running server."""

    def __init__(self, server):
        self._servers = [server]

    def __getitem__(self, index):
        if isinstance(index, int) and index >= len(self._servers):
            raise unittest.SkipTest("needs a multi-server ensemble (cluster[%d]); this "
                                    "runner has one server" % index)
        return self._servers[index]

    def __iter__(self):
        return iter(self._servers)

    def __len__(self):
        return len(self._servers)

    def start(self):
        for server in self._servers:
            server.run()

    def stop(self):
        for server in self._servers:
            server.stop()

    def terminate(self):
        """The runner stops the server at the end of the run."""

    def reset(self):
        for server in self._servers:
            server.reset()


def install_pytest_shim():
    """A 'pytest' module with what kazoo's tests use: raises(), skip() (and fail())."""
    shim = types.ModuleType("pytest")
    shim.__doc__ = "kazoo_suite.py's stand-in for pytest.raises / skip / fail"

    class RaisesContext:
        def __init__(self, expected, match):
            self.expected, self.match = expected, match
            self.type = self.value = self.tb = None

        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc_value, tb):
            if exc_type is None:
                raise AssertionError("DID NOT RAISE %r" % (self.expected,))
            if not issubclass(exc_type, self.expected):
                return False
            if self.match is not None and not re.search(self.match, str(exc_value)):
                raise AssertionError("%r does not match %r" % (str(exc_value), self.match))
            self.type, self.value, self.tb = exc_type, exc_value, tb
            return True

    def raises(expected, *args, **kwargs):
        context = RaisesContext(expected, kwargs.pop("match", None))
        if not args:
            return context
        with context:
            args[0](*args[1:], **kwargs)
        return context

    def skip(reason="", **kwargs):
        raise unittest.SkipTest(reason)

    def fail(reason="", pytrace=True):
        raise AssertionError(reason)

    shim.raises, shim.skip, shim.fail = raises, skip, fail
    sys.modules["pytest"] = shim


def install_objgraph_shim():
    """objgraph.count(typename): how many objects the garbage collector tracks of a type."""
    shim = types.ModuleType("objgraph")

    def count(typename, objects=None):
        if objects is None:
            objects = gc.get_objects()
        if "." in typename:
            return sum(1 for o in objects
                       if "%s.%s" % (type(o).__module__, type(o).__qualname__) == typename)
        return sum(1 for o in objects if type(o).__name__ == typename)

    shim.count = count
    sys.modules["objgraph"] = shim


class RecordingResult(unittest.TestResult):
    """Writes each test's outcome as a JSON line as soon as the test ends."""

    def __init__(self, sink, module):
        super().__init__()
        self.sink = sink
        self.module = module
        self.current = None  # (test id, start time, [(outcome, err)])

    def name(self, test):
        """'kazoo.tests.test_x.Class.test_y' -> 'Class.test_y'."""
        prefix = "kazoo.tests.%s." % self.module
        test_id = test.id()
        return test_id[len(prefix):] if test_id.startswith(prefix) else test_id

    def startTest(self, test):
        super().startTest(test)
        self.current = (self.name(test), time.monotonic(), [])
        self.sink.write({"event": "start", "test": self.current[0]})

    def stopTest(self, test):
        super().stopTest(test)
        name, started, outcomes = self.current
        self.current = None
        seconds = round(time.monotonic() - started, 2)
        # An error in tearDown after a failure: the failure counts, both texts are kept.
        order = [FAIL, ERROR, SKIP, PASS]
        outcomes.sort(key=lambda o: order.index(o[0]))
        outcome = outcomes[0][0] if outcomes else PASS
        texts = [o[1] for o in outcomes if o[1]]
        summary = outcomes[0][2] if outcomes else ""
        self.sink.write({"event": "end", "test": name, "result": record(
            outcome, "\n\n".join(texts), summary, seconds)})

    def _add(self, outcome, err=None, reason=""):
        if err is not None:
            text, summary = describe(err)
        else:
            text = summary = reason
        if self.current is None:  # a class or module fixture failed: a pseudo-test
            return
        self.current[2].append((outcome, text, summary))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._add(PASS)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._add(FAIL, err)

    def addError(self, test, err):
        super().addError(test, err)
        if self.current is None:  # setUpClass / setUpModule: report as its own test
            text, summary = describe(err)
            self.sink.write({"event": "end", "test": self.name(test),
                             "result": record(ERROR, text, summary)})
            return
        self._add(ERROR, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._add(SKIP, reason=reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._add(PASS)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._add(FAIL, reason="unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            outcome = FAIL if issubclass(err[0], test.failureException) else ERROR
            self._add(outcome, err)


def describe(err):
    """(full text, summary) of an exception: summary = exception, then where in the test."""
    exc_type, exc_value, tb = err
    text = "".join(traceback.format_exception(exc_type, exc_value, tb, limit=30))
    if len(text) > 6000:
        text = text[:2000] + "\n[...]\n" + text[-4000:]
    lines = "".join(traceback.format_exception_only(exc_type, exc_value)).strip().splitlines()
    where = None
    for frame in traceback.extract_tb(tb):
        if "/kazoo/tests/" in frame.filename or "/kazoo/testing/" in frame.filename:
            where = frame
    if where is not None:
        lines.append("at %s:%d in %s: %s" % (os.path.basename(where.filename), where.lineno,
                                              where.name, (where.line or "").strip()))
    return text, "\n".join(lines)


class Sink:
    """A JSON-lines file written from the test thread and the watchdog."""

    def __init__(self, path):
        self.handle = open(path, "a")
        self.lock = threading.Lock()

    def write(self, event):
        with self.lock:
            self.handle.write(json.dumps(event) + "\n")
            self.handle.flush()


def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from flatten(item)
        else:
            yield item


def skip_multi_server_tests(tests):
    """Replace, on the instances, the test methods that need several servers by skips."""
    for test in tests:
        method = getattr(test, "_testMethodName", None)
        reasons = [MULTI_SERVER_TESTS.get("%s.%s" % (cls.__name__, method))
                   for cls in type(test).__mro__]
        reason = next((r for r in reasons if r), None)
        if reason is None:
            continue

        def skipped(reason=reason):
            raise unittest.SkipTest(reason)

        skipped.__unittest_skip__ = True
        skipped.__unittest_skip_why__ = reason
        setattr(test, test._testMethodName, skipped)


def watchdog(result, sink, limit_s):
    """End the process when one test has run limit_s seconds: the runner goes on."""
    while True:
        time.sleep(1)
        current = result.current
        if current is not None and time.monotonic() - current[1] > limit_s:
            text = "test still running after %d s (--timeout-per-test); ended" % limit_s
            sink.write({"event": "end", "test": current[0], "result": record(
                TIMEOUT, text, text, round(time.monotonic() - current[1], 2))})
            os._exit(WATCHDOG_EXIT)


def child_main(argv):
    parser = argparse.ArgumentParser(prog="kazoo_suite.py --child")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--module", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--tests", required=True)
    parser.add_argument("--timeout-per-test", type=float, required=True)
    parser.add_argument("--only")
    parser.add_argument("--debug-logs", action="store_true")
    args = parser.parse_args(argv)
    if args.debug_logs:
        logging.basicConfig(level=logging.DEBUG,
                            format="%(asctime)s %(threadName)s %(name)s %(message)s")

    install_pytest_shim()
    if importlib.util.find_spec("objgraph") is None:
        install_objgraph_shim()
    import kazoo.testing.harness as harness

    cluster = ClusterShim(ServerShim(args.address, args.control))
    harness.get_global_cluster = lambda: cluster

    sink = Sink(args.results)
    suite = unittest.defaultTestLoader.loadTestsFromName("kazoo.tests." + args.module)
    result = RecordingResult(sink, args.module)
    tests = [t for t in flatten(suite)
             if not args.only or re.search(args.only, result.name(t))]
    sink.write({"event": "collected", "tests": [result.name(t) for t in tests]})
    with open(args.tests) as handle:
        wanted = json.load(handle)
    if wanted is not None:
        wanted = set(wanted)
        tests = [t for t in tests if result.name(t) in wanted]
    skip_multi_server_tests(tests)

    threading.Thread(target=watchdog, args=(result, sink, args.timeout_per_test),
                     daemon=True).start()
    unittest.TestSuite(tests).run(result)
    sink.write({"event": "done"})
    sys.stdout.flush()
    sys.stderr.flush()
    # kazoo clients left open by failed tests may hold non-daemon threads: do not wait.
    os._exit(0)


def main(argv):
    if argv[:1] == ["--child"]:
        return child_main(argv)
    return parent_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
