#!/usr/bin/env python3
"""Writes prometheusrule.yaml (a PrometheusRule for the Prometheus Operator) from
weft-alerts.rules.yml, so the two never drift: edit the rules file, then run
this script. With --check it writes nothing and exits 1 when the committed file
differs from what it would write (the unit test monitoring.prometheusrule_in_sync).
"""

import argparse
import difflib
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
RULES = HERE / "weft-alerts.rules.yml"
OUTPUT = HERE / "prometheusrule.yaml"

HEADER = """\
# Weft's alerting rules as a PrometheusRule (monitoring.coreos.com/v1).
# GENERATED from weft-alerts.rules.yml by make_prometheusrule.py: do not edit.
# The Prometheus Operator loads it when its Prometheus's ruleSelector and
# ruleNamespaceSelector select it (docs/alerts.md, "With the Prometheus Operator").
"""


class _Dumper(yaml.SafeDumper):
    # Lists indented under their key, as in the other manifests.
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str_presenter(dumper, value):
    # Multi-line expressions stay readable block scalars, as in the rules file.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def prometheus_rule(groups):
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "weft-alerts",
            "namespace": "weft-system",
            "labels": {
                "app.kubernetes.io/name": "weft-alerts",
                "app.kubernetes.io/part-of": "weft",
            },
        },
        "spec": {"groups": groups},
    }


def render(rules_text):
    groups = yaml.safe_load(rules_text)["groups"]
    body = yaml.dump(prometheus_rule(groups), Dumper=_Dumper, sort_keys=False, width=4096)
    return HEADER + body


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    wanted = render(RULES.read_text())
    if not args.check:
        OUTPUT.write_text(wanted)
        return 0
    current = OUTPUT.read_text() if OUTPUT.exists() else ""
    if current == wanted:
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            str(OUTPUT.relative_to(HERE.parent.parent)),
            "generated",
        )
    )
    print(
        f"{OUTPUT.name} is not what {RULES.name} generates: "
        f"run manifests/monitoring/{pathlib.Path(__file__).name}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
