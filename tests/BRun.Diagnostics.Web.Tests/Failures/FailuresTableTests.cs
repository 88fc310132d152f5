using BRun.Diagnostics.Web.Components.Pages.FailedGenerations;
using BRun.Diagnostics.Web.Failures;
using Bunit;

namespace BRun.Diagnostics.Web.Tests.Failures;

/// <summary>The grid's pager while a search is still being counted: its rows show first, "of …" until the total comes.</summary>
public sealed class FailuresTableTests : BunitContext
{
    private static IReadOnlyList<FailureRowView> Rows(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new FailureRowView(Guid.NewGuid(), DateTimeOffset.UnixEpoch.AddMinutes(i), "truncation", "end_turn", "mid_word", null, 900 + i, 4096, "claude-sonnet-4-5", null))];

    private IRenderedComponent<FailuresTable> RenderTable(int rows, long? total, int pageIndex = 0) =>
        Render<FailuresTable>(p => p
            .Add(t => t.Rows, Rows(rows))
            .Add(t => t.Total, total)
            .Add(t => t.PageIndex, pageIndex)
            .Add(t => t.PageSize, 25)
            .Add(t => t.Interactive, true));

    private static (string Range, bool NextDisabled, bool LastDisabled) Pager(IRenderedComponent<FailuresTable> cut) =>
        (cut.Find(".brun-page-range").TextContent.Trim(),
            cut.Find("button[aria-label='Next page']").HasAttribute("disabled"),
            cut.Find("button[aria-label='Last page']").HasAttribute("disabled"));

    [Fact]
    public void While_counting_a_full_page_can_go_on_but_not_to_the_last_page()
    {
        Assert.Equal(("26-50 of …", false, true), Pager(RenderTable(25, null, pageIndex: 1)));
    }

    [Fact]
    public void While_counting_a_short_page_is_the_last()
    {
        Assert.Equal(("1-7 of …", true, true), Pager(RenderTable(7, null)));
    }

    [Fact]
    public void Once_counted_the_pager_knows_the_last_page()
    {
        Assert.Equal(("1-25 of 60", false, false), Pager(RenderTable(25, 60)));
        Assert.Equal(("51-60 of 60", true, true), Pager(RenderTable(10, 60, pageIndex: 2)));
    }
}
