#!/usr/bin/env python3
"""The monitoring bundle (manifests/monitoring/) checked as Prometheus checks it.

    monitoring_test.py check-rules     promtool check rules: the rules file and
                                       the PrometheusRule's groups
    monitoring_test.py check-config    promtool check config on prometheus.yml
    monitoring_test.py test-rules      promtool test rules on every *_test.yml here
    monitoring_test.py in-sync         prometheusrule.yaml is what the rules file generates
    monitoring_test.py scrape-limits   every job sets the scrape limits, each documented
                                       with its metric in docs/alerts.md; the
                                       weft-proxy job keeps every metric the proxy
                                       registers, documents or the rules read, and
                                       nothing else
    monitoring_test.py conventions     every alert: severity, summary, description,
                                       a runbook_url whose section exists in
                                       docs/alerts.md, a test where it fires and
                                       one where it stays silent; every job the
                                       rules select is scraped; every metric they
                                       read is documented by its component

The promtool commands exit 77 (skipped) when promtool is missing, saying why,
except as root: CI runs as root after scripts/install-deps, which installs it.
"""

import copy
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
BUNDLE = ROOT / "manifests" / "monitoring"
RULES = BUNDLE / "weft-alerts.rules.yml"
PROMETHEUS_RULE = BUNDLE / "prometheusrule.yaml"
CONFIG = BUNDLE / "prometheus.yml"
ALERTS_DOC = ROOT / "docs" / "alerts.md"
RUNBOOK_BASE = "https://github.com/weft-mesh/weft/blob/main/docs/alerts.md#"
SEVERITIES = {"critical", "warning", "info"}
# Where each component's metrics are documented: a metric a rule reads must be
# in one of these tables (a renamed metric would leave its alert silent forever).
METRIC_DOCS = ["proxy.md", "operator.md", "webhook.md", "identity.md"]
# Metrics of others: Prometheus's own and the API server's.
EXTERNAL_METRICS = {
    "up",
    "apiserver_admission_webhook_rejection_count",
    "apiserver_admission_webhook_request_total",
}
# Metrics a rule reads ahead of the component that will export them (none
# now). Remove a name here once documented.
PENDING_METRICS = set()
SKIP = 77


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    return 1


def require_tool(name):
    """The path of a program of Debian's prometheus package, or exit: 77 (skip),
    or 1 as root, where scripts/install-deps has run and it must be there."""
    found = shutil.which(name)
    if found:
        return found
    if os.geteuid() == 0:
        print(
            f"FAIL: {name} not found; scripts/install-deps installs it (Debian package "
            "prometheus), and as root this test does not skip",
            file=sys.stderr,
        )
        sys.exit(1)
    print(
        f"SKIP: {name} not found (Debian package prometheus; run scripts/install-deps)",
        file=sys.stderr,
    )
    sys.exit(SKIP)


def promtool():
    return require_tool("promtool")


def run(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(result.stdout, end="")
    return result.returncode


def alerts(groups):
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def check_rules():
    tool = promtool()
    if run([tool, "check", "rules", str(RULES)]) != 0:
        return fail(f"promtool check rules {RULES.name}")
    spec = yaml.safe_load(PROMETHEUS_RULE.read_text())["spec"]
    with tempfile.TemporaryDirectory() as tmp:
        extracted = pathlib.Path(tmp) / "prometheusrule-groups.yml"
        extracted.write_text(yaml.safe_dump(spec))
        if run([tool, "check", "rules", str(extracted)]) != 0:
            return fail(f"promtool check rules on {PROMETHEUS_RULE.name}'s spec")
    return 0


# Debian's Prometheus is built without Kubernetes discovery, so its promtool
# refuses kubernetes_sd_configs as an unknown field. Each block is checked here
# against the fields the bundle uses, then replaced by a static target, and
# promtool checks everything else: relabelling (actions, regular expressions,
# target labels), TLS and authorization settings, the rule files.
KUBERNETES_SD_ROLES = {"pod", "endpoints", "service", "node", "endpointslice", "ingress"}


def check_kubernetes_sd(job, blocks):
    problems = []
    for block in blocks:
        unknown = set(block) - {"role", "namespaces"}
        if unknown:
            problems.append(f"job {job}: kubernetes_sd_configs fields not checked here: {sorted(unknown)}")
        if block.get("role") not in KUBERNETES_SD_ROLES:
            problems.append(f"job {job}: kubernetes_sd_configs role {block.get('role')!r}")
        namespaces = block.get("namespaces", {"names": []})
        if set(namespaces) != {"names"} or not all(isinstance(n, str) for n in namespaces["names"]):
            problems.append(f"job {job}: kubernetes_sd_configs namespaces must be {{names: [...]}}")
    return problems


def check_config():
    tool = promtool()
    config = yaml.safe_load(CONFIG.read_text())
    problems = []
    static = copy.deepcopy(config)
    for job in static["scrape_configs"]:
        blocks = job.pop("kubernetes_sd_configs", None)
        if blocks is None:
            problems.append(f"job {job['job_name']}: no kubernetes_sd_configs")
            continue
        problems += check_kubernetes_sd(job["job_name"], blocks)
        job["static_configs"] = [{"targets": ["127.0.0.1:9"]}]
    for problem in problems:
        print(problem, file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for rule_file in config.get("rule_files", []):
            shutil.copy(BUNDLE / rule_file, pathlib.Path(tmp) / rule_file)
        checked = pathlib.Path(tmp) / "prometheus.yml"
        checked.write_text(yaml.safe_dump(static, sort_keys=False))
        # --syntax-only: the ServiceAccount's token and CA exist only in a pod.
        if run([tool, "check", "config", "--syntax-only", str(checked)]) != 0:
            problems.append("promtool check config")
    return fail("; ".join(problems)) if problems else 0


def test_files():
    return sorted(HERE.glob("*_test.yml"))


def test_rules():
    tool = promtool()
    files = test_files()
    if not files:
        return fail(f"no *_test.yml in {HERE}")
    return 0 if run([tool, "test", "rules", *map(str, files)]) == 0 else fail("promtool test rules")


def in_sync():
    return run([sys.executable, str(BUNDLE / "make_prometheusrule.py"), "--check"])


def github_anchor(heading):
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def conventions():
    problems = []
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = alerts(groups)
    anchors = {
        github_anchor(m.group(1))
        for m in re.finditer(r"^#+ (.+)$", ALERTS_DOC.read_text(), re.MULTILINE)
    }
    names = [rule["alert"] for rule in rules]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(f"{name}: defined twice")
    for rule in rules:
        name = rule["alert"]
        if rule.get("labels", {}).get("severity") not in SEVERITIES:
            problems.append(f"{name}: severity must be one of {sorted(SEVERITIES)}")
        notes = rule.get("annotations", {})
        for key in ("summary", "description"):
            if not notes.get(key):
                problems.append(f"{name}: no {key} annotation")
        url = notes.get("runbook_url", "")
        if url != RUNBOOK_BASE + name.lower():
            problems.append(f"{name}: runbook_url must be {RUNBOOK_BASE}{name.lower()}")
        if name.lower() not in anchors:
            problems.append(f"{name}: docs/alerts.md has no section '{name}'")

    # Each alert must be seen firing and seen silent in some test case.
    firing, silent = set(), set()
    for path in test_files():
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    for name in names:
        if name not in firing:
            problems.append(f"{name}: no test where it fires")
        if name not in silent:
            problems.append(f"{name}: no test where it stays silent")
    for name in (firing | silent) - set(names):
        problems.append(f"tests name an alert that does not exist: {name}")

    # Every job the rules select is one prometheus.yml scrapes.
    jobs = {job["job_name"] for job in yaml.safe_load(CONFIG.read_text())["scrape_configs"]}
    for rule in rules:
        for job in re.findall(r'job="([^"]+)"', rule["expr"]):
            if job not in jobs:
                problems.append(f"{rule['alert']}: job {job!r} is not scraped by prometheus.yml")

    # Every metric a rule reads is one a component documents.
    documented = "".join((ROOT / "docs" / name).read_text() for name in METRIC_DOCS)
    for rule in rules:
        for metric in set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{", rule["expr"])):
            family = re.sub(r"_(bucket|count|sum)$", "", metric)
            in_docs = f"`{family}" in documented
            if metric in EXTERNAL_METRICS or family in EXTERNAL_METRICS:
                continue
            if family in PENDING_METRICS:
                if in_docs:
                    problems.append(f"{family} is documented now: remove it from PENDING_METRICS")
            elif not in_docs:
                problems.append(f"{rule['alert']}: {family} is in no metrics table of {METRIC_DOCS}")

    for problem in problems:
        print(problem, file=sys.stderr)
    return fail(f"{len(problems)} convention problem(s)") if problems else 0


# The scrape limits every job sets, and the metric that counts each triggering
# (docs/alerts.md, "Scrape limits", names both).
SCRAPE_LIMITS = {
    "sample_limit": "prometheus_target_scrapes_exceeded_sample_limit_total",
    "body_size_limit": "prometheus_target_scrapes_exceeded_body_size_limit_total",
    "label_limit": "prometheus_target_scrape_pool_exceeded_label_limits_total",
    "label_name_length_limit": "prometheus_target_scrape_pool_exceeded_label_limits_total",
    "label_value_length_limit": "prometheus_target_scrape_pool_exceeded_label_limits_total",
    "target_limit": "prometheus_target_scrape_pool_exceeded_target_limit_total",
}
PROXY_SOURCES = ROOT / "proxy"


def proxy_metric_names():
    """Every series name weft-proxy can export: the families its sources
    register (a histogram's with _bucket, _sum and _count)."""
    names = set()
    for source in PROXY_SOURCES.rglob("*.cpp"):
        for kind, name in re.findall(r'\.\s*(counter|gauge|histogram)\s*\(\s*"([a-z_0-9]+)"',
                                     source.read_text()):
            if kind == "histogram":
                names |= {name + "_bucket", name + "_sum", name + "_count"}
            else:
                names.add(name)
    return names


def documented_proxy_metrics():
    """The metric names of docs/proxy.md's metrics tables."""
    names = set()
    for line in (ROOT / "docs" / "proxy.md").read_text().splitlines():
        cells = line.split("|")
        if len(cells) > 3 and cells[2].strip().split(" ")[0] in ("counter", "gauge", "histogram"):
            names |= set(re.findall(r"`([a-z_0-9]+)`", cells[1]))
    return names


def scrape_limits():
    config = yaml.safe_load(CONFIG.read_text())
    doc = ALERTS_DOC.read_text()
    problems = []
    for job in config["scrape_configs"]:
        for limit in SCRAPE_LIMITS:
            if not job.get(limit):
                problems.append(f"job {job['job_name']}: no {limit}")
    section = doc.split("### Scrape limits", 1)[-1].split("\n## ", 1)[0] if "### Scrape limits" in doc else ""
    for limit, metric in SCRAPE_LIMITS.items():
        if f"`{limit}`" not in section or f"`{metric}`" not in section:
            problems.append(f"docs/alerts.md, Scrape limits: {limit} or {metric} not named")

    proxy = next(j for j in config["scrape_configs"] if j["job_name"] == "weft-proxy")
    keeps = [r for r in proxy.get("metric_relabel_configs", [])
             if r.get("action") == "keep" and r.get("source_labels") == ["__name__"]]
    if len(keeps) != 1:
        problems.append("weft-proxy: one metric_relabel_configs keep on __name__ expected")
    else:
        regex = re.compile(keeps[0]["regex"])
        registered = proxy_metric_names()
        # A histogram is documented by its family's name: its series have suffixes.
        documented = {name + "_bucket" if name + "_bucket" in registered else name
                      for name in documented_proxy_metrics()}
        if len(registered) < 40 or len(documented) < 40:
            problems.append(f"found {len(registered)} registered and {len(documented)} documented "
                            "proxy metrics: the extraction is broken")
        read_by_rules = {m for rule in alerts(yaml.safe_load(RULES.read_text())["groups"])
                         for m in re.findall(r'\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{[^}]*job="weft-proxy"',
                                             rule["expr"])}
        for origin, names in (("registered in proxy/", registered), ("in docs/proxy.md", documented),
                              ("read by the rules", read_by_rules - {"up"})):
            for name in sorted(names):
                if not regex.fullmatch(name):
                    problems.append(f"weft-proxy drops {name}, {origin}")
        for foreign in ("weft_bomb", "go_goroutines", "process_resident_memory_bytes",
                        "request_total_x", "x_request_total", "response_total_bucket"):
            if regex.fullmatch(foreign):
                problems.append(f"weft-proxy keeps {foreign}, which the proxy does not export")
    for problem in problems:
        print(problem, file=sys.stderr)
    return fail(f"{len(problems)} scrape limit problem(s)") if problems else 0


COMMANDS = {
    "check-rules": check_rules,
    "check-config": check_config,
    "test-rules": test_rules,
    "in-sync": in_sync,
    "conventions": conventions,
    "scrape-limits": scrape_limits,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]]())
