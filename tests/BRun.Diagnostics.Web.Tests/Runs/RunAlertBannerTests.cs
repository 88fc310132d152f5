using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Components.Runs;
using BRun.Diagnostics.Web.Runs;
using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Web.Tests.Runs;

/// <summary>The layout's alert banner: a rule that paused a run shows with Resume, and Resume restarts the run.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RunAlertBannerTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private RunStore Runs => new(Db.Get<IUserScopedConnectionFactory>(), Db.Time);

    /// <summary>A run of <paramref name="owner"/> whose failure-rate rule fired and paused it.</summary>
    private async Task<Guid> PausedRunAsync(AppUser owner)
    {
        var runId = await Runs.CreateAsync(owner.Id, new CreateRunRequest(5, "default", "claude-sonnet-4-5", 4096, 0.7m), CancellationToken.None);
        await new RunAlertStore(Db.Get<IUserScopedConnectionFactory>())
            .UpdateRulesAsync(DbIdentity.User(owner.Id), runId, new RunAlertRules { MinTasks = 1 }, CancellationToken.None);
        await using var c = await Db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE generation_runs SET failed = failed + 1 WHERE id = @runId", new { runId });
        return runId;
    }

    private void SignInAs(AppUser user)
    {
        var currentUser = RegisterSignedInUser(user);
        var connections = Db.Get<IUserScopedConnectionFactory>();
        Services.AddScoped(_ => new RunAlertService(new RunAlertStore(connections), new RunStore(connections, Db.Time), currentUser));
    }

    private async Task<string> StatusAsync(Guid runId)
    {
        await using var c = await Db.DataSource.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<string>("SELECT status FROM generation_runs WHERE id = @runId", new { runId }) ?? "";
    }

    [Fact]
    public async Task A_paused_run_shows_in_the_banner_and_resume_restarts_it()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await PausedRunAsync(owner);
        SignInAs(owner);

        var cut = Render<RunAlertBanner>();
        cut.WaitForAssertion(() => Assert.Contains("The run is paused", cut.Find(".brun-run-alert").TextContent, StringComparison.Ordinal), RenderWait);

        await StableClick.ClickAsync(cut, ".brun-alert-resume");

        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll(".brun-alert-resume")), RenderWait);
        Assert.Equal(RunStatus.Running, await StatusAsync(runId));
    }

    [Fact]
    public async Task Another_members_alert_is_not_shown()
    {
        var owner = await Db.CreateUserAsync();
        var someoneElse = await Db.CreateUserAsync();
        await PausedRunAsync(owner);
        SignInAs(someoneElse);

        var cut = Render<RunAlertBanner>();

        cut.WaitForAssertion(() => Assert.Equal(1, cut.Instance.Loads), RenderWait);
        Assert.Empty(cut.FindAll(".brun-run-alert"));
    }

    [Fact]
    public async Task An_alert_raised_while_the_page_is_open_appears_live()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);
        var cut = Render<RunAlertBanner>();
        cut.WaitForAssertion(() => Assert.Equal(1, cut.Instance.Loads), RenderWait);

        var runId = await PausedRunAsync(owner);
        Hub.Publish(new RunEvent("run_alert", runId));
        Db.Time.Advance(Window);

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll(".brun-run-alert")), RenderWait);
    }
}
