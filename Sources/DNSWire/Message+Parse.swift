extension Message {
    /// Parses a whole message strictly: every count honoured, no trailing bytes, at most one OPT (in additional,
    /// owned by the root). Throws `WireError`; nothing traps.
    public static func parse(_ bytes: [UInt8]) throws(WireError) -> Message {
        var r = WireReader(bytes)
        var m = Message()
        m.header.id = try r.readU16()
        m.header.flags = try r.readU16()
        let qd = Int(try r.readU16()), an = Int(try r.readU16()), ns = Int(try r.readU16()), ar = Int(try r.readU16())
        // Each question needs ≥5 bytes and each record ≥11: reject impossible counts before allocating.
        guard qd * 5 + (an + ns + ar) * 11 <= r.remaining else {
            throw WireError(.truncated, at: 12, "counts exceed message size")
        }
        m.questions.reserveCapacity(qd)
        for _ in 0..<qd {
            let name = try r.readName()
            m.questions.append(Question(name: name, type: RRType(try r.readU16()), qclass: RRClass(try r.readU16())))
        }
        for _ in 0..<an { m.answers.append(try readRecord(&r)) }
        for _ in 0..<ns { m.authority.append(try readRecord(&r)) }
        for _ in 0..<ar {
            let start = r.position
            let name = try r.readName()
            let type = RRType(try r.readU16())
            if type == .opt {
                guard m.edns == nil else { throw WireError(.badOPT, at: start, "more than one OPT record") }
                guard name.isRoot else { throw WireError(.badOPT, at: start, "OPT owner is not the root") }
                m.edns = try readOPT(&r)
                continue
            }
            let cls = RRClass(try r.readU16())
            let ttl = try r.readU32()
            let len = Int(try r.readU16())
            m.additional.append(ResourceRecord(name: name, type: type, rrclass: cls, ttl: ttl, rdata: try RData.read(type: type, from: &r, length: len)))
        }
        guard r.remaining == 0 else { throw WireError(.trailingBytes, at: r.position, "\(r.remaining) bytes after the last record") }
        m.header.qdCount = UInt16(qd)
        m.header.anCount = UInt16(an)
        m.header.nsCount = UInt16(ns)
        m.header.arCount = UInt16(ar)
        return m
    }

    static func readRecord(_ r: inout WireReader) throws(WireError) -> ResourceRecord {
        let start = r.position
        let name = try r.readName()
        let type = RRType(try r.readU16())
        guard type != .opt else { throw WireError(.badOPT, at: start, "OPT outside the additional section") }
        let cls = RRClass(try r.readU16())
        let ttl = try r.readU32()
        let len = Int(try r.readU16())
        return ResourceRecord(name: name, type: type, rrclass: cls, ttl: ttl, rdata: try RData.read(type: type, from: &r, length: len))
    }

    /// The OPT record after its owner and type (RFC 6891 §6.1.2).
    static func readOPT(_ r: inout WireReader) throws(WireError) -> EDNS {
        var e = EDNS(udpPayloadSize: try r.readU16())
        e.extendedRCode = try r.readU8()
        e.version = try r.readU8()
        e.flags = try r.readU16()
        let len = Int(try r.readU16())
        let end = r.position + len
        guard end <= r.limit else { throw WireError(.truncated, at: r.position, "OPT RDATA") }
        while r.position < end {
            let code = try r.readU16()
            let olen = Int(try r.readU16())
            guard r.position + olen <= end else { throw WireError(.badOPT, at: r.position, "option overruns OPT RDATA") }
            e.options.append(EDNSOption(code: code, data: try r.readBytes(olen)))
        }
        return e
    }
}
