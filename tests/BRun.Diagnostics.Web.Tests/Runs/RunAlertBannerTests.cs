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
    public async Task A_runs_alerts_share_one_entry_and_dismiss_all_dismisses_each_of_them()
    {
        var owner = await Db.CreateUserAsync();
        var busy = await Runs.CreateAsync(owner.Id, new CreateRunRequest(5, "default", "claude-sonnet-4-5", 4096, 0.7m), CancellationToken.None);
        var other = await Runs.CreateAsync(owner.Id, new CreateRunRequest(5, "default", "claude-sonnet-4-5", 4096, 0.7m), CancellationToken.None);
        await using (var c = await Db.DataSource.OpenConnectionAsync())
        {
            await c.ExecuteAsync("""
                INSERT INTO run_alerts (run_id, created_by, kind, pattern, message, paused_run, created_at)
                SELECT @busy, @owner, 'new_pattern', p, 'Truncation pattern ' || p || ' seen for the first time', false,
                       timestamptz '2026-12-04 06:00:00+00' + n * interval '1 minute'
                FROM unnest(ARRAY['max_tokens', 'lone_backslash', 'mid_word']) WITH ORDINALITY AS x(p, n);
                INSERT INTO run_alerts (run_id, created_by, kind, pattern, message, paused_run, created_at)
                VALUES (@other, @owner, 'new_pattern', 'stream_cut', 'Truncation pattern stream_cut seen for the first time', false,
                        timestamptz '2026-12-04 05:00:00+00');
                """, new { busy, other, owner = owner.Id });
        }

        SignInAs(owner);
        var cut = Render<RunAlertBanner>();
        cut.WaitForAssertion(() => Assert.Equal(2, cut.FindAll(".brun-run-alert").Count), RenderWait);
        var first = cut.Find(".brun-run-alert");
        Assert.Equal(
            (busy.ToString("D"), true, "Dismiss all"),
            (first.GetAttribute("data-run-id"), first.TextContent.Contains("Truncation patterns seen for the first time: max_tokens, lone_backslash, mid_word.", StringComparison.Ordinal),
                first.QuerySelector(".brun-alert-dismiss")?.TextContent.Trim()));

        await StableClick.ClickAsync(cut, $".brun-run-alert[data-run-id='{busy:D}'] .brun-alert-dismiss");

        cut.WaitForAssertion(() => Assert.Equal(other.ToString("D"), cut.Find(".brun-run-alert").GetAttribute("data-run-id")), RenderWait);
        await using var check = await Db.DataSource.OpenConnectionAsync();
        Assert.Equal(
            (3, 0),
            (await check.ExecuteScalarAsync<int>("SELECT count(*) FROM run_alerts WHERE run_id = @busy AND dismissed_at IS NOT NULL", new { busy }),
                await check.ExecuteScalarAsync<int>("SELECT count(*) FROM run_alerts WHERE run_id = @other AND dismissed_at IS NOT NULL", new { other })));
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
