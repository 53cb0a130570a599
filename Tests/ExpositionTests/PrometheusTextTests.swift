import Testing
@testable import Exposition

@Suite struct PrometheusTextTests {
    @Test("families, labels escaped, integers without fraction")
    func format() {
        var p = PrometheusText()
        p.family("x_total", .counter, "Things.")
        p.sample("x_total", [("name", "a\"b\\c\nd")], UInt64(3))
        p.sample("x_total", [], 0.25)
        #expect(p.text == "# HELP x_total Things.\n# TYPE x_total counter\nx_total{name=\"a\\\"b\\\\c\\nd\"} 3\nx_total 0.25\n")
    }

    @Test("histogram buckets are cumulative and end with +Inf, _sum and _count")
    func histogram() {
        var p = PrometheusText()
        p.histogram("h", [("s", "x")], bounds: [0.001, 0.01], counts: [2, 3, 1], sum: 0.5)
        #expect(p.text == """
            h_bucket{s="x",le="0.001"} 2
            h_bucket{s="x",le="0.01"} 5
            h_bucket{s="x",le="+Inf"} 6
            h_sum{s="x"} 0.5
            h_count{s="x"} 6

            """)
    }
}
