#!/usr/bin/env python3
"""A strict local stand-in for Namecheap's dynamic DNS endpoint, for the DDNS tests. Loopback only.

GET /update?host=H&domain=D&password=P&ip=A answers HTTP 200 with the interface-response XML (declared
utf-16, sent as ASCII). Errors are in the XML: ErrCount > 0 with Err1..N. Known: domain jamfox.dev with
password "good-password"; hosts @, *, and labels. Anything but GET: 405. GET /__state lists the updates.
Writes its port to --port-file; exits after --seconds."""
import argparse, ipaddress, json, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DOMAINS = {"jamfox.dev": "good-password"}
lock = threading.Lock()
updates = []

def xml(ip, errors):
    errs = "".join(f"<Err{i + 1}>{e}</Err{i + 1}>" for i, e in enumerate(errors))
    return ('<?xml version="1.0" encoding="utf-16"?>\r\n<interface-response><Command>SETDNSHOST</Command><Language>eng</Language>'
            + (f"<IP>{ip}</IP>" if ip and not errors else "")
            + f"<ErrCount>{len(errors)}</ErrCount>" + (f"<errors>{errs}</errors>" if errors else "<errors />")
            + "<ResponseCount>0</ResponseCount><responses /><Done>true</Done><debug><![CDATA[]]></debug></interface-response>")

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, text, ctype="text/html"):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/__state":
            with lock:
                return self.send(200, json.dumps(updates), "application/json")
        if u.path != "/update":
            return self.send(404, "not found")
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        errors = []
        host, domain, password, ip = q.get("host"), q.get("domain"), q.get("password"), q.get("ip")
        if not domain or domain not in DOMAINS:
            errors.append("Domain name not found")
        elif password != DOMAINS[domain]:
            errors.append("Passwords do not match")
        if not host:
            errors.append("No Records updated. A record not Found;")
        try:
            if ip is not None and ipaddress.ip_address(ip).version != 4:
                errors.append("Invalid IP")
        except ValueError:
            errors.append("Invalid IP")
        if not errors:
            with lock:
                updates.append({"host": host, "domain": domain, "ip": ip or self.client_address[0]})
        self.send(200, xml(ip or self.client_address[0], errors))

    def do_POST(self):
        self.send(405, "method not allowed")
    do_PUT = do_PATCH = do_DELETE = do_POST

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--seconds", type=int, default=120)
a = ap.parse_args()
srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
open(a.port_file, "w").write(str(srv.server_address[1]))
threading.Timer(a.seconds, srv.shutdown).start()
srv.serve_forever()
