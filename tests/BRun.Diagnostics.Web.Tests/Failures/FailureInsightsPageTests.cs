using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Auth;
using BRun.Diagnostics.Web.Components.Pages.FailedGenerations;
using BRun.Diagnostics.Web.Failures;
using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Failures;

[Collection(IntegrationEnvironment.ParallelCollection)]
public sealed class FailureInsightsPageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    [Fact]
    public async Task Histogram_names_the_bucket_where_failures_cluster_and_counts_only_visible_rows()
    {
        var owner = await Db.CreateUserAsync();
        var someoneElse = await Db.CreateUserAsync();
        var store = Db.Get<FailedGenerationStore>();
        await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1003));
        await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1090));
        await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 4100));
        for (var i = 0; i < 3; i++)
        {
            await store.StoreAsync(someoneElse.Id, FailureSeed.Truncation(outputTokens: 2500));
        }

        await using (var connection = await Db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "INSERT INTO conversations (model, output_tokens, turns, created_by) VALUES ('claude-sonnet-4-5', 3000, '[]', @owner)",
                new { owner = owner.Id });
        }

        SignInAs(owner);
        RegisterDesignServices();

        var cut = RenderInsights();

        cut.WaitForAssertion(() => Assert.Equal("Most failures: 1,000–1,099 tokens (2 failures)", cut.Find(".brun-histogram-peak").TextContent.Trim()), RenderWait);
    }

    [Fact]
    public async Task Time_and_stop_reason_charts_draw_the_stored_failures_on_an_axis_that_fits_them()
    {
        var owner = await Db.CreateUserAsync();
        var store = Db.Get<FailedGenerationStore>();
        await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1003));
        await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1090));
        await store.StoreAsync(owner.Id, FailureSeed.ApiError());
        SignInAs(owner);
        RegisterDesignServices();

        var cut = RenderInsights();

        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll(".brun-chart-stop-reasons svg")), RenderWait);
        var overTime = cut.Find(".brun-chart-over-time");
        Assert.Equal(["api_error", "truncation"], overTime.QuerySelectorAll(".mud-chart-legend-item").Select(i => i.TextContent.Trim()));

        // One day, stacked: api_error's bar (1) then truncation's (2) on top, up to the axis's last tick (3, not
        // MudBlazor's default 20, under which three failures filled a sixth of the chart).
        var bars = overTime.QuerySelectorAll("path.mud-chart-bar")
            .Select(b => (Colour: b.GetAttribute("stroke"), Length: BarLength(b.GetAttribute("d")!)))
            .ToList();
        Assert.Equal([FailureChartPalette.ForFailureType("api_error"), FailureChartPalette.ForFailureType("truncation")], bars.Select(b => b.Colour));
        Assert.Equal(2.0, bars[1].Length / bars[0].Length, 1);
        var ticks = overTime.QuerySelectorAll(".mud-charts-yaxis text").Select(t => t.TextContent.Trim()).ToList();
        Assert.Equal(["0", "1", "2", "3"], ticks);

        var stopReasons = cut.Find(".brun-chart-stop-reasons");
        Assert.Equal(["end_turn (2)", "(none) (1)"], stopReasons.QuerySelectorAll(".mud-chart-legend-item").Select(i => i.TextContent.Trim()));
        Assert.Equal(
            [FailureChartPalette.ForStopReason("end_turn"), FailureChartPalette.ForStopReason(FailureStatistics.NoStopReason)],
            stopReasons.QuerySelectorAll("path.mud-chart-serie").Select(p => p.GetAttribute("fill")));
    }

    /// <summary>A vertical bar's drawn length from its path, "M x y1 L x y2".</summary>
    private static double BarLength(string path)
    {
        var numbers = System.Text.RegularExpressions.Regex.Matches(path, @"-?\d+(\.\d+)?")
            .Select(m => double.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture))
            .ToArray();
        return Math.Abs(numbers[3] - numbers[1]);
    }

    [Fact]
    public async Task Histogram_puts_successes_and_failures_in_100_token_buckets()
    {
        var owner = await Db.CreateUserAsync();
        await Db.Get<FailedGenerationStore>().StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 999));
        await using (var connection = await Db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(
                "INSERT INTO conversations (model, output_tokens, turns, created_by) VALUES ('m', 3050, '[]', @owner), ('m', 9000, '[]', @owner)",
                new { owner = owner.Id });
        }

        var buckets = await Db.Get<FailedGenerationReader>().GetOutputTokenHistogramAsync(
            DbIdentity.User(owner.Id), FailedGenerationFilter.None, 100, 51, CancellationToken.None);

        Assert.Equal((51, 1L, 1L, 1L, 5000), (buckets.Count, buckets[9].Failures, buckets[30].Successes, buckets[50].Successes, buckets[50].LowerBound));
    }

    [Fact]
    public async Task Charts_update_live_when_a_visible_failure_arrives()
    {
        var owner = await Db.CreateUserAsync();
        var store = Db.Get<FailedGenerationStore>();
        await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1003));
        SignInAs(owner);
        var cut = RenderInsights();
        cut.WaitForAssertion(() => Assert.Equal("Most failures: 1,000–1,099 tokens (1 failure)", cut.Find(".brun-histogram-peak").TextContent.Trim()), RenderWait);

        var arrived = await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1010));
        Hub.Publish(new RunEvent(RunEvent.TaskFailed, Guid.NewGuid(), Guid.NewGuid(), arrived, RunStatus.Running, 10, 0, 2, 0));
        Db.Time.Advance(Window);

        cut.WaitForAssertion(() => Assert.Equal("Most failures: 1,000–1,099 tokens (2 failures)", cut.Find(".brun-histogram-peak").TextContent.Trim()), RenderWait);
    }

    [Fact]
    public async Task Charts_do_not_reload_for_another_members_failure()
    {
        var owner = await Db.CreateUserAsync();
        var someoneElse = await Db.CreateUserAsync();
        var store = Db.Get<FailedGenerationStore>();
        await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1003));
        SignInAs(owner);
        var cut = RenderInsights();
        cut.WaitForAssertion(() => Assert.Equal(1, cut.Instance.LoadCount), RenderWait);

        var foreign = await store.StoreAsync(someoneElse.Id, FailureSeed.Truncation(outputTokens: 1010));
        Hub.Publish(new RunEvent(RunEvent.TaskFailed, Guid.NewGuid(), Guid.NewGuid(), foreign, RunStatus.Running, 10, 0, 2, 0));
        Db.Time.Advance(Window);
        // Nothing renders when the batch is ignored, so poll (with a deadline) for its delivery.
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); cut.Instance.LiveBatches == 0 && waited.Elapsed < RenderWait;)
        {
            await Task.Delay(20);
        }

        await cut.Instance.LiveCheck;
        Assert.Equal(1, cut.Instance.LiveBatches);

        Assert.Equal(1, cut.Instance.LoadCount);
    }

    [Fact]
    public async Task Breakdown_follows_live_failures_at_most_once_per_interval_and_catches_up_after_the_last()
    {
        var owner = await Db.CreateUserAsync();
        var store = Db.Get<FailedGenerationStore>();
        await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1003));
        SignInAs(owner);
        RegisterDesignServices();
        var cut = RenderInsights();
        cut.WaitForAssertion(() => Assert.Equal((1, 1), (cut.Instance.LoadCount, cut.Instance.BreakdownLoadCount)), RenderWait);

        async Task ArriveAsync(int loadsAfter)
        {
            var arrived = await store.StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1010));
            Hub.Publish(new RunEvent(RunEvent.TaskFailed, Guid.NewGuid(), Guid.NewGuid(), arrived, RunStatus.Running, 10, 0, 2, 0));
            Db.Time.Advance(Window);
            cut.WaitForAssertion(() => Assert.Equal(loadsAfter, cut.Instance.LoadCount), RenderWait);
            await cut.Instance.LiveCheck;
        }

        // Two arrivals within the interval: the charts follow both, the breakdown neither (yet).
        await ArriveAsync(2);
        await ArriveAsync(3);
        Assert.Equal(1, cut.Instance.BreakdownLoadCount);

        // With no further arrival the breakdown catches up once the interval has passed since its last read.
        Db.Time.Advance(FailureInsightsPage.BreakdownLiveInterval);
        cut.WaitForAssertion(() => Assert.Equal(2, cut.Instance.BreakdownLoadCount), RenderWait);

        // The next arrival is again within the interval of that read; one past it reads the breakdown at once.
        await ArriveAsync(4);
        Assert.Equal(2, cut.Instance.BreakdownLoadCount);
        Db.Time.Advance(FailureInsightsPage.BreakdownLiveInterval);
        cut.WaitForAssertion(() => Assert.Equal(3, cut.Instance.BreakdownLoadCount), RenderWait);
        Db.Time.Advance(FailureInsightsPage.BreakdownLiveInterval);
        await ArriveAsync(5);
        Assert.Equal(4, cut.Instance.BreakdownLoadCount);
    }

    [Fact]
    public async Task The_prerender_reads_the_charts_once_persists_them_and_follows_no_live_events()
    {
        var owner = await Db.CreateUserAsync();
        await Db.Get<FailedGenerationStore>().StoreAsync(owner.Id, FailureSeed.Truncation(outputTokens: 1003));
        SignInAs(owner);
        RegisterDesignServices();
        Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>()
            .NavigateTo("/conversations/failed/insights?failure_type=truncation");

        var cut = RenderInsights(interactive: false);

        cut.WaitForAssertion(() => Assert.NotNull(cut.Instance.Prerendered), RenderWait);
        var first = cut.Instance.Prerendered!;
        Assert.Equal(
            ("?failure_type=truncation", 1L, 0, 1, 1),
            (first.Filters, first.Insights.OutputTokens.Sum(b => b.Failures), Hub.SubscriberCount, cut.Instance.LoadCount, cut.Instance.BreakdownLoadCount));
        Assert.Equal("Most failures: 1,000–1,099 tokens (1 failure)", cut.Find(".brun-histogram-peak").TextContent.Trim());
    }

    [Fact]
    public async Task Insights_say_which_filter_is_applied_and_offer_to_clear_it()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);
        RegisterDesignServices();
        Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>()
            .NavigateTo("/conversations/failed/insights?failure_type=truncation&from=2026-12-02");

        var cut = RenderInsights();

        cut.WaitForAssertion(() => Assert.Contains("Filtered: failure type truncation · from 2026-12-02.", cut.Find(".brun-insights-filters").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.Equal("/conversations/failed/insights", cut.Find("a.brun-insights-clear").GetAttribute("href"));
    }

    [Fact]
    public async Task Insights_without_a_filter_show_no_filter_notice()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);
        RegisterDesignServices();

        var cut = RenderInsights();

        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll(".brun-insights-loading")), RenderWait);
        Assert.Empty(cut.FindAll(".brun-insights-filters"));
        // Nothing stored yet: each chart says so rather than drawing an empty axis.
        Assert.Equal(
            ["No failures in this range.", "No failures.", "No outputs in this range."],
            cut.FindAll(".brun-chart-empty").Select(e => e.TextContent.Trim()));
        Assert.Empty(cut.FindAll(".brun-chart-histogram svg"));
    }

    // As in a circuit unless asked otherwise (set after the services: setting it starts the renderer).
    private IRenderedComponent<FailureInsightsPage> RenderInsights(bool interactive = true)
    {
        SetRendererInfo(new Microsoft.AspNetCore.Components.RendererInfo(interactive ? "Server" : "Static", interactive));
        return Render<FailureInsightsPage>();
    }

    private void SignInAs(AppUser owner)
    {
        RegisterSignedInUser(owner);
        Services.AddSingleton(Db.Get<FailedGenerationReader>());
        Services.AddScoped<FailureDashboardService>();
    }
}
