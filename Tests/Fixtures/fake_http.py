#!/usr/bin/env python3
"""A loopback HTTP server for the HTTP client's tests: echo, status codes, slow and oversized answers.
Writes its port to --port-file. Bounded: it exits after --seconds."""
import argparse, json, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path = self.path.split("?", 1)[0]
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            return self.reply(code, json.dumps({"status": code}), [("Retry-After", "7")] if code == 429 else [])
        if path == "/slow":
            time.sleep(3)
            return self.reply(200, "late")
        if path == "/cdn-cgi/trace":
            ip = open(a.ip_file).read().strip() if a.ip_file else "203.0.114.7"
            host = (self.headers.get("Host") or "").split(":")[0]
            return self.reply(200, f"fl=1f1\nh={host}\nip={ip}\nts=1732200000.1\nvisit_scheme=http\nuag=curl\ncolo=ARN\nwarp={a.warp}\ngateway=off\n")
        if path == "/ip":
            return self.reply(200, (open(a.ip_file).read().strip() if a.ip_file else "203.0.114.7") + "\n")
        if path == "/big":
            return self.reply(200, b"x" * (2 << 20))
        echo = {"method": self.command, "path": self.path, "body": body, "client": self.client_address[0],
                "headers": {k.lower(): v for k, v in self.headers.items()}}
        self.reply(200, json.dumps(echo), [("Content-Type", "application/json"), ("X-Test", "yes")])

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--seconds", type=int, default=120)
ap.add_argument("--bind", default="127.0.0.1")
ap.add_argument("--ip-file", default=None, help="the WAN address the trace and /ip report (tests change it)")
ap.add_argument("--warp", default="off")
a = ap.parse_args()
srv = ThreadingHTTPServer((a.bind, 0), Handler)
open(a.port_file, "w").write(str(srv.server_address[1]))
threading.Timer(a.seconds, srv.shutdown).start()
srv.serve_forever()
