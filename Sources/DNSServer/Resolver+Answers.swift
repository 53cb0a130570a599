import DNSWire

/// The answers the resolver writes: an upstream or cached answer made into the client's, and its own.
extension Resolver {
    /// The upstream's (or the cache's) answer made into the client's: its ID, its question as written, RD/CD
    /// as asked, RA set, AA clear, our own OPT, and no more than the client can take (TC otherwise).
    /// Fast path for answers without OPT (what the cache holds): patch the header and the question's bytes in
    /// place and append our OPT; anything else goes through parse and re-encode.
    func clientAnswer(from wire: [UInt8], _ q: RecursionQuery, stale: Bool) -> [UInt8] {
        if !stale, let fast = Self.patchedAnswer(wire, q, ednsPayload: ednsPayload) { return fast }
        return reencodedAnswer(from: wire, q, stale: stale)
    }

    static func patchedAnswer(_ wire: [UInt8], _ q: RecursionQuery, ednsPayload: Int) -> [UInt8]? {
        var out = wire
        return patchInPlace(&out, q, ednsPayload: ednsPayload) ? out : nil
    }

    /// Patches a cached (OPT-free) answer in place into the client's answer; false if it needs re-encoding.
    static func patchInPlace(_ out: inout [UInt8], _ q: RecursionQuery, ednsPayload: Int) -> Bool {
        let wire = out
        let qn = q.question.name.wire
        guard wire.count >= 12 + qn.count + 4, wire[4] == 0, wire[5] == 1 else { return false }
        let ar = Int(wire[10]) << 8 | Int(wire[11])
        // The cached question must be the same name (case aside): then its bytes have the same length.
        guard wire[12 + qn.count - 1] == 0 else { return false }
        var i = 0
        while i < qn.count {
            if DNSName.lower(wire[12 + i]) != DNSName.lower(qn[i]) { return false }
            i += 1
        }
        let optSize = q.edns == nil ? 0 : 11
        guard wire.count + optSize <= q.maxSize, ar < 0xFFFF else { return false }  // needs truncation: slow path
        out[0] = UInt8(q.id >> 8)
        out[1] = UInt8(q.id & 0xFF)
        // QR, opcode QUERY, AA clear, TC clear, RD as asked; RA set, Z and AD clear, CD as asked; RCODE kept.
        out[2] = 0x80 | UInt8((q.flags >> 8) & 0x01)
        out[3] = 0x80 | UInt8(q.flags & 0x10) | Self.clientRCode(wire[3] & 0x0F, q)
        for k in 0..<qn.count { out[12 + k] = qn[k] }
        if let e = q.edns {
            out += [0, 0, 41, UInt8(ednsPayload >> 8), UInt8(ednsPayload & 0xFF), 0, 0, e.dnssecOK ? 0x80 : 0, 0, 0, 0]
            out[10] = UInt8((ar + 1) >> 8)
            out[11] = UInt8((ar + 1) & 0xFF)
        }
        return true
    }

    func reencodedAnswer(from wire: [UInt8], _ q: RecursionQuery, stale: Bool) -> [UInt8] {
        guard var m = try? Message.parse(wire) else {
            return Self.localAnswer(q, rcode: .servFail, ede: .invalidData, text: "upstream answer did not parse", ednsPayload: ednsPayload)
        }
        let rcode = m.rcode
        var h = Header(id: q.id)
        h.qr = true
        h.opcode = .query
        h.rd = q.recursionDesired
        h.cd = q.checkingDisabled
        h.ra = true
        m.header = h
        m.questions = [q.question]
        if let ce = q.edns {
            var e = EDNS(udpPayloadSize: UInt16(ednsPayload), dnssecOK: ce.dnssecOK)
            if stale { e.options.append(.extendedError(.staleAnswer, "upstream unreachable; answer from expired cache")) }
            m.edns = e
        } else {
            m.edns = nil
        }
        m.rcode = RCode(rawValue: UInt16(Self.clientRCode(UInt8(rcode.rawValue & 0xF), q)))
        return m.wireBytes(maxSize: q.maxSize)
    }

    /// NXDOMAIN for a name that has data in a served zone becomes NOERROR (NODATA): the name exists here.
    @inline(__always) static func clientRCode(_ upstream: UInt8, _ q: RecursionQuery) -> UInt8 {
        q.nameExists && upstream == 3 ? 0 : upstream
    }

    static func localAnswer(_ q: RecursionQuery, rcode: RCode, ede: ExtendedErrorCode, text: String, ednsPayload: Int) -> [UInt8] {
        var m = Message(header: Header(id: q.id))
        m.header.opcode = Header(id: q.id, flags: q.flags).opcode
        m.header.rd = q.recursionDesired
        m.header.cd = q.checkingDisabled
        m.header.qr = true
        m.header.ra = true
        m.questions = [q.question]
        if let ce = q.edns {
            m.edns = EDNS(udpPayloadSize: UInt16(ednsPayload), dnssecOK: ce.dnssecOK, options: [.extendedError(ede, text)])
        }
        m.rcode = rcode
        return m.wireBytes(maxSize: q.maxSize)
    }
}
