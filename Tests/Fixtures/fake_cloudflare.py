#!/usr/bin/env python3
"""A strict local stand-in for Cloudflare's API v4 (DNS records), for the DDNS tests. Loopback only.

Contract enforced (as documented by Cloudflare):
- Authorization: Bearer <token>. Missing or malformed header: 400, code 6003 with error_chain 6111.
  Unknown token: 403, code 9109 "Invalid access token". A token with a client IP filter that excludes the caller
  (ip-limited-token): 403, code 9109 "Cannot use the access token from location: IP". Token without edit
  permission (readonly-token) writing: 403, code 10000.
- GET /client/v4/zones?name=Z; GET /zones/{id}/dns_records?type=T&name=N (exact name);
  PATCH /zones/{id}/dns_records/{rid} changes only the fields given; PUT replaces and needs type, name,
  content and ttl; POST creates (an identical record: 400, code 81058); ttl must be 1 or 60..86400 (9003).
- Every answer is the {success, errors, messages, result} envelope.
Test control (not Cloudflare): POST /__control {"rate_limit": N, "retry_after": S, "fail5xx": N, "delay_ms": D,
"add_record": {...}, "set_content": {"id": ID, "content": C}} (the last two change records behind the client's back);
GET /__state returns the records and the calls seen. Writes its port to --port-file; exits after --seconds."""
import argparse, ipaddress, json, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKENS = {"good-token": "edit", "readonly-token": "read", "ip-limited-token": "ip-filtered"}
lock = threading.Lock()
state = {
    "zones": [{"id": "zone-jamfox", "name": "jamfox.dev"}],
    "records": [
        {"id": "rec-vpn", "zone_id": "zone-jamfox", "type": "A", "name": "vpn.jamfox.dev", "content": "198.51.100.1", "ttl": 300, "proxied": False, "comment": "home vpn"},
        {"id": "rec-valheim", "zone_id": "zone-jamfox", "type": "A", "name": "valheim.jamfox.dev", "content": "198.51.100.1", "ttl": 1, "proxied": False, "comment": None},
        {"id": "rec-apex", "zone_id": "zone-jamfox", "type": "A", "name": "jamfox.dev", "content": "198.51.100.1", "ttl": 1, "proxied": True, "comment": None},
    ],
    "calls": [],
    "control": {"rate_limit": 0, "retry_after": 5, "fail5xx": 0, "delay_ms": 0},
}

def envelope(result=None, errors=(), success=True):
    return {"success": success, "errors": list(errors), "messages": [], "result": result}

def err(code, message, chain=None):
    e = {"code": code, "message": message}
    if chain:
        e["error_chain"] = chain
    return e

def valid_content(rtype, content):
    try:
        ip = ipaddress.ip_address(content)
    except ValueError:
        return False
    return (rtype == "A" and ip.version == 4) or (rtype == "AAAA" and ip.version == 6)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return None
        return json.loads(raw)

    def handle_any(self):
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path == "/__control":
            with lock:
                b = self.body() or {}
                add = b.pop("add_record", None)
                if add:
                    rec = {"zone_id": "zone-jamfox", "ttl": 1, "proxied": False, "comment": None}
                    rec.update(add)
                    state["records"].append(rec)
                change = b.pop("set_content", None)
                if change:
                    for r in state["records"]:
                        if r["id"] == change["id"]:
                            r["content"] = change["content"]
                state["control"].update(b)
            return self.send(200, {"ok": True})
        if path == "/__state":
            with lock:
                return self.send(200, {"records": state["records"], "calls": state["calls"]})
        body = None
        try:
            body = self.body()
        except ValueError:
            return self.send(400, envelope(None, [err(6007, "Malformed JSON in request body")], False))
        with lock:
            state["calls"].append({"method": self.command, "path": path, "query": query, "body": body})
            c = state["control"]
            delay = c["delay_ms"]
            if c["rate_limit"] > 0:
                c["rate_limit"] -= 1
                return self.send(429, envelope(None, [err(971, "Please wait and consider throttling your request speed")], False),
                                 [("Retry-After", str(c["retry_after"]))])
            if c["fail5xx"] > 0:
                c["fail5xx"] -= 1
                return self.send(503, envelope(None, [err(10013, "Service unavailable")], False))
        if delay:
            time.sleep(delay / 1000)
        auth = self.headers.get("Authorization")
        if not auth or not auth.startswith("Bearer ") or len(auth.split(" ")) != 2:
            return self.send(400, envelope(None, [err(6003, "Invalid request headers", [err(6111, "Invalid format for Authorization header")])], False))
        perm = TOKENS.get(auth.split(" ")[1])
        if perm is None:
            return self.send(403, envelope(None, [err(9109, "Invalid access token")], False))
        if perm == "ip-filtered":
            return self.send(403, envelope(None, [err(9109, "Cannot use the access token from location: " + self.client_address[0])], False))
        if self.command in ("PATCH", "PUT", "POST", "DELETE") and perm != "edit":
            return self.send(403, envelope(None, [err(10000, "Authentication error")], False))
        parts = path.strip("/").split("/")
        if parts[:2] != ["client", "v4"]:
            return self.send(404, envelope(None, [err(7003, "Could not route to " + path)], False))
        parts = parts[2:]
        with lock:
            if parts == ["zones"] and self.command == "GET":
                return self.send(200, envelope([z for z in state["zones"] if "name" not in params or z["name"] == params["name"]]))
            if len(parts) >= 3 and parts[0] == "zones" and parts[2] == "dns_records":
                zid = parts[1]
                if not any(z["id"] == zid for z in state["zones"]):
                    return self.send(404, envelope(None, [err(7003, "Could not route to zone")], False))
                recs = [r for r in state["records"] if r["zone_id"] == zid]
                if len(parts) == 3 and self.command == "GET":
                    out = [r for r in recs if ("type" not in params or r["type"] == params["type"]) and ("name" not in params or r["name"] == params["name"])]
                    return self.send(200, envelope(out))
                if len(parts) == 3 and self.command == "POST":
                    b = body or {}
                    for f in ("type", "name", "content"):
                        if f not in b:
                            return self.send(400, envelope(None, [err(9005, f"Missing {f}")], False))
                    ttl = b.get("ttl", 1)
                    if not (ttl == 1 or 60 <= ttl <= 86400):
                        return self.send(400, envelope(None, [err(9003, "Invalid 'ttl' setting")], False))
                    if not valid_content(b["type"], b["content"]):
                        return self.send(400, envelope(None, [err(9005, "Content for A record must be a valid IPv4 address.")], False))
                    if any(r["type"] == b["type"] and r["name"] == b["name"] and r["content"] == b["content"] for r in recs):
                        return self.send(400, envelope(None, [err(81058, "An identical record already exists.")], False))
                    rec = {"id": "rec-" + uuid.uuid4().hex[:8], "zone_id": zid, "type": b["type"], "name": b["name"], "content": b["content"],
                           "ttl": ttl, "proxied": b.get("proxied", False), "comment": b.get("comment")}
                    state["records"].append(rec)
                    return self.send(200, envelope(rec))
                if len(parts) == 4:
                    rec = next((r for r in recs if r["id"] == parts[3]), None)
                    if rec is None:
                        return self.send(404, envelope(None, [err(81044, "Record does not exist.")], False))
                    b = body or {}
                    allowed = {"type", "name", "content", "ttl", "proxied", "comment", "tags"}
                    if set(b) - allowed:
                        return self.send(400, envelope(None, [err(9000, "Unknown fields: " + ",".join(sorted(set(b) - allowed)))], False))
                    if self.command == "PUT":
                        for f in ("type", "name", "content", "ttl"):
                            if f not in b:
                                return self.send(400, envelope(None, [err(9005, f"PUT replaces the record: {f} is required")], False))
                    elif self.command != "PATCH":
                        if self.command == "DELETE":
                            state["records"].remove(rec)
                            return self.send(200, envelope({"id": rec["id"]}))
                        return self.send(405, envelope(None, [err(10405, "Method not allowed")], False))
                    ttl = b.get("ttl", rec["ttl"])
                    if not (ttl == 1 or 60 <= ttl <= 86400):
                        return self.send(400, envelope(None, [err(9003, "Invalid 'ttl' setting")], False))
                    if "content" in b and not valid_content(b.get("type", rec["type"]), b["content"]):
                        return self.send(400, envelope(None, [err(9005, "Invalid content for the record type")], False))
                    if self.command == "PUT":
                        rec.update({"proxied": False, "comment": None})
                    rec.update(b)
                    return self.send(200, envelope(rec))
        return self.send(404, envelope(None, [err(7003, "Could not route to " + path)], False))

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--seconds", type=int, default=120)
a = ap.parse_args()
srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
open(a.port_file, "w").write(str(srv.server_address[1]))
threading.Timer(a.seconds, srv.shutdown).start()
srv.serve_forever()
