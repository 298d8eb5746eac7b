#!/usr/bin/env python3
"""Validates JSON documents against a JSON Schema (draft 2020-12, formats checked).

usage: validate_schema.py SCHEMA DOCUMENT...
Exit 0 when every document is valid; 1 with one line per error otherwise.
"""
import json
import sys

import jsonschema


def main() -> int:
    schema = json.load(open(sys.argv[1], encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    failed = False
    for path in sys.argv[2:]:
        document = json.load(open(path, encoding="utf-8"))
        for error in validator.iter_errors(document):
            failed = True
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"{path}: /{where}: {error.message}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
