using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Auth;
using BRun.Diagnostics.Web.Runs;
using BRun.Diagnostics.Web.Tests.Failures;
using Dapper;

namespace BRun.Diagnostics.Web.Tests.Runs;

[Collection(IntegrationEnvironment.Collection)]
public sealed class RunDashboardServiceTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static RunDashboardService For(TestDatabase db, AppUser user)
    {
        var currentUser = new CurrentUser();
        currentUser.SetPrincipal(UserClaims.CreatePrincipal(user, "test"));
        var connections = db.Get<IUserScopedConnectionFactory>();
        return new RunDashboardService(new RunProgressReader(connections), new RunStore(connections, db.Time), new MessageBatchStore(connections, new GenerationQueue(connections)), new RateLimitStore(connections), currentUser, db.Time);
    }

    private static CreateRunRequest Request(int count) => new(count, "default", "claude-sonnet-4-5", 1024, null);

    [Fact]
    public async Task A_member_lists_only_their_own_runs_and_an_admin_lists_all()
    {
        await using var db = await env.CreateDatabaseAsync();
        var a = await db.CreateUserAsync();
        var b = await db.CreateUserAsync();
        var admin = await db.CreateUserAsync(AppUserRoles.Admin);
        var runOfA = await For(db, a).CreateAsync(Request(2), None);
        await For(db, b).CreateAsync(Request(3), None);

        var seenByA = await For(db, a).ListAsync(None);
        var seenByAdmin = await For(db, admin).ListAsync(None);

        Assert.Equal([runOfA], seenByA.Select(r => r.Id));
        Assert.Equal(2, seenByAdmin.Count);
    }

    [Fact]
    public async Task A_member_cannot_cancel_another_members_run()
    {
        await using var db = await env.CreateDatabaseAsync();
        var a = await db.CreateUserAsync();
        var b = await db.CreateUserAsync();
        var runOfB = await For(db, b).CreateAsync(Request(2), None);

        Assert.False(await For(db, a).CancelAsync(runOfB, None));
        Assert.Equal(RunStatus.Running, (await For(db, b).GetAsync(runOfB, None))?.Status);
    }

    [Fact]
    public async Task The_owner_cancels_a_running_run_and_its_pending_tasks_are_dropped()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = await db.CreateUserAsync();
        var runId = await For(db, owner).CreateAsync(Request(4), None);

        Assert.True(await For(db, owner).CancelAsync(runId, None));

        var run = await For(db, owner).GetAsync(runId, None);
        Assert.Equal((RunStatus.Cancelled, 4, 0), (run?.Status, run?.Cancelled, run?.Pending));
    }

    [Fact]
    public async Task Run_counters_and_failure_breakdown_come_from_one_snapshot_while_a_failure_commits_between_the_two_reads()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = await db.CreateUserAsync();
        var runId = await For(db, owner).CreateAsync(Request(4), None);
        var failureId = await db.Get<FailedGenerationStore>().StoreAsync(owner.Id, FailureSeed.Truncation());

        // The breakdown reads the rollup: hold it locked so the read of the run's counters has happened and the
        // breakdown's read waits, then commit a failure of the run (row and counter together) in between.
        await using var writer = await db.DataSource.OpenConnectionAsync();
        await using var transaction = await writer.BeginTransactionAsync();
        await writer.ExecuteAsync("LOCK TABLE failed_generation_counts IN ACCESS EXCLUSIVE MODE", transaction: transaction);
        var read = For(db, owner).GetWithFailuresAsync(runId, None);
        await WaitUntilABackendWaitsOnALockAsync(db);
        await writer.ExecuteAsync(
            """
            UPDATE failed_generations SET run_id = @runId WHERE id = @failureId;
            UPDATE generation_runs SET failed = failed + 1 WHERE id = @runId;
            """,
            new { runId, failureId }, transaction);
        await transaction.CommitAsync();

        var detail = await read;

        Assert.NotNull(detail);
        Assert.Equal(detail.Run.Failed, detail.Failures.Total);
    }

    [Fact]
    public async Task Run_detail_counts_failed_tasks_that_have_no_stored_failed_generation()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = await db.CreateUserAsync();
        var runId = await For(db, owner).CreateAsync(Request(4), None);
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE generation_runs SET failed = 2 WHERE id = @runId", new { runId });
        }

        var detail = await For(db, owner).GetWithFailuresAsync(runId, None);

        Assert.NotNull(detail);
        Assert.Equal((2, 0L, 2L), (detail.Run.Failed, detail.Failures.Total, detail.FailuresWithoutReport));
    }

    private static async Task WaitUntilABackendWaitsOnALockAsync(TestDatabase db)
    {
        // A bound on the wait, not a timing assertion: the read is blocked as soon as it reaches the rollup.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var probe = await db.DataSource.OpenConnectionAsync(bound.Token);
        while (await probe.ExecuteScalarAsync<long>(new CommandDefinition(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                   cancellationToken: bound.Token)) == 0)
        {
            await Task.Delay(20, bound.Token);
        }
    }
}
