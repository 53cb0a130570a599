import DNSWire
import Testing
@testable import DNSServer

@Suite struct AnswerCacheTests {
    @Test("a hit copies the stored answer with the new query's ID; a new generation empties it")
    func hitAndGeneration() throws {
        var c = AnswerCache(capacity: 16)
        let q1 = Message.query(try DNSName("a.test."), .a, id: 1).wireBytes()
        var q2 = q1
        q2[0] = 0xAB
        q2[1] = 0xCD
        let resp: [UInt8] = [0, 1] + [UInt8](repeating: 7, count: 30)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
        defer { dst.deallocate() }
        let miss = q1.withUnsafeBytes { c.lookup($0, generation: 1, into: dst) }
        #expect(miss == nil)
        q1.withUnsafeBytes { c.insert(query: $0, response: resp, generation: 1) }
        let n = q2.withUnsafeBytes { c.lookup($0, generation: 1, into: dst) }
        #expect(n == resp.count)
        let got = Array(UnsafeRawBufferPointer(start: dst, count: resp.count))
        #expect(got == [0xAB, 0xCD] + resp.dropFirst(2))
        // Different case in the question: a different key (0x20 is echoed exactly).
        let q3 = Message.query(try DNSName("A.test."), .a, id: 1).wireBytes()
        #expect(q3.withUnsafeBytes { c.lookup($0, generation: 1, into: dst) } == nil)
        #expect(q2.withUnsafeBytes { c.lookup($0, generation: 2, into: dst) } == nil)
        #expect(q2.withUnsafeBytes { c.lookup($0, generation: 2, into: dst) } == nil)
    }

    @Test("capacity 0 turns the memo off")
    func disabled() throws {
        var c = AnswerCache(capacity: 0)
        let q = Message.query(try DNSName("a.test."), .a, id: 1).wireBytes()
        let dst = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
        defer { dst.deallocate() }
        _ = q.withUnsafeBytes { c.lookup($0, generation: 1, into: dst) }
        q.withUnsafeBytes { c.insert(query: $0, response: [UInt8](repeating: 1, count: 20), generation: 1) }
        #expect(q.withUnsafeBytes { c.lookup($0, generation: 1, into: dst) } == nil)
    }
}
