#!/usr/bin/env python3
"""Answers `whoami.cloudflare` TXT in class CH the way Cloudflare's resolvers do (the asker's address, here a
fixed one from --answer), over UDP on loopback. No Debian DNS server serves a custom CH zone without a
full BIND setup, so this small responder stands in. Writes its port to --port-file; exits after --seconds."""
import argparse, socket, struct, threading

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--answer", default="203.0.114.10")
ap.add_argument("--seconds", type=int, default=60)
a = ap.parse_args()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(a.port_file, "w").write(str(s.getsockname()[1]))
threading.Timer(a.seconds, lambda: s.close()).start()
while True:
    try:
        q, addr = s.recvfrom(4096)
    except OSError:
        break
    if len(q) < 12:
        continue
    i = 12
    while i < len(q) and q[i] != 0:
        i += 1 + q[i]
    qend = i + 5
    qname, qtype, qclass = q[12:i + 1], *struct.unpack("!HH", q[i + 1:qend])
    ok = qname.lower() == b"\x06whoami\x0acloudflare\x00" and qtype == 16 and qclass == 3
    flags = 0x8400 | (0 if ok else 5)  # QR AA, REFUSED if not the question it knows
    txt = a.answer.encode()
    answer = (b"\xc0\x0c" + struct.pack("!HHIH", 16, 3, 0, len(txt) + 1) + bytes([len(txt)]) + txt) if ok else b""
    hdr = q[:2] + struct.pack("!HHHHH", flags, 1, 1 if ok else 0, 0, 0)
    s.sendto(hdr + q[12:qend] + answer, addr)
