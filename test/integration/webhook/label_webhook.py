#!/usr/bin/env python3
"""A second mutating webhook for the reinvocation test: adds the label
weft-test/relabelled=yes to every pod it reviews, so the API server reinvokes
weft-webhook (reinvocationPolicy IfNeeded) on an already injected pod.

  label_webhook.py CERT KEY PORT_FILE    serves HTTPS on 127.0.0.1, a free port
                                         written to PORT_FILE
"""
import base64
import http.server
import json
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        pod = review["request"]["object"]
        labels = pod.get("metadata", {}).get("labels")
        if labels is None:
            patch = [{"op": "add", "path": "/metadata/labels", "value": {"weft-test/relabelled": "yes"}}]
        else:
            patch = [{"op": "add", "path": "/metadata/labels/weft-test~1relabelled", "value": "yes"}]
        body = json.dumps({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": review["request"]["uid"], "allowed": True, "patchType": "JSONPatch",
                         "patch": base64.b64encode(json.dumps(patch).encode()).decode()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


cert, key, port_file = sys.argv[1:]
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file, "w") as out:
    out.write(str(server.server_address[1]))
server.serve_forever()
