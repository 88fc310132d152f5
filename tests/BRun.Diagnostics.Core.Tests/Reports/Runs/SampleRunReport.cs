using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Core.Reports.Runs;

namespace BRun.Diagnostics.Core.Tests.Reports.Runs;

/// <summary>A run report with values chosen to be told apart, and hostile text where the data may carry any.</summary>
internal static class SampleRunReport
{
    public const string HostileContent = "Then save 10% </svg></pre><script>alert('x')</script> [click](javascript:alert(1)) | *bold* ``` \\";
    public const string HostileStopReason = "</svg><script>alert(1)</script>";
    public const string HostileError = "# Heading\n| a | b |\n<img src=x onerror=alert(1)> [link](http://evil.example)";

    public static RunReport Create(RunReportCost? cost = null) => new()
    {
        Parameters = new RunReportParameters(Guid.Parse("11111111-2222-3333-4444-555555555555"), "completed", "Ada <admin>", "ada@example.test",
            "claude-sonnet-4-5", 4096, 0.7m, "default"),
        Timing = new RunReportTiming(
            new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 1, 12, 0, 5, TimeSpan.Zero),
            new DateTimeOffset(2026, 3, 1, 12, 10, 5, TimeSpan.Zero), TimeSpan.FromMinutes(10), 12.3),
        Counts = new RunReportCounts(Total: 137, Succeeded: 101, Failed: 23, Cancelled: 13, InFlight: 0, Pending: 0),
        Cost = cost,
        Breakdowns =
        [
            new("By failure type", "failure_type", [new("truncation", 17, 17 / 23.0, 17 / 124.0, "http://dash.test/conversations/failed?run_id=1&failure_type=truncation"),
                                                    new("api_error", 6, 6 / 23.0, 6 / 124.0, "http://dash.test/conversations/failed?run_id=1&failure_type=api_error")]),
            new("By stop reason", "stop_reason", [new(HostileStopReason, 17, 17 / 23.0, 17 / 124.0, "http://dash.test/x"), new("(none)", 6, 6 / 23.0, 6 / 124.0, "http://dash.test/y")]),
            new("By truncation pattern", "pattern", [new("lone_backslash", 17, 17 / 23.0, 17 / 124.0, "http://dash.test/z")]),
        ],
        OutputTokens = new RunReportHistogram(100, 4096,
            [.. Enumerable.Range(0, 42).Select(i => new RunReportHistogramBucket(i * 100, i == 10 ? 17 : 0, i is > 20 and < 40 ? 5 : 0))], LastBucketOpenEnded: false),
        Clusters =
        [
            new RunReportCluster("truncation", HostileStopReason, "lone_backslash", 17, 17 / 23.0, 990, 1003, 1050, null,
                new RunReportExample(Guid.Parse("aaaaaaaa-0000-0000-0000-000000000001"), new DateTimeOffset(2026, 3, 1, 12, 1, 0, TimeSpan.Zero),
                    1003, 4096, "Content ends with a lone backslash", HostileError, ContentTail.Of(HostileContent), "http://dash.test/api/failed-generations/a/report"),
                "http://dash.test/conversations/failed?run_id=1&failure_type=truncation"),
        ],
        Links = new RunReportLinks("http://dash.test/runs/1", "http://dash.test/conversations/failed?run_id=1", "http://dash.test/conversations/failed/insights?run_id=1"),
        GeneratedAt = new DateTimeOffset(2026, 3, 1, 13, 0, 0, TimeSpan.Zero),
    };
}
