extension WireWriter {
    /// A message header: ID, flags, `questions` in QDCOUNT and the other counts 0 (patched once the sections
    /// are written).
    public mutating func header(_ h: Header, questions: Int = 0) {
        u16(h.id)
        u16(h.flags)
        u16(UInt16(questions))
        u16(0)
        u16(0)
        u16(0)
    }
}

extension Message {
    /// Encodes the message with name compression. If the answer or authority section does not fit in `maxSize`,
    /// whole RRsets are dropped from the point of overflow and TC is set (RFC 2181 §9); additional RRsets that do
    /// not fit are dropped without TC. The OPT record always fits: its space is reserved first.
    /// Returns true when TC was set.
    @discardableResult
    public func write(into w: inout WireWriter, maxSize: Int = 65535) -> Bool {
        w.reset()
        var h = header
        w.header(h, questions: questions.count)
        for q in questions {
            w.name(q.name)
            w.u16(q.type.rawValue)
            w.u16(q.qclass.rawValue)
        }
        let limit = max(12, maxSize - (edns?.wireSize ?? 0))
        var truncated = w.count > limit
        var counts = [0, 0, 0]
        for si in 0..<3 where !truncated {
            // Indexing the three arrays directly: building [answers, authority, additional] allocated per call.
            let section = si == 0 ? answers : si == 1 ? authority : additional
            if section.isEmpty { continue }
            var i = 0
            while i < section.count {
                var j = i + 1
                while j < section.count && section[j].type == section[i].type && section[j].name == section[i].name { j += 1 }
                let mark = w.count
                for rr in section[i..<j] { Self.writeRecord(rr, into: &w) }
                if w.count > limit {
                    w.truncate(to: mark)
                    if si < 2 { truncated = true }
                    break
                }
                counts[si] += j - i
                i = j
            }
            if si == 2 { break }
        }
        if let e = edns {
            w.u8(0)
            w.u16(RRType.opt.rawValue)
            w.u16(e.udpPayloadSize)
            w.u8(e.extendedRCode)
            w.u8(e.version)
            w.u16(e.flags)
            w.u16(UInt16(e.options.reduce(0) { $0 + 4 + $1.data.count }))
            for o in e.options {
                w.u16(o.code)
                w.u16(UInt16(o.data.count))
                w.append(o.data)
            }
        }
        if truncated { h.tc = true }
        w.patchU16(at: 2, h.flags)
        w.patchU16(at: 6, UInt16(counts[0]))
        w.patchU16(at: 8, UInt16(counts[1]))
        w.patchU16(at: 10, UInt16(counts[2] + (edns == nil ? 0 : 1)))
        return truncated
    }

    public static func writeRecord(_ rr: ResourceRecord, into w: inout WireWriter) {
        w.name(rr.name)
        w.u16(rr.type.rawValue)
        w.u16(rr.rrclass.rawValue)
        w.u32(rr.ttl)
        let lenAt = w.count
        w.u16(0)
        rr.rdata.write(to: &w)
        w.patchU16(at: lenAt, UInt16(truncatingIfNeeded: w.count - lenAt - 2))
    }

    /// Convenience: the encoded bytes.
    public func wireBytes(maxSize: Int = 65535) -> [UInt8] {
        var w = WireWriter()
        write(into: &w, maxSize: maxSize)
        return w.bytes
    }
}
