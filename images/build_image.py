#!/usr/bin/env python3
"""Builds one OCI image archive from an image definition (images/*.json).

No Docker and no registry: the image is written directly as an OCI image layout
packed in a tar file (oci-layout, index.json, blobs/sha256/...), which
`ctr images import`, `umoci`, `skopeo` and `podman load` all read.

The output is reproducible: the same inputs give the same bytes. Every tar entry
is sorted, owned by 0:0, has a fixed mode and the mtime SOURCE_DATE_EPOCH (or
0); gzip carries no name and mtime 0; JSON is written with sorted keys.

A definition lists the files of the image's one layer (see docs/images.md):
  {"path": "/weft-proxy", "build": "bin/weft-proxy"}   a file of the CMake build
  {"path": "/usr/sbin/x", "host": "/usr/sbin/x"}       a file of this machine
  {"path": "/usr/sbin/y", "symlink": "x"}              a symbolic link
Executables and libraries bring their shared-library closure as `ldd` reports
it (and the dynamic loader), each copied at the path ldd names; static ones
bring nothing.

Usage: build_image.py DEFINITION --build-dir DIR --out FILE.oci.tar
On success prints one line: "<ref> <file> <uncompressed bytes> <compressed bytes>".
"""

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
import tempfile

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONSTANTS_HEADER = os.path.join(SOURCE_ROOT, "lib", "weft", "constants.h")
# The project's public repository (org.opencontainers.image.source).
SOURCE_URL = "https://github.com/weft-mesh/weft"
LICENSE = "Apache-2.0"
# containerd's import names an image after this annotation of its index entry.
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

DEFINITION_KEYS = {
    "name", "title", "description", "user", "entrypoint", "cmd", "env", "workdir",
    "files", "optional",
}
FILE_KINDS = ("build", "host", "symlink")


class DefinitionError(Exception):
    """A definition, or a file it names, is not usable; nothing is written."""


# ---------------------------------------------------------------- inputs


def project_version():
    """The version in the top-level CMakeLists.txt: the one place for it."""
    with open(os.path.join(SOURCE_ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        match = re.search(r"project\(weft\s+VERSION\s+([0-9.]+)", f.read())
    if not match:
        raise DefinitionError("no `project(weft VERSION x.y.z)` in CMakeLists.txt")
    return match.group(1)


def constant_from_header(name):
    """A numeric constant of lib/weft/constants.h, so a UID is defined once."""
    with open(CONSTANTS_HEADER, encoding="utf-8") as f:
        match = re.search(r"\b" + re.escape(name) + r"\s*=\s*(\d+)\s*;", f.read())
    if not match:
        raise DefinitionError(f"no numeric constant {name} in {CONSTANTS_HEADER}")
    return match.group(1)


def resolve_user(user):
    """"65532", "0", or {"constant": "kProxyUid"} -> "uid:gid" (gid = uid)."""
    if isinstance(user, dict) and set(user) == {"constant"}:
        uid = constant_from_header(user["constant"])
    elif isinstance(user, str) and user.isdigit():
        uid = user
    else:
        raise DefinitionError(f"user must be a numeric UID or {{\"constant\": NAME}}, not {user!r}")
    return f"{uid}:{uid}"


def git_revision():
    try:
        out = subprocess.run(["git", "-C", SOURCE_ROOT, "rev-parse", "HEAD"], check=True,
                             capture_output=True, text=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_definition(path):
    try:
        with open(path, encoding="utf-8") as f:
            definition = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DefinitionError(f"{path}: {e}") from e
    if not isinstance(definition, dict):
        raise DefinitionError(f"{path}: a definition is a JSON object")
    unknown = set(definition) - DEFINITION_KEYS
    if unknown:
        raise DefinitionError(f"{path}: unknown keys {sorted(unknown)}")
    for key in ("name", "title", "user", "entrypoint", "files"):
        if key not in definition:
            raise DefinitionError(f"{path}: missing key {key!r}")
    if not re.fullmatch(r"[a-z0-9]+(/[a-z0-9._-]+)+", definition["name"]):
        raise DefinitionError(f"{path}: name {definition['name']!r} is not a repository name")
    entrypoint = definition["entrypoint"]
    if not (isinstance(entrypoint, list) and entrypoint
            and all(isinstance(a, str) for a in entrypoint)):
        raise DefinitionError(f"{path}: entrypoint must be a non-empty list of strings")
    if not isinstance(definition["files"], list) or not definition["files"]:
        raise DefinitionError(f"{path}: files must be a non-empty list")
    for entry in definition["files"]:
        if not isinstance(entry, dict):
            raise DefinitionError(f"{path}: file entry {entry!r} is not an object")
        kinds = [k for k in FILE_KINDS if k in entry]
        if len(kinds) != 1 or set(entry) - {"path", "strip", *FILE_KINDS}:
            raise DefinitionError(
                f"{path}: file entry {entry} needs a path and one of {FILE_KINDS}")
        if not entry.get("path", "").startswith("/"):
            raise DefinitionError(f"{path}: file path must be absolute: {entry}")
    return definition


def build_file_path(build_dir, entry):
    return os.path.join(build_dir, entry["build"])


def program_exists(build_dir, definition):
    """Whether every build output the definition needs is in the build."""
    return all(os.path.isfile(build_file_path(build_dir, e))
               for e in definition["files"] if "build" in e)


# ---------------------------------------------------------------- the file tree


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def shared_library_closure(path):
    """{path in image: path on host} of what the loader maps for `path`."""
    result = subprocess.run(["ldd", path], capture_output=True, text=True)
    text = result.stdout + result.stderr
    if "not a dynamic executable" in text or "statically linked" in text:
        return {}
    if result.returncode != 0:
        raise DefinitionError(f"ldd {path} failed: {text.strip()}")
    closure = {}
    for line in result.stdout.splitlines():
        line = line.strip()
        if "=> not found" in line:
            raise DefinitionError(f"{path}: library not found: {line}")
        match = re.match(r"(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$", line)
        if match:  # linux-vdso has no path and is skipped by the pattern
            closure[match.group(1)] = os.path.realpath(match.group(1))
    return closure


def strip_copy(host_path, work_dir):
    """A stripped copy of a build output: debug info has no place in an image."""
    os.makedirs(work_dir, exist_ok=True)
    out = os.path.join(work_dir, hashlib.sha256(host_path.encode()).hexdigest()[:16])
    subprocess.run(["strip", "--strip-all", "-o", out, host_path], check=True)
    return out


def collect_tree(definition, build_dir, work_dir):
    """{path in image: ("file", host path, mode) | ("symlink", target)}."""
    tree = {}

    def add_file(image_path, host_path, mode):
        previous = tree.get(image_path)
        if previous and previous[:2] != ("file", host_path):
            # two different sources for one path: an error, never a silent choice
            if not (previous[0] == "file" and _same_content(previous[1], host_path)):
                raise DefinitionError(f"{image_path}: given twice ({previous[1]}, {host_path})")
        tree[image_path] = ("file", host_path, mode)

    for entry in definition["files"]:
        image_path = os.path.normpath(entry["path"])
        if "symlink" in entry:
            link = ("symlink", entry["symlink"])
            if tree.get(image_path, link) != link:
                raise DefinitionError(f"{image_path}: given twice ({tree[image_path]}, {link})")
            tree[image_path] = link
            continue
        host_path = build_file_path(build_dir, entry) if "build" in entry else entry["host"]
        if not os.path.isfile(host_path):
            raise DefinitionError(f"{image_path}: source {host_path} is not a file")
        elf = is_elf(host_path)
        if elf and entry.get("strip", "build" in entry):
            source = strip_copy(host_path, work_dir)
        else:
            source = os.path.realpath(host_path)
        executable = os.stat(host_path).st_mode & stat.S_IXUSR
        add_file(image_path, source, 0o755 if executable else 0o644)
        if elf:
            for lib_path, lib_host in shared_library_closure(host_path).items():
                add_file(os.path.normpath(lib_path), lib_host, 0o755)
    return tree


def _same_content(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


# ---------------------------------------------------------------- tar and blobs


def tar_info(name, epoch, kind, mode, size=0, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = linkname
    info.mtime = epoch
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def parent_directories(paths):
    dirs = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent not in ("/", ""):
            dirs.add(parent)
            parent = os.path.dirname(parent)
    return dirs


def layer_tar(tree, epoch):
    """The uncompressed layer: directories, files and links, sorted by path."""
    entries = {d: ("dir",) for d in parent_directories(tree)}
    entries.update(tree)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(entries):
            name = path.lstrip("/")
            entry = entries[path]
            if entry[0] == "dir":
                tar.addfile(tar_info(name + "/", epoch, tarfile.DIRTYPE, 0o755))
            elif entry[0] == "symlink":
                tar.addfile(tar_info(name, epoch, tarfile.SYMTYPE, 0o777, linkname=entry[1]))
            else:
                _, host_path, mode = entry
                with open(host_path, "rb") as f:
                    data = f.read()
                tar.addfile(tar_info(name, epoch, tarfile.REGTYPE, mode, len(data)),
                            io.BytesIO(data))
    return buffer.getvalue()


def gzip_bytes(data):
    buffer = io.BytesIO()
    # No file name and mtime 0 in the header, so the bytes depend on content only.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buffer.getvalue()


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type, data, **extra):
    return {"mediaType": media_type, "digest": digest(data), "size": len(data), **extra}


def rfc3339(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- the image


def build_image(definition_path, build_dir, out_path, epoch, revision):
    definition = load_definition(definition_path)
    version = project_version()
    repository = definition["name"]
    reference = f"{repository}:{version}"
    with tempfile.TemporaryDirectory(prefix="weft-image-") as work_dir:  # stripped copies
        layer = layer_tar(collect_tree(definition, build_dir, work_dir), epoch)
    layer_gz = gzip_bytes(layer)

    labels = {
        "org.opencontainers.image.title": definition["title"],
        "org.opencontainers.image.description": definition.get("description", ""),
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.source": SOURCE_URL,
        "org.opencontainers.image.licenses": LICENSE,
    }
    created = rfc3339(epoch)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "User": resolve_user(definition["user"]),
            "Entrypoint": definition["entrypoint"],
            "Cmd": definition.get("cmd", []),
            "Env": [f"PATH={DEFAULT_PATH}", *definition.get("env", [])],
            "WorkingDir": definition.get("workdir", "/"),
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(layer)]},
        "history": [{"created": created,
                     "created_by": f"images/build_image.py {os.path.basename(definition_path)}"}],
    }
    config_json = canonical_json(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": descriptor(MEDIA_CONFIG, config_json),
        "layers": [descriptor(MEDIA_LAYER, layer_gz)],
        "annotations": labels,
    }
    manifest_json = canonical_json(manifest)
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [descriptor(MEDIA_MANIFEST, manifest_json,
                                 platform={"architecture": "amd64", "os": "linux"},
                                 annotations={
                                     # the full name for containerd; the tag for OCI tools
                                     CONTAINERD_NAME_ANNOTATION: "docker.io/" + reference,
                                     "org.opencontainers.image.ref.name": version,
                                 })],
    }
    files = {
        "oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical_json(index),
    }
    for blob in (layer_gz, config_json, manifest_json):
        files["blobs/sha256/" + hashlib.sha256(blob).hexdigest()] = blob

    write_archive(files, out_path, epoch)
    return reference, len(layer), os.path.getsize(out_path)


def write_archive(files, out_path, epoch):
    """The OCI layout as a tar, written to a temporary name and renamed into place."""
    names = set(files) | {"blobs", "blobs/sha256"}
    temporary = out_path + ".partial"
    try:
        with tarfile.open(temporary, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(names):
                if name in files:
                    data = files[name]
                    tar.addfile(tar_info(name, epoch, tarfile.REGTYPE, 0o644, len(data)),
                                io.BytesIO(data))
                else:
                    tar.addfile(tar_info(name + "/", epoch, tarfile.DIRTYPE, 0o755))
        os.replace(temporary, out_path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("definition")
    parser.add_argument("--build-dir", required=True, help="the CMake build directory")
    parser.add_argument("--out", help="the .oci.tar file to write")
    parser.add_argument("--check-program", action="store_true",
                        help="only exit 0 if the definition's build outputs exist, else 1")
    args = parser.parse_args()
    try:
        if args.check_program:
            return 0 if program_exists(args.build_dir, load_definition(args.definition)) else 1
        if not args.out:
            parser.error("--out is required")
        epoch_text = os.environ.get("SOURCE_DATE_EPOCH", "0")
        if not epoch_text.isdigit():
            raise DefinitionError(
                f"SOURCE_DATE_EPOCH must be seconds since 1970, not {epoch_text!r}")
        epoch = int(epoch_text)
        reference, uncompressed, compressed = build_image(
            args.definition, args.build_dir, args.out, epoch, git_revision())
    except (DefinitionError, subprocess.CalledProcessError, ValueError, OSError) as e:
        print(f"build_image.py: {e}", file=sys.stderr)
        return 1
    print(f"{reference} {args.out} {uncompressed} {compressed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
