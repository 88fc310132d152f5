using BRun.Diagnostics.Core.Reports.Runs;

namespace BRun.Diagnostics.Core.Tests.Reports.Runs;

public sealed class RunReportMarkdownWriterTests
{
    private static readonly string Markdown = RunReportMarkdownWriter.Write(SampleRunReport.Create());

    [Fact]
    public void Escape_makes_a_link_text() =>
        Assert.Equal("\\[click\\]\\(javascript:alert\\(1\\)\\)", RunReportMarkdownWriter.Escape("[click](javascript:alert(1))"));

    [Fact]
    public void Escape_stops_autolinks() =>
        Assert.Equal("see http\\://evil.example or www\\.evil.example", RunReportMarkdownWriter.Escape("see http://evil.example or www.evil.example"));

    [Fact]
    public void Escape_leaves_dates_and_numbers_readable() =>
        Assert.Equal("2026-03-01 12:00:00 UTC; 4,096 tokens, 0.7%", RunReportMarkdownWriter.Escape("2026-03-01 12:00:00 UTC; 4,096 tokens, 0.7%"));

    [Fact]
    public void Escape_keeps_a_table_cell_one_cell_on_one_line() =>
        Assert.Equal("a \\| b \\# c", RunReportMarkdownWriter.Escape("a | b\n# c"));

    [Fact]
    public void Escape_keeps_html_as_text() =>
        Assert.Equal("\\<script\\>", RunReportMarkdownWriter.Escape("<script>"));

    [Fact]
    public void Fence_is_longer_than_any_backtick_run_inside() =>
        Assert.StartsWith("````text\n", RunReportMarkdownWriter.Fence("a ``` b"), StringComparison.Ordinal);

    [Fact]
    public void Hostile_error_message_stays_one_escaped_table_row() =>
        Assert.Contains("| Error | \\# Heading \\| a \\| b \\| \\<img src\\=x onerror\\=alert\\(1\\)\\> \\[link\\]\\(http\\://evil.example\\) |", Markdown, StringComparison.Ordinal);

    [Fact]
    public void Excerpt_is_verbatim_inside_a_fence_it_cannot_close() =>
        Assert.Contains("````text\n" + SampleRunReport.HostileContent + "\n````\n", Markdown, StringComparison.Ordinal);

    [Fact]
    public void Has_no_unescaped_html_outside_the_fenced_excerpt() =>
        Assert.DoesNotMatch(@"(?<!\\)<(script|img|/svg)", Markdown.Replace(SampleRunReport.HostileContent, string.Empty, StringComparison.Ordinal));

    [Fact]
    public void Carries_the_counts_row() =>
        Assert.Contains("| 137 | 101 | 23 | 13 | 0 | 0 | 18.5% |", Markdown, StringComparison.Ordinal);

    [Fact]
    public void Carries_the_same_cluster_as_the_html() =>
        Assert.Contains("### 1. truncation · \\</svg\\>\\<script\\>alert\\(1\\)\\</script\\> · lone\\_backslash", Markdown, StringComparison.Ordinal);

    [Fact]
    public void Leaves_cost_out_when_there_is_none() =>
        Assert.DoesNotContain("## Cost", Markdown, StringComparison.Ordinal);

    [Fact]
    public void Shows_cost_when_there_is_some() =>
        Assert.Contains("| Per stored conversation | \\$0.1238 |", RunReportMarkdownWriter.Write(SampleRunReport.Create(new RunReportCost(12.5m, 2.5m, 101))), StringComparison.Ordinal);
}
