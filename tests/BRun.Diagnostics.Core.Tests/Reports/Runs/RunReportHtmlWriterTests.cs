using BRun.Diagnostics.Core.Reports.Runs;

namespace BRun.Diagnostics.Core.Tests.Reports.Runs;

public sealed class RunReportHtmlWriterTests
{
    private static readonly string Html = RunReportHtmlWriter.Write(SampleRunReport.Create());

    [Fact]
    public void Has_no_script_element_even_from_hostile_text() =>
        Assert.DoesNotContain("<script", Html, StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void Hostile_response_text_is_shown_encoded() =>
        Assert.Contains("&lt;/svg&gt;&lt;/pre&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;", Html, StringComparison.Ordinal);

    [Fact]
    public void Hostile_stop_reason_cannot_close_the_svg_or_a_table_cell() =>
        Assert.Equal(CountOf(Html, "<svg"), CountOf(Html, "</svg>"));

    [Fact]
    public void Hostile_attribute_values_are_encoded() =>
        Assert.DoesNotContain("onerror=alert", Html.Replace("&lt;img src=x onerror=alert(1)&gt;", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);

    [Fact]
    public void Declares_a_policy_that_allows_no_script_and_no_request() =>
        Assert.Contains("content=\"default-src &#x27;none&#x27;; style-src &#x27;unsafe-inline&#x27;", Html, StringComparison.Ordinal);

    [Fact]
    public void Loads_nothing_from_elsewhere() =>
        Assert.DoesNotContain(" src=\"", Html, StringComparison.Ordinal);

    [Fact]
    public void Shows_the_counts() =>
        Assert.Contains("data-count=\"failed\">23<", Html, StringComparison.Ordinal);

    [Fact]
    public void Shows_the_cut_as_the_dialog_does() =>
        Assert.Contains("it ends with a backslash (\\).", System.Net.WebUtility.HtmlDecode(Html), StringComparison.Ordinal);

    [Fact]
    public void Leaves_cost_out_when_there_is_none() =>
        Assert.DoesNotContain("id=\"cost\"", Html, StringComparison.Ordinal);

    [Fact]
    public void Shows_cost_when_there_is_some()
    {
        var html = RunReportHtmlWriter.Write(SampleRunReport.Create(new RunReportCost(12.5m, 2.5m, 101)));

        Assert.Contains("data-field=\"cost-failed\">$2.50 (20.0%)<", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Links_back_to_the_run_page() =>
        Assert.Contains("<a href=\"http://dash.test/runs/1\">Run page</a>", Html, StringComparison.Ordinal);

    // Only our own charts open and close <svg>; a hostile value left unencoded would add a closing tag.
    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
