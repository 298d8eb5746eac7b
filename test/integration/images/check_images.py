#!/usr/bin/env python3
"""Checks every archive listed in images.txt, as a consumer of the OCI format would.

For each image: the OCI layout is complete and every blob matches its digest;
index.json names the image for containerd (io.containerd.image.name) and OCI
tools (org.opencontainers.image.ref.name); the layer's diff_id is the digest of
its uncompressed tar; every tar entry is owned by 0:0 with the mtime
SOURCE_DATE_EPOCH (or 0), in sorted order; the config carries the OCI labels and
a numeric User that is non-root, except weft-init, which the webhook runs as UID
0 with only NET_ADMIN and NET_RAW; the proxy runs as kProxyUid; the Entrypoint
is an executable file of the layer; and there is no shell or package manager.
Also: every image the webhook and manifests/ name is among those built, and the
webhook's classic-mode wait hook runs the proxy image's program.

Usage: check_images.py IMAGES_TXT SOURCE_DIR
"""

import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile

FORBIDDEN = ("bin/sh", "bin/bash", "usr/bin/sh", "usr/bin/bash", "bin/busybox",
             "usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg")
REQUIRED_LABELS = ("version", "source", "licenses", "title", "revision")
failures = []


def fail(image, message):
    failures.append(f"{image}: {message}")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def project_facts(source_dir):
    with open(os.path.join(source_dir, "CMakeLists.txt"), encoding="utf-8") as f:
        version = re.search(r"project\(weft\s+VERSION\s+([0-9.]+)", f.read()).group(1)
    with open(os.path.join(source_dir, "lib/weft/constants.h"), encoding="utf-8") as f:
        proxy_uid = int(re.search(r"kProxyUid\s*=\s*(\d+);", f.read()).group(1))
    try:
        revision = subprocess.run(["git", "-C", source_dir, "rev-parse", "HEAD"], check=True,
                                  capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        revision = "unknown"
    return version, proxy_uid, revision


def check_tar_entries(image, what, members, epoch):
    names = [m.name.rstrip("/") for m in members]
    if names != sorted(names):
        fail(image, f"{what} entries are not sorted")
    for m in members:
        if (m.uid, m.gid, m.uname, m.gname) != (0, 0, "", ""):
            fail(image, f"{what} entry {m.name} is not owned by 0:0")
        if m.mtime != epoch:
            fail(image, f"{what} entry {m.name} has mtime {m.mtime}, not {epoch}")


def check_image(ref, path, version, proxy_uid, revision, epoch):
    image = ref.rsplit("/", 1)[-1]
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        check_tar_entries(image, "archive", members, epoch)
        files = {m.name: archive.extractfile(m).read() for m in members if m.isfile()}

    def blob(descriptor):
        data = files.get("blobs/sha256/" + descriptor["digest"].split(":", 1)[1])
        if data is None or sha256(data) != descriptor["digest"] or len(data) != descriptor["size"]:
            fail(image, f"blob {descriptor['digest']} is missing or does not match")
            return b"{}"
        return data

    if json.loads(files.get("oci-layout", b"{}")).get("imageLayoutVersion") != "1.0.0":
        fail(image, "oci-layout is missing")
    index = json.loads(files["index.json"])
    if len(index["manifests"]) != 1:
        fail(image, "index.json must hold exactly one manifest")
    entry = index["manifests"][0]
    annotations = entry.get("annotations", {})
    if annotations.get("io.containerd.image.name") != ref:
        fail(image, f"io.containerd.image.name is {annotations.get('io.containerd.image.name')}")
    if annotations.get("org.opencontainers.image.ref.name") != version:
        fail(image, "org.opencontainers.image.ref.name is not the version tag")

    manifest = json.loads(blob(entry))
    config = json.loads(blob(manifest["config"]))
    if len(manifest["layers"]) != 1:
        fail(image, "expected one layer")
    layer_gz = blob(manifest["layers"][0])
    layer = gzip.decompress(layer_gz)
    if layer_gz[4:8] != b"\0\0\0\0":
        fail(image, "the gzip header carries an mtime")
    if config["rootfs"]["diff_ids"] != [sha256(layer)]:
        fail(image, "diff_id is not the digest of the uncompressed layer")
    if (config.get("os"), config.get("architecture")) != ("linux", "amd64"):
        fail(image, "platform is not linux/amd64")

    settings = config["config"]
    labels = settings.get("Labels", {})
    for key in REQUIRED_LABELS:
        if not labels.get("org.opencontainers.image." + key):
            fail(image, f"label org.opencontainers.image.{key} is missing")
    if labels.get("org.opencontainers.image.version") != version:
        fail(image, "version label is not the project version")
    if labels.get("org.opencontainers.image.licenses") != "Apache-2.0":
        fail(image, "licenses label is not Apache-2.0")
    if labels.get("org.opencontainers.image.revision") != revision:
        fail(image, f"revision label is not {revision}")

    user = settings.get("User", "")
    if not re.fullmatch(r"\d+:\d+", user):
        fail(image, f"User {user!r} is not numeric uid:gid")
    else:
        uid = int(user.split(":")[0])
        expected = {"weft-init": 0, "weft-proxy": proxy_uid}.get(image.split(":")[0], 65532)
        if uid != expected:
            fail(image, f"User is {user}, expected uid {expected}")

    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        layer_members = tar.getmembers()
    check_tar_entries(image, "layer", layer_members, epoch)
    by_name = {m.name.rstrip("/"): m for m in layer_members}
    entrypoint = settings.get("Entrypoint") or [""]
    entrypoints[path] = {entrypoint[0]}
    program = by_name.get(entrypoint[0].lstrip("/"))
    if program is None or not program.isfile() or not program.mode & 0o111:
        fail(image, f"Entrypoint {entrypoint} is not an executable file of the layer")
    for name in FORBIDDEN:
        if name in by_name:
            fail(image, f"holds {name}: no shell or package manager belongs in the image")
    if image.startswith("pause:"):
        regular = [m.name for m in layer_members if m.isfile()]
        if regular != ["pause"]:
            fail(image, f"the pause image must hold only /pause, it holds {regular}")


def check_references(source_dir, listed):
    """The images the install bundle and the webhook name are the ones built, and
    the webhook's classic-mode hook runs a program of the proxy image."""
    built = {ref for ref, _ in listed}
    with open(os.path.join(source_dir, "webhook/config.h"), encoding="utf-8") as f:
        webhook_config = f.read()
    named = re.findall(r'(?:proxy|init)_image = "([^"]+)"', webhook_config)
    for manifest in sorted(os.listdir(os.path.join(source_dir, "manifests"))):
        if manifest.endswith(".yaml"):
            with open(os.path.join(source_dir, "manifests", manifest), encoding="utf-8") as f:
                named += re.findall(r"^\s*image:\s*(\S+)", f.read(), re.MULTILINE)
    if len(named) < 4:
        fail("references", f"expected the proxy, init, operator and webhook images, found {named}")
    for image in named:
        if "docker.io/" + image not in built:
            fail("references", f"{image} is named by the webhook or manifests/ but not built")
    hook = re.search(r'classic_wait_command = \{"([^"]+)"', webhook_config)
    proxy = [ref for ref in built if "/weft-proxy:" in ref]
    if hook and proxy:
        path = dict(listed)[proxy[0]]
        if hook.group(1) not in entrypoints.get(path, ()):
            fail("references", f"the classic wait hook runs {hook.group(1)}, "
                 "which is not the proxy image's program")


entrypoints = {}  # archive path -> {Entrypoint program}


def main():
    images_txt, source_dir = sys.argv[1], sys.argv[2]
    version, proxy_uid, revision = project_facts(source_dir)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    with open(images_txt, encoding="utf-8") as f:
        listed = [line.split() for line in f if line.strip()]
    if not listed:
        print("images.txt lists no image", file=sys.stderr)
        return 1
    for ref, path in listed:
        check_image(ref, path, version, proxy_uid, revision, epoch)
        print(f"checked {ref}")
    check_references(source_dir, listed)
    for failure in failures:
        print("FAIL " + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
