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
        return new RunDashboardService(new RunProgressReader(connections), new RunStore(connections, db.Time), db.Get<FailedGenerationReader>(), new MessageBatchStore(connections, new GenerationQueue(connections)), new RateLimitStore(connections), currentUser, db.Time);
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
}
