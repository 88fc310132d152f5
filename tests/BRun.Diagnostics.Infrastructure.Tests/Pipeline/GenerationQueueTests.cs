using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using Microsoft.Extensions.Configuration;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Pipeline;

[Collection(IntegrationEnvironment.Collection)]
public sealed class GenerationQueueTests(IntegrationEnvironment environment)
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Claim_TakesEachAvailableTaskOnce_AcrossConcurrentClaimers()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var queue = Pipeline(db).GetRequiredService<GenerationQueue>();
        var owner = await db.CreateUserAsync();
        await Pipeline(db).GetRequiredService<RunStore>().CreateAsync(owner.Id, new CreateRunRequest(50, "default", "m", 1024, null), CancellationToken.None);

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => queue.ClaimAsync($"w{i}", 10, Lease, CancellationToken.None)));

        var ids = claims.SelectMany(c => c).Select(t => t.Id).ToList();
        Assert.Equal(50, ids.Count);
        Assert.Equal(50, ids.Distinct().Count());
    }

    [Fact]
    public async Task ExpiredLease_IsRescued_AndClaimedAgainByAnotherWorker()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var services = Pipeline(db);
        var queue = services.GetRequiredService<GenerationQueue>();
        var owner = await db.CreateUserAsync();
        await services.GetRequiredService<RunStore>().CreateAsync(owner.Id, new CreateRunRequest(1, "default", "m", 1024, null), CancellationToken.None);
        var first = Assert.Single(await queue.ClaimAsync("dead-worker", 5, Lease, CancellationToken.None));

        Assert.Equal(0, await queue.RescueExpiredAsync(CancellationToken.None));
        await ExpireLeasesAsync(db);
        Assert.Equal(1, await queue.RescueExpiredAsync(CancellationToken.None));
        var second = Assert.Single(await queue.ClaimAsync("live-worker", 5, Lease, CancellationToken.None));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, second.Attempts);
    }

    [Fact]
    public async Task Heartbeat_RenewsTheLease_OnlyForTheDeliveryThatOwnsIt()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var services = Pipeline(db);
        var queue = services.GetRequiredService<GenerationQueue>();
        var owner = await db.CreateUserAsync();
        await services.GetRequiredService<RunStore>().CreateAsync(owner.Id, new CreateRunRequest(1, "default", "m", 1024, null), CancellationToken.None);
        var task = Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None));
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE generation_tasks SET lease_expires_at = now() + interval '1 second'");
        }

        Assert.Equal(1, await queue.ExtendLeasesAsync("w", [task], Lease, CancellationToken.None));
        Assert.Equal(0, await queue.ExtendLeasesAsync("someone-else", [task], Lease, CancellationToken.None));
        Assert.Equal(0, await queue.ExtendLeasesAsync("w", [task with { Attempts = task.Attempts - 1 }], Lease, CancellationToken.None));
        await using var check = await db.DataSource.OpenConnectionAsync();
        Assert.True(await check.ExecuteScalarAsync<bool>("SELECT lease_expires_at > now() + interval '20 seconds' FROM generation_tasks"));
    }

    [Fact]
    public async Task Claim_SkipsTasksWhoseNotBeforeIsInTheFuture()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var services = Pipeline(db);
        var queue = services.GetRequiredService<GenerationQueue>();
        var owner = await db.CreateUserAsync();
        await services.GetRequiredService<RunStore>().CreateAsync(owner.Id, new CreateRunRequest(2, "default", "m", 1024, null), CancellationToken.None);
        var first = (await queue.ClaimAsync("w", 1, Lease, CancellationToken.None))[0];
        Assert.True(await queue.RetryLaterAsync(first, TimeSpan.FromHours(1), "rate limited (429)", CancellationToken.None));

        var next = Assert.Single(await queue.ClaimAsync("w", 5, Lease, CancellationToken.None));

        Assert.NotEqual(first.Id, next.Id);
        Assert.False(await queue.RetryLaterAsync(first, TimeSpan.Zero, "stale", CancellationToken.None));
    }

    [Fact]
    public async Task CancelledRun_HandsOutNoMoreWork()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var services = Pipeline(db);
        var owner = await db.CreateUserAsync();
        var runs = services.GetRequiredService<RunStore>();
        var runId = await runs.CreateAsync(owner.Id, new CreateRunRequest(5, "default", "m", 1024, null), CancellationToken.None);

        Assert.True(await runs.CancelAsync(DbIdentity.User(owner.Id), runId, CancellationToken.None));

        Assert.Empty(await services.GetRequiredService<GenerationQueue>().ClaimAsync("w", 5, Lease, CancellationToken.None));
        var run = await runs.GetAsync(DbIdentity.User(owner.Id), runId, CancellationToken.None);
        Assert.Equal((RunStatus.Cancelled, 5), (run!.Status, run.Cancelled));
        Assert.NotNull(run.FinishedAt);
    }

    [Fact]
    public async Task Runs_AreVisibleToTheirOwnerAndAdmins_NotToOtherMembers()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var runs = Pipeline(db).GetRequiredService<RunStore>();
        var alice = await db.CreateUserAsync();
        var bob = await db.CreateUserAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);
        var runId = await runs.CreateAsync(alice.Id, new CreateRunRequest(2, "default", "m", 1024, null), CancellationToken.None);

        Assert.NotNull(await runs.GetAsync(DbIdentity.User(alice.Id), runId, CancellationToken.None));
        Assert.NotNull(await runs.GetAsync(DbIdentity.User(admin.Id), runId, CancellationToken.None));
        Assert.Null(await runs.GetAsync(DbIdentity.User(bob.Id), runId, CancellationToken.None));
        Assert.False(await runs.CancelAsync(DbIdentity.User(bob.Id), runId, CancellationToken.None));
    }

    [Fact]
    public async Task RunCreation_RendersEveryPlaceholder_AndVariesTheScaffolding()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var services = Pipeline(db);
        var owner = await db.CreateUserAsync();
        await services.GetRequiredService<RunStore>().CreateAsync(owner.Id, new CreateRunRequest(20, "default", "m", 1024, null), CancellationToken.None);

        var tasks = await services.GetRequiredService<GenerationQueue>().ClaimAsync("w", 20, Lease, CancellationToken.None);

        Assert.All(tasks, t => Assert.DoesNotContain("{{", t.Prompt, StringComparison.Ordinal));
        Assert.True(tasks.Select(t => t.PersonaId).Distinct().Count() > 1);
        Assert.True(tasks.Select(t => t.EmotionalArcId).Distinct().Count() > 1);
        Assert.Equal(20, tasks.Select(t => t.Prompt).Distinct().Count());
    }

    [Fact]
    public async Task Requeue_OfAFailedTask_AddsOneNewTask_AndReopensTheRun_OnlyOnce()
    {
        await using var db = await environment.CreateDatabaseAsync();
        var services = Pipeline(db);
        var owner = await db.CreateUserAsync();
        var stranger = await db.CreateUserAsync();
        var runs = services.GetRequiredService<RunStore>();
        var runId = await runs.CreateAsync(owner.Id, new CreateRunRequest(1, "default", "m", 1024, null), CancellationToken.None);
        var queue = services.GetRequiredService<GenerationQueue>();
        var task = Assert.Single(await queue.ClaimAsync("w", 1, Lease, CancellationToken.None));
        Assert.Null(await runs.RequeueAsync(DbIdentity.User(owner.Id), task.Id, CancellationToken.None));
        await services.GetRequiredService<GenerationOutcomeStore>().GiveUpAsync(task, "truncation: max_tokens", CancellationToken.None);

        Assert.Null(await runs.RequeueAsync(DbIdentity.User(stranger.Id), task.Id, CancellationToken.None));
        var retry = await runs.RequeueAsync(DbIdentity.User(owner.Id), task.Id, CancellationToken.None);
        var twice = await runs.RequeueAsync(DbIdentity.User(owner.Id), task.Id, CancellationToken.None);

        Assert.NotNull(retry);
        Assert.Null(twice);
        var run = await runs.GetAsync(DbIdentity.User(owner.Id), runId, CancellationToken.None);
        Assert.Equal((RunStatus.Running, 2, 1, 1), (run!.Status, run.Total, run.Failed, run.Pending));
        var again = Assert.Single(await queue.ClaimAsync("w", 5, Lease, CancellationToken.None));
        Assert.Equal((retry.Value, task.Prompt), (again.Id, again.Prompt));
    }

    private static async Task ExpireLeasesAsync(TestDatabase db)
    {
        await using var connection = await db.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE generation_tasks SET lease_expires_at = now() - interval '1 second' WHERE state = 'running'");
    }

    private static IServiceProvider Pipeline(TestDatabase db) =>
        db.BuildServices(
            s => s["Worker:Enabled"] = "false",
            services => services
                .AddClaudeMessagesClient()
                .AddGenerationPipeline(new ConfigurationBuilder()
                    .AddInMemoryCollection(new Dictionary<string, string?> { ["Worker:Enabled"] = "false" }).Build()));
}
