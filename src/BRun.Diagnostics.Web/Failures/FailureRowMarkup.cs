using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// The failures grid's read-only cells of one row as HTML, every value encoded. A row's cells reach the browser as one
/// markup string instead of some 20 elements and their attributes one by one: the circuit's first render replaces the
/// prerendered page, and applying 25 rows frame by frame was most of a 190 KB render batch and 50 ms of script.
/// </summary>
public static class FailureRowMarkup
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;

    /// <summary>Date, type, stop reason, pattern, tokens, model, owner (when shown) and run cells, in that order.</summary>
    public static MarkupString Cells(FailureRowView row, bool showOwner)
    {
        ArgumentNullException.ThrowIfNull(row);
        var html = new StringBuilder(1024);
        // Classes and titles sit on the cells themselves: an element fewer per cell is some 125 fewer per page to
        // style and lay out, twice per load (the prerendered page, then the circuit's).
        Cell(html, "Date", "brun-cell-date brun-nowrap").Text(row.CreatedText).Append("</td>");

        Cell(html, "Failure type").Append("<span class=\"mud-chip mud-chip-filled mud-chip-size-small ").Append(TypeColorClass(row.FailureType))
            .Append(" brun-cell-type\">").Text(row.FailureType).Append("</span>");
        if (row.Simulated)
        {
            html.Append("<span class=\"mud-chip mud-chip-outlined mud-chip-size-small mud-chip-color-dark brun-simulated\" title=\"Answered by the built-in simulator, not Claude\">simulated</span>");
        }

        html.Append("</td>");
        Cell(html, "Stop reason").Text(row.StopReason ?? "(none)").Append("</td>");
        Cell(html, "Pattern", null, row.TruncationDetails).Text(row.TruncationPattern ?? "–").Append("</td>");

        Cell(html, "Tokens (output / max)", "brun-cell-tokens brun-nowrap").Text(row.TokensText);
        if (row.ShownUtilisation is { } share)
        {
            var percent = Math.Clamp(share * 100, 0, 100);
            html.Append("<div class=\"brun-utilisation").Append(share < 0.5 ? " brun-utilisation-low" : string.Empty)
                .Append("\" role=\"progressbar\" aria-label=\"Output tokens of max_tokens\" aria-valuemin=\"0\" aria-valuemax=\"100\" aria-valuenow=\"")
                .Append(percent.ToString("0.#", CultureInfo.InvariantCulture)).Append("\"><span style=\"width:")
                .Append(percent.ToString("0.##", CultureInfo.InvariantCulture)).Append("%\"></span></div>");
        }

        html.Append("</td>");
        Cell(html, "Model", "brun-nowrap brun-cell-model").Text(row.Model).Append("</td>");
        if (showOwner)
        {
            Cell(html, "Owner", "brun-nowrap brun-cell-owner").Text(row.Owner ?? "–").Append("</td>");
        }

        Cell(html, "Run");
        if (row.RunId is { } runId)
        {
            html.Append("<a class=\"mud-typography mud-link mud-primary-text mud-link-underline-hover mud-typography-body2\" href=\"/runs/")
                .Append(runId.ToString("D", CultureInfo.InvariantCulture)).Append("\">").Text(row.RunText).Append("</a>");
        }
        else
        {
            html.Append('–');
        }

        html.Append("</td>");
        return new MarkupString(html.ToString());
    }

    /// <summary>The RAW report's download link (it needs no circuit: a plain link to the API).</summary>
    public static MarkupString RawLink(Guid failureId) =>
        new($"<a class=\"mud-button-root mud-button mud-button-text mud-button-text-default mud-button-text-size-small brun-raw\" href=\"{FailedGenerationFiles.ReportUrl(failureId)}\" download=\"{FailedGenerationFiles.ReportFileName(failureId)}\">RAW</a>");

    private static string TypeColorClass(string failureType) => failureType switch
    {
        "truncation" => "mud-chip-color-error",
        "api_error" => "mud-chip-color-warning",
        "parse_error" => "mud-chip-color-secondary",
        _ => "mud-chip-color-default",
    };

    private static StringBuilder Cell(StringBuilder html, string label, string? classes = null, string? title = null)
    {
        html.Append("<td data-label=\"").Append(label).Append("\" class=\"mud-table-cell");
        if (classes is not null)
        {
            html.Append(' ').Append(classes);
        }

        html.Append('"');
        if (title is not null)
        {
            html.Append(" title=\"").Text(title).Append('"');
        }

        return html.Append('>');
    }

    private static StringBuilder Text(this StringBuilder html, string value) => html.Append(Encoder.Encode(value));
}
