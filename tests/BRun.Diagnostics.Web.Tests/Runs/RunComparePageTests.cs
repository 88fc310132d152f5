using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Reruns;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Components.Runs;
using Bunit;
using Dapper;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace BRun.Diagnostics.Web.Tests.Runs;

/// <summary>The compare page: a re-run next to its source, and a run the user may not see is "not found".</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RunComparePageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    /// <summary>A source run of 4 tasks with 2 truncated, and its re-run at max_tokens 8,192 whose 2 tasks both succeeded.</summary>
    private async Task<(Guid Source, Guid Rerun)> SourceAndRerunAsync(AppUser owner)
    {
        var connections = Db.Get<IUserScopedConnectionFactory>();
        var source = await new RunStore(connections, Db.Time).CreateAsync(owner.Id, new CreateRunRequest(4, "default", "claude-sonnet-4-5", 1024, 0.7m), CancellationToken.None);
        await FailedTaskSeed.FailTasksAsync(Db.DataSource, owner.Id, source, [0, 1]);
        var rerun = await new RunRerunStore(connections, PriceTable.CreateDefault(), Db.Time, NullLogger<RunRerunStore>.Instance)
            .CreateAsync(owner.Id, new RerunRequest { Filter = new FailedGenerationFilter { RunId = source }, MaxTokens = 8192 }, CancellationToken.None);
        await using var c = await Db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync("""
            UPDATE generation_tasks SET state = 'succeeded', finished_at = now() WHERE run_id = @source AND seq IN (2, 3);
            UPDATE generation_runs SET succeeded = 2 WHERE id = @source;
            UPDATE generation_tasks SET state = 'succeeded', finished_at = now() WHERE run_id = @rerun;
            UPDATE generation_runs SET succeeded = 2, cost_usd = 0.05, status = 'completed' WHERE id = @rerun;
            """, new { source, rerun = rerun.RunId });
        return (source, rerun.RunId);
    }

    /// <summary>The page's runs travel in its query, as in a browser.</summary>
    private IRenderedComponent<RunComparePage> RenderCompare(Guid a, Guid b)
    {
        Services.GetRequiredService<NavigationManager>().NavigateTo(RunComparePage.Url(a, b));
        return Render<RunComparePage>();
    }

    [Fact]
    public async Task A_rerun_next_to_its_source_shows_each_failure_rate_and_the_change()
    {
        var owner = await Db.CreateUserAsync();
        var (source, rerun) = await SourceAndRerunAsync(owner);
        RegisterRunPages(owner);

        var cut = RenderCompare(source, rerun);

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll(".brun-compare-rerun")), RenderWait);
        Assert.Equal("50.0 %", cut.Find(".brun-compare-a .brun-compare-failure-rate").TextContent);
        Assert.Equal("0.0 %", cut.Find(".brun-compare-b .brun-compare-failure-rate").TextContent);
        Assert.Equal("$0.0250", cut.Find(".brun-compare-b .brun-compare-cost-per-good").TextContent);
        var truncation = cut.Find(".brun-compare-type tr[data-key='truncation']").TextContent;
        Assert.Contains("-50.0 pp", truncation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rerun_page_links_to_its_source_and_to_the_comparison()
    {
        var owner = await Db.CreateUserAsync();
        var (source, rerun) = await SourceAndRerunAsync(owner);
        RegisterRunPages(owner);

        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, rerun));

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll(".brun-compare-with-source")), RenderWait);
        Assert.Equal(RunComparePage.Url(source, rerun), cut.Find(".brun-compare-with-source").GetAttribute("href"));
        Assert.Equal($"/runs/{source:D}", cut.Find(".brun-rerun-source").GetAttribute("href"));
    }

    [Fact]
    public async Task Comparing_with_another_members_run_says_not_found()
    {
        var owner = await Db.CreateUserAsync();
        var stranger = await Db.CreateUserAsync();
        var (source, _) = await SourceAndRerunAsync(owner);
        var own = await new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time)
            .CreateAsync(stranger.Id, new CreateRunRequest(1, "default", "claude-sonnet-4-5", 1024, 0.7m), CancellationToken.None);
        RegisterRunPages(stranger);

        var cut = RenderCompare(source, own);

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll(".brun-compare-not-found")), RenderWait);
        Assert.Empty(cut.FindAll(".brun-compare-side"));
    }
}
