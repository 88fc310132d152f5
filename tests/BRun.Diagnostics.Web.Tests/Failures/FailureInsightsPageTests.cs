using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Auth;
using BRun.Diagnostics.Web.Components.Pages.FailedGenerations;
using BRun.Diagnostics.Web.Failures;
using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Failures;

[Collection(IntegrationEnvironment.Collection)]
public sealed class FailureInsightsPageTests(IntegrationEnvironment env) : DashboardTestContext
{
    private static readonly TimeSpan RenderWait = TimeSpan.FromSeconds(30);

    private TestDatabase? _db;

    private TestDatabase Db => _db!;

    public override async Task InitializeAsync() => _db = await env.CreateDatabaseAsync();

    protected override async Task DisposeContextAsync()
    {
        await base.DisposeContextAsync();
        await Db.DisposeAsync();
    }

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

        var currentUser = new CurrentUser();
        currentUser.SetPrincipal(UserClaims.CreatePrincipal(owner, "test"));
        Services.AddSingleton<ICurrentUser>(currentUser);
        Services.AddSingleton<TimeProvider>(Db.Time);
        Services.AddSingleton(Db.Get<IUserScopedConnectionFactory>());
        Services.AddSingleton(Db.Get<FailedGenerationReader>());
        Services.AddScoped<FailureDashboardService>();
        RegisterDesignServices();

        var cut = Render<FailureInsightsPage>();

        cut.WaitForAssertion(() => Assert.Equal("Most failures: 1,000–1,099 tokens (2 failures)", cut.Find(".brun-histogram-peak").TextContent.Trim()), RenderWait);
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
}
