using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Components.Pages.FailedGenerations;
using BRun.Diagnostics.Web.Failures;
using Bunit;
using Dapper;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Failures;

/// <summary>The grid's page number travels in the URL with the filters (page=N, 1-based, absent on page 1).</summary>
[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class FailedGenerationsPagingTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    /// <summary>Inserts <paramref name="count"/> failures a minute apart; the newest has output_tokens = count.</summary>
    private async Task<AppUser> SeedAsync(int count)
    {
        var owner = await Db.CreateUserAsync();
        await using var c = await Db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO failed_generations (id, prompt, prompt_length, model, max_tokens, raw_response, raw_body, stop_reason,
                output_tokens, http_status, streamed, failure_type, truncation_pattern, detection_confidence, created_at, created_by)
            SELECT gen_random_uuid(), 'p', 1, 'claude-sonnet-4-5', 4096, '{}'::jsonb, '{}', 'end_turn', g, 200, false,
                   'truncation', 'mid_word', 'high', timestamptz '2026-03-01 00:00:00+00' + g * interval '1 minute', @owner
            FROM generate_series(1, @count) AS g
            """, new { owner = owner.Id, count });
        RegisterSignedInUser(owner);
        Services.AddSingleton(Db.Get<FailedGenerationReader>());
        Services.AddScoped<FailureDashboardService>();
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        return owner;
    }

    private IRenderedComponent<FailedGenerationsPage> RenderPage(string url)
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo(url);
        return Render<FailedGenerationsPage>();
    }

    private static IReadOnlyList<string> TokenCells(IRenderedComponent<FailedGenerationsPage> cut) =>
        [.. cut.FindAll("tbody tr.brun-failure-row .brun-cell-tokens").Select(c => c.TextContent.Split(' ')[0])];

    private string Uri => Services.GetRequiredService<NavigationManager>().Uri;

    [Fact]
    public async Task A_link_with_a_page_opens_that_page()
    {
        await SeedAsync(30);

        var cut = RenderPage("/conversations/failed?failure_type=truncation&page=2");

        // Newest first, 25 a page: page 2 holds the five oldest (output tokens 5..1).
        cut.WaitForAssertion(() => Assert.Equal(["5", "4", "3", "2", "1"], TokenCells(cut)), RenderWait);
    }

    [Fact]
    public async Task Moving_to_the_next_page_puts_the_page_in_the_url()
    {
        await SeedAsync(30);
        var cut = RenderPage("/conversations/failed?failure_type=truncation");
        cut.WaitForAssertion(() => Assert.Equal(25, TokenCells(cut).Count), RenderWait);

        await StableClick.ClickAsync(cut, "button[aria-label='Next page']");

        cut.WaitForAssertion(() => Assert.Equal(5, TokenCells(cut).Count), RenderWait);
        Assert.EndsWith("/conversations/failed?failure_type=truncation&page=2", Uri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Going_back_to_page_one_in_the_url_shows_page_one()
    {
        await SeedAsync(30);
        var cut = RenderPage("/conversations/failed?page=2");
        cut.WaitForAssertion(() => Assert.Equal(5, TokenCells(cut).Count), RenderWait);

        Services.GetRequiredService<NavigationManager>().NavigateTo("/conversations/failed");

        cut.WaitForAssertion(() => Assert.Equal("30", TokenCells(cut).FirstOrDefault()), RenderWait);
    }

    [Fact]
    public async Task Sorting_by_tokens_starts_with_the_most_then_the_fewest_and_goes_back_to_page_one()
    {
        await SeedAsync(30);
        var cut = RenderPage("/conversations/failed?page=2");
        cut.WaitForAssertion(() => Assert.Equal(5, TokenCells(cut).Count), RenderWait);

        await StableClick.ClickAsync(cut, "button.brun-sort-tokens");
        cut.WaitForAssertion(() => Assert.Equal(("30", 25), (TokenCells(cut).FirstOrDefault(), TokenCells(cut).Count)), RenderWait);
        var most = cut.Find("th:has(.brun-sort-tokens)").GetAttribute("aria-sort");

        await StableClick.ClickAsync(cut, "button.brun-sort-tokens");
        cut.WaitForAssertion(() => Assert.Equal("1", TokenCells(cut).FirstOrDefault()), RenderWait);

        Assert.Equal(
            ("descending", "ascending", "none"),
            (most, cut.Find("th:has(.brun-sort-tokens)").GetAttribute("aria-sort"), cut.Find("th:has(.brun-sort-date)").GetAttribute("aria-sort")));
        Assert.EndsWith("/conversations/failed", Uri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bigger_page_shows_more_rows_and_the_range_says_so()
    {
        await SeedAsync(60);
        var cut = RenderPage("/conversations/failed");
        cut.WaitForAssertion(() => Assert.Equal(25, TokenCells(cut).Count), RenderWait);

        await cut.Find("select.brun-page-size").ChangeAsync(new() { Value = "50" });

        cut.WaitForAssertion(() => Assert.Equal(50, TokenCells(cut).Count), RenderWait);
        Assert.Equal("1-50 of 60", cut.Find(".brun-page-range").TextContent.Trim());
        await StableClick.ClickAsync(cut, "button[aria-label='Last page']");
        cut.WaitForAssertion(() => Assert.Equal(("51-60 of 60", 10), (cut.Find(".brun-page-range").TextContent.Trim(), TokenCells(cut).Count)), RenderWait);
    }

    [Fact]
    public async Task Selecting_a_page_and_a_row_of_the_next_adds_up_and_a_new_filter_clears_it()
    {
        await SeedAsync(30);
        var cut = RenderPage("/conversations/failed");
        cut.WaitForAssertion(() => Assert.Equal(25, TokenCells(cut).Count), RenderWait);

        await cut.Find("input.brun-select-page").ChangeAsync(new() { Value = true });
        await StableClick.ClickAsync(cut, "button[aria-label='Next page']");
        cut.WaitForAssertion(() => Assert.Equal(5, TokenCells(cut).Count), RenderWait);
        await cut.Find("input.brun-select-row").ChangeAsync(new() { Value = true });

        var afterBoth = cut.Find(".brun-rerun-selected").TextContent.Trim();
        var firstRowChecked = cut.Find("input.brun-select-row").HasAttribute("checked");
        await StableClick.ClickAsync(cut, ".brun-filter-chip[data-dimension='failure_type'][data-value='truncation']");
        cut.WaitForAssertion(() => Assert.Equal("Re-run selected (0)", cut.Find(".brun-rerun-selected").TextContent.Trim()), RenderWait);

        Assert.Equal(("Re-run selected (26)", true), (afterBoth, firstRowChecked));
    }
}
