using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace BRun.Diagnostics.Core.Reports.Runs;

/// <summary>
/// Writes a <see cref="RunReport"/> as one self-contained HTML file: styles inline, charts as inline SVG, no script,
/// no external request (a Content-Security-Policy meta tag forbids both, should anything slip in). Every piece of
/// text from the data (a response, a stop reason, a name) goes through <see cref="Encode"/>, in SVG too.
/// </summary>
public static class RunReportHtmlWriter
{
    /// <summary>The policy the file declares, and the one the API sends as a header.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

    private const string SucceededColor = "#2e7d32";
    private const string FailedColor = "#c62828";
    private const string CancelledColor = "#ef6c00";
    private const string RemainingColor = "#9e9e9e";

    // Readable non-ASCII text stays as is; markup characters (< > & " ') are always encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    private const string Styles = """
        :root { color-scheme: light; }
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; }
        main { max-width: 1040px; margin: 0 auto; padding: 24px; }
        header h1 { margin: 0 0 4px; font-size: 26px; }
        h2 { font-size: 19px; margin: 0 0 12px; }
        h3 { font-size: 15px; margin: 0 0 8px; }
        section { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
        .sub, .muted { color: #59636e; }
        .status { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #ddf4ff; color: #0550ae; font-weight: 600; }
        nav a { margin-right: 16px; }
        a { color: #0969da; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        table.kv th { width: 200px; color: #59636e; font-weight: 500; }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 8px; margin-bottom: 12px; }
        .card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; }
        .card .label { display: block; font-size: 12px; color: #59636e; }
        .card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .card.failed .value { color: #c62828; }
        .grid3 { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
        .legend span { margin-right: 14px; white-space: nowrap; }
        .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
        .cluster { border-top: 1px solid #eaeef2; padding-top: 12px; margin-top: 12px; }
        .cluster:first-of-type { border-top: 0; margin-top: 0; padding-top: 0; }
        pre.excerpt { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px; white-space: pre-wrap; word-break: break-word; font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; max-height: 260px; overflow: auto; }
        .cut { background: #c62828; color: #fff; border-radius: 3px; padding: 0 4px; margin-left: 2px; font-family: system-ui, sans-serif; font-size: 11px; }
        svg text { font: 11px system-ui, sans-serif; fill: #59636e; }
        footer { color: #59636e; font-size: 12px; margin: 24px 0; }
        @media print { body { background: #fff; } section { break-inside: avoid; } }
        """;

    /// <summary>HTML-encodes text for element content and attribute values alike.</summary>
    public static string Encode(string? text) => Encoder.Encode(text ?? string.Empty);

    public static string Write(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var html = new StringBuilder(32 * 1024);
        var p = report.Parameters;
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"").Append(Encode(ContentSecurityPolicy)).Append("\">\n")
            .Append("<meta name=\"referrer\" content=\"no-referrer\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>Run report ").Append(Encode(p.RunId.ToString("D"))).Append("</title>\n")
            .Append("<style>\n").Append(Styles).Append("</style>\n</head>\n<body>\n<main>\n");

        WriteHeader(html, report);
        WriteParameters(html, report);
        WriteCounts(html, report);
        if (report.Cost is { } cost)
        {
            WriteCost(html, cost);
        }

        WriteBreakdowns(html, report);
        WriteHistogram(html, report.OutputTokens);
        WriteClusters(html, report);
        html.Append("<footer>Generated by BRun.Diagnostics at ").Append(Encode(RunReportFormat.Time(report.GeneratedAt)))
            .Append(". Counts are those of the moment the report was made; the <a href=\"").Append(Encode(report.Links.RunPage))
            .Append("\">run page</a> shows them live.</footer>\n</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void WriteHeader(StringBuilder html, RunReport report)
    {
        var p = report.Parameters;
        html.Append("<header>\n<h1>Run report</h1>\n<p class=\"sub\"><span class=\"status\" data-field=\"status\">").Append(Encode(p.Status))
            .Append("</span> Run <code>").Append(Encode(p.RunId.ToString("D"))).Append("</code> · ").Append(Encode(p.Model))
            .Append(" · by ").Append(Encode(p.OwnerName)).Append("</p>\n<nav>");
        Link(html, report.Links.RunPage, "Run page");
        Link(html, report.Links.Failures, "Failed generations of this run");
        Link(html, report.Links.Insights, "Insights");
        html.Append("</nav>\n</header>\n");
    }

    private static void WriteParameters(StringBuilder html, RunReport report)
    {
        var p = report.Parameters;
        var t = report.Timing;
        html.Append("<section id=\"parameters\">\n<h2>Parameters and timing</h2>\n<div class=\"grid3\">\n<table class=\"kv\">\n");
        Row(html, "Model", p.Model);
        Row(html, "max_tokens", RunReportFormat.Number(p.MaxTokens));
        Row(html, "Temperature", RunReportFormat.Temperature(p.Temperature));
        Row(html, "Template", p.TemplateName);
        Row(html, "Owner", $"{p.OwnerName} <{p.OwnerEmail}>");
        html.Append("</table>\n<table class=\"kv\">\n");
        Row(html, "Created", RunReportFormat.Time(t.CreatedAt));
        Row(html, "Started", RunReportFormat.Time(t.StartedAt));
        Row(html, "Finished", RunReportFormat.Time(t.FinishedAt));
        Row(html, "Duration", RunReportFormat.Duration(t.Duration));
        Row(html, "Average throughput", RunReportFormat.Throughput(t.TasksPerMinute));
        html.Append("</table>\n</div>\n</section>\n");
    }

    private static void WriteCounts(StringBuilder html, RunReport report)
    {
        var c = report.Counts;
        html.Append("<section id=\"counts\">\n<h2>Counts</h2>\n<div class=\"cards\">\n");
        Card(html, "total", "Total", c.Total);
        Card(html, "succeeded", "Succeeded", c.Succeeded);
        Card(html, "failed", "Failed", c.Failed);
        Card(html, "cancelled", "Cancelled", c.Cancelled);
        Card(html, "in-flight", "In flight", c.InFlight);
        Card(html, "pending", "Pending", c.Pending);
        html.Append("</div>\n<p>Failure rate: <b data-field=\"failure-rate\">").Append(Encode(RunReportFormat.Percent(c.FailureRate)))
            .Append("</b> of ").Append(Encode(RunReportFormat.Number(c.Finished))).Append(" finished generations.</p>\n");

        // One stacked bar of the run's tasks.
        const int width = 960;
        var segments = new (string Label, int Count, string Color)[]
        {
            ("Succeeded", c.Succeeded, SucceededColor), ("Failed", c.Failed, FailedColor),
            ("Cancelled", c.Cancelled, CancelledColor), ("In flight or pending", c.InFlight + c.Pending, RemainingColor),
        };
        html.Append("<svg role=\"img\" aria-label=\"Tasks by outcome\" width=\"100%\" viewBox=\"0 0 ").Append(width).Append(" 18\" preserveAspectRatio=\"none\">");
        double x = 0;
        foreach (var (label, count, color) in segments)
        {
            if (count == 0 || c.Total == 0)
            {
                continue;
            }

            var w = (double)width * count / c.Total;
            html.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:0.##}\" y=\"0\" width=\"{w:0.##}\" height=\"18\" fill=\"{color}\"><title>")
                .Append(Encode($"{label}: {RunReportFormat.Number(count)}")).Append("</title></rect>");
            x += w;
        }

        html.Append("</svg>\n<p class=\"legend\">");
        foreach (var (label, count, color) in segments)
        {
            html.Append("<span><i class=\"swatch\" style=\"background:").Append(color).Append("\"></i>")
                .Append(Encode($"{label} {RunReportFormat.Number(count)}")).Append("</span>");
        }

        html.Append("</p>\n</section>\n");
    }

    private static void WriteCost(StringBuilder html, RunReportCost cost)
    {
        html.Append("<section id=\"cost\">\n<h2>Cost</h2>\n<table class=\"kv\">\n");
        Row(html, "Total", RunReportFormat.Usd(cost.TotalUsd), "cost-total");
        Row(html, "Spent on failed generations", $"{RunReportFormat.Usd(cost.FailedUsd)} ({RunReportFormat.Percent(cost.FailedShare)})", "cost-failed");
        Row(html, "Per stored conversation", RunReportFormat.Usd(cost.PerSucceededUsd), "cost-per-succeeded");
        html.Append("</table>\n</section>\n");
    }

    private static void WriteBreakdowns(StringBuilder html, RunReport report)
    {
        html.Append("<section id=\"failure-rates\">\n<h2>Failure rates</h2>\n");
        if (report.Counts.Failed == 0 && report.Breakdowns.All(b => b.Rows.Count == 0))
        {
            html.Append("<p>No failed generations in this run.</p>\n</section>\n");
            return;
        }

        html.Append("<p class=\"muted\">Share: of all failures. Rate: of finished generations (succeeded + failed).</p>\n<div class=\"grid3\">\n");
        foreach (var breakdown in report.Breakdowns)
        {
            html.Append("<table data-breakdown=\"").Append(Encode(breakdown.Dimension)).Append("\">\n<thead><tr><th>").Append(Encode(breakdown.Title))
                .Append("</th><th class=\"num\">Count</th><th class=\"num\">Share</th><th class=\"num\">Rate</th></tr></thead>\n<tbody>\n");
            if (breakdown.Rows.Count == 0)
            {
                html.Append("<tr><td colspan=\"4\">–</td></tr>\n");
            }

            foreach (var row in breakdown.Rows)
            {
                html.Append("<tr data-key=\"").Append(Encode(row.Key)).Append("\"><td><a href=\"").Append(Encode(row.FailuresUrl)).Append("\">")
                    .Append(Encode(row.Key)).Append("</a><br>")
                    .Append(CultureInfo.InvariantCulture, $"<svg width=\"140\" height=\"6\" aria-hidden=\"true\"><rect width=\"140\" height=\"6\" fill=\"#eaeef2\"/><rect width=\"{140 * row.ShareOfFailures:0.##}\" height=\"6\" fill=\"{FailedColor}\"/></svg>")
                    .Append("</td><td class=\"num\" data-count>").Append(Encode(RunReportFormat.Number(row.Count)))
                    .Append("</td><td class=\"num\">").Append(Encode(RunReportFormat.Percent(row.ShareOfFailures)))
                    .Append("</td><td class=\"num\">").Append(Encode(RunReportFormat.Percent(row.RateOfFinished))).Append("</td></tr>\n");
            }

            html.Append("</tbody>\n</table>\n");
        }

        html.Append("</div>\n</section>\n");
    }

    private static void WriteHistogram(StringBuilder html, RunReportHistogram histogram)
    {
        html.Append("<section id=\"output-tokens\">\n<h2>Output tokens: failures against successes</h2>\n");
        if (histogram.Failures + histogram.Successes == 0)
        {
            html.Append("<p>No generation of this run reported output tokens yet.</p>\n</section>\n");
            return;
        }

        html.Append("<p class=\"muted\">").Append(Encode(
                $"Buckets of {RunReportFormat.Number(histogram.BucketWidth)} tokens; each panel has its own scale. " +
                $"{RunReportFormat.Number(histogram.Successes)} stored conversations, {RunReportFormat.Number(histogram.Failures)} failures with a token count. " +
                "A cluster of failures far below max_tokens (the silent cut near 1,000 tokens) stands out against the successes."))
            .Append("</p>\n");

        const int left = 44, plotWidth = 900, panelHeight = 90, gap = 26;
        var buckets = histogram.Buckets;
        var barWidth = (double)plotWidth / buckets.Count;
        var height = (panelHeight * 2) + gap + 48;
        html.Append(CultureInfo.InvariantCulture, $"<svg role=\"img\" aria-label=\"Output-token histogram\" width=\"100%\" viewBox=\"0 0 {left + plotWidth + 10} {height}\">");
        Panel("Successes", b => b.Successes, SucceededColor, 14);
        Panel("Failures", b => b.Failures, FailedColor, 14 + panelHeight + gap);

        // X axis labels under the lower panel: about eight of them.
        var axisY = 14 + (2 * panelHeight) + gap + 14;
        var step = Math.Max(1, buckets.Count / 8);
        for (var i = 0; i < buckets.Count; i += step)
        {
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + (i * barWidth):0.#}\" y=\"{axisY}\">")
                .Append(Encode(RunReportFormat.Number(buckets[i].LowerBound))).Append("</text>");
        }

        html.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + plotWidth}\" y=\"{axisY + 18}\" text-anchor=\"end\">output tokens</text>");
        var maxIndex = buckets.Count - 1;
        if (histogram.MaxTokens < buckets[maxIndex].LowerBound + histogram.BucketWidth)
        {
            // max_tokens is inside the drawn range: mark it, since failures there are the limit, not a cut.
            var mx = left + (Math.Min(histogram.MaxTokens, buckets[maxIndex].LowerBound) / (double)histogram.BucketWidth * barWidth);
            html.Append(CultureInfo.InvariantCulture, $"<line x1=\"{mx:0.#}\" x2=\"{mx:0.#}\" y1=\"8\" y2=\"{axisY - 12}\" stroke=\"#1f2328\" stroke-dasharray=\"4 3\"/>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{mx - 3:0.#}\" y=\"10\" text-anchor=\"end\">max_tokens</text>");
        }

        html.Append("</svg>\n<p class=\"legend\"><span><i class=\"swatch\" style=\"background:").Append(SucceededColor).Append("\"></i>Stored conversations</span>")
            .Append("<span><i class=\"swatch\" style=\"background:").Append(FailedColor).Append("\"></i>Failures</span></p>\n</section>\n");

        void Panel(string title, Func<RunReportHistogramBucket, long> value, string color, int top)
        {
            var max = buckets.Max(value);
            html.Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{top + 10}\">").Append(Encode(RunReportFormat.Number(max))).Append("</text>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"0\" y=\"{top + panelHeight}\">0</text>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{left + 4}\" y=\"{top + 10}\" style=\"font-weight:600\">").Append(Encode(title)).Append("</text>")
                .Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{left + plotWidth}\" y1=\"{top + panelHeight}\" y2=\"{top + panelHeight}\" stroke=\"#d0d7de\"/>");
            for (var i = 0; i < buckets.Count; i++)
            {
                var v = value(buckets[i]);
                if (v == 0)
                {
                    continue;
                }

                var h = Math.Max(1.0, panelHeight * (double)v / max);
                html.Append(CultureInfo.InvariantCulture,
                        $"<rect x=\"{left + (i * barWidth) + 0.5:0.##}\" y=\"{top + panelHeight - h:0.##}\" width=\"{Math.Max(1, barWidth - 1):0.##}\" height=\"{h:0.##}\" fill=\"{color}\"><title>")
                    .Append(Encode($"{title}, {RunReportFormat.Bucket(histogram, i)} tokens: {RunReportFormat.Number(v)}")).Append("</title></rect>");
            }
        }
    }

    private static void WriteClusters(StringBuilder html, RunReport report)
    {
        html.Append("<section id=\"clusters\">\n<h2>Top failure clusters</h2>\n");
        if (report.Clusters.Count == 0)
        {
            html.Append("<p>No failed generations in this run.</p>\n</section>\n");
            return;
        }

        html.Append("<p class=\"muted\">Failures grouped by failure type, stop reason and truncation pattern, largest first, each with its oldest example cut as the report dialog shows it.</p>\n");
        var rank = 0;
        foreach (var cluster in report.Clusters)
        {
            rank++;
            var e = cluster.Example;
            html.Append("<div class=\"cluster\" data-cluster>\n<h3>").Append(rank).Append(". ").Append(Encode(RunReportFormat.Signature(cluster))).Append("</h3>\n<p>")
                .Append(Encode(RunReportFormat.ClusterSummary(cluster)))
                .Append(" <a href=\"").Append(Encode(cluster.FailuresUrl)).Append("\">All of them</a></p>\n<table class=\"kv\">\n");
            Row(html, "Example", e.FailureId.ToString("D"));
            Row(html, "Created", RunReportFormat.Time(e.CreatedAt));
            Row(html, "Output tokens", RunReportFormat.Tokens(e.OutputTokens, e.MaxTokens));
            if (e.TruncationDetails is not null)
            {
                Row(html, "Details", e.TruncationDetails);
            }

            if (e.ErrorMessage is not null)
            {
                Row(html, "Error", e.ErrorMessage);
            }

            html.Append("</table>\n");
            if (e.ContentTail.TotalLength == 0)
            {
                html.Append("<p class=\"muted\">").Append(Encode(RunReportFormat.NoContent)).Append("</p>\n");
            }
            else
            {
                html.Append("<p class=\"muted\">").Append(Encode(RunReportFormat.CutCaption(e.ContentTail))).Append("</p>\n<pre class=\"excerpt\">")
                    .Append(e.ContentTail.HasEarlierContent ? "…" : string.Empty).Append(Encode(e.ContentTail.Text))
                    .Append("<span class=\"cut\" title=\"The response ends here\">✂ cut</span></pre>\n");
            }

            html.Append("<p><a href=\"").Append(Encode(e.RawReportUrl))
                .Append("\">RAW error report</a></p>\n</div>\n");
        }

        html.Append("</section>\n");
    }

    private static void Row(StringBuilder html, string label, string value, string? field = null)
    {
        html.Append("<tr><th>").Append(Encode(label)).Append("</th><td");
        if (field is not null)
        {
            html.Append(" data-field=\"").Append(Encode(field)).Append('"');
        }

        html.Append('>').Append(Encode(value)).Append("</td></tr>\n");
    }

    private static void Card(StringBuilder html, string key, string label, int count) =>
        html.Append("<div class=\"card ").Append(key).Append("\"><span class=\"label\">").Append(Encode(label))
            .Append("</span><span class=\"value\" data-count=\"").Append(key).Append("\">").Append(Encode(RunReportFormat.Number(count))).Append("</span></div>\n");

    private static void Link(StringBuilder html, string url, string text) =>
        html.Append("<a href=\"").Append(Encode(url)).Append("\">").Append(Encode(text)).Append("</a>");
}
