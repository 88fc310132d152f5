using System.Text.Json;
using AngleSharp.Html.Parser;
using BRun.Diagnostics.Web.Failures;

namespace BRun.Diagnostics.Web.Tests.Failures;

/// <summary>The grid's read-only cells are built as one HTML string per row: every value in it must be encoded.</summary>
public sealed class FailureRowMarkupTests
{
    private const string Hostile = "<script>alert('x')</script>\" onmouseover=\"alert(1)";

    private static FailureRowView Row(Guid? runId = null, string? owner = null) =>
        new(Guid.NewGuid(), DateTimeOffset.UnixEpoch, "truncation<b>", Hostile, Hostile, Hostile, 1003, 4096, Hostile, runId, Simulated: true, Owner: owner);

    private static AngleSharp.Dom.IElement Parse(FailureRowView row, bool showOwner)
    {
        // Parsed as a table row, as the browser does with the markup inside the grid's <tr>.
        var document = new HtmlParser().ParseDocument($"<table><tbody><tr>{FailureRowMarkup.Cells(row, showOwner).Value}</tr></tbody></table>");
        return document.QuerySelector("tr")!;
    }

    [Fact]
    public void Hostile_values_arrive_as_text_and_add_no_element_or_attribute()
    {
        var tr = Parse(Row(owner: Hostile), showOwner: true);

        Assert.Equal(
            (0, 0, Hostile, Hostile, Hostile, Hostile, "truncation<b>", Hostile),
            (tr.QuerySelectorAll("script, b").Length, tr.QuerySelectorAll("[onmouseover]").Length,
                tr.QuerySelector(".brun-cell-model")!.TextContent, tr.QuerySelector(".brun-cell-owner")!.TextContent,
                tr.QuerySelector("[title]:not(.brun-simulated)")!.GetAttribute("title"), tr.Children[2].TextContent,
                tr.QuerySelector(".brun-cell-type")!.TextContent, tr.Children[3].TextContent));
    }

    [Fact]
    public void The_cells_are_the_grids_columns_in_order_with_the_owner_only_when_shown()
    {
        var runId = Guid.Parse("0b7c9a52-4c1e-4f7e-9a51-1f0e8f2d3c4b");
        string Labels(bool showOwner) => string.Join("|", Parse(Row(runId, "Dana"), showOwner).Children.Select(c => c.GetAttribute("data-label")));

        Assert.Equal(
            ("Date|Failure type|Stop reason|Pattern|Tokens (output / max)|Model|Run", "Date|Failure type|Stop reason|Pattern|Tokens (output / max)|Model|Owner|Run",
                "/runs/0b7c9a52-4c1e-4f7e-9a51-1f0e8f2d3c4b", "24.5"),
            (Labels(false), Labels(true), Parse(Row(runId), false).QuerySelector("a")!.GetAttribute("href"),
                Parse(Row(runId), false).QuerySelector("[role=progressbar]")!.GetAttribute("aria-valuenow")));
    }

    [Fact]
    public void A_row_persisted_into_the_page_carries_its_fields_not_its_formatted_texts()
    {
        var json = JsonSerializer.Serialize(Row());

        Assert.Equal(
            (false, false, true),
            (json.Contains("TokensText", StringComparison.Ordinal), json.Contains("CreatedText", StringComparison.Ordinal),
                json.Contains("OutputTokens", StringComparison.Ordinal)));
    }
}
