using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Infrastructure.Users;
using BRun.Diagnostics.Testing;
using BRun.Diagnostics.Web.Auth;
using BRun.Diagnostics.Web.Components.Runs;
using BRun.Diagnostics.Web.Runs;
using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MudBlazor;
using MudBlazor.Extensions;

namespace BRun.Diagnostics.Web.Tests.Runs;

[Collection(IntegrationEnvironment.Collection)]
public sealed class RunsPageTests(IntegrationEnvironment env) : LiveDashboardTestContext(env)
{
    private void SignInAs(AppUser user) => RegisterRunPages(user);

    private Task<Guid> CreateRunAsync(AppUser owner, int count) =>
        new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time).CreateAsync(owner.Id, new CreateRunRequest(count, "default", "claude-sonnet-4-5", 2048, 0.7m), CancellationToken.None);

    /// <summary>Finishes tasks the way the worker's bookkeeping does: task states and the run's counters.</summary>
    private async Task FinishTasksAsync(Guid runId, int succeeded, int failed)
    {
        await using var connection = await Db.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            """
            UPDATE generation_tasks SET state = CASE WHEN seq < @succeeded THEN 'succeeded' ELSE 'failed' END, finished_at = @now
            WHERE run_id = @runId AND seq < @done;
            UPDATE generation_runs SET succeeded = @succeeded, failed = @failed, started_at = @now WHERE id = @runId;
            """,
            new { runId, succeeded, failed, done = succeeded + failed, now = Db.Time.GetUtcNow() });
    }

    private static string Width(IRenderedComponent<RunsPage> cut, string segment) =>
        cut.Find($"tr.brun-run-row .brun-progress-{segment}").GetAttribute("style") ?? string.Empty;

    [Fact]
    public async Task Runs_table_shows_each_visible_run_with_its_owner_model_and_counts()
    {
        var owner = await Db.CreateUserAsync(name: "Dana");
        var someoneElse = await Db.CreateUserAsync();
        await CreateRunAsync(owner, 8);
        await CreateRunAsync(someoneElse, 5);
        SignInAs(owner);

        var cut = Render<RunsPage>();

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("tr.brun-run-row")), RenderWait);
        var row = cut.Find("tr.brun-run-row").TextContent;
        Assert.Equal((true, true, true), (row.Contains("Dana", StringComparison.Ordinal), row.Contains("claude-sonnet-4-5", StringComparison.Ordinal),
            row.Contains("0 ok · 0 failed · 8 pending of 8", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Runs_table_updates_progress_when_the_hub_delivers_an_event_for_the_run()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await CreateRunAsync(owner, 4);
        SignInAs(owner);
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal("width: 0%", Width(cut, "succeeded")), RenderWait);

        await FinishTasksAsync(runId, succeeded: 1, failed: 1);
        Hub.Publish(new RunEvent(RunEvent.TaskFailed, runId, Status: RunStatus.Running, Total: 4, Succeeded: 1, Failed: 1, Cancelled: 0));
        Db.Time.Advance(Window);

        cut.WaitForAssertion(() => Assert.Equal(("width: 25%", "width: 25%"), (Width(cut, "succeeded"), Width(cut, "failed"))), RenderWait);
        Assert.Contains("1 ok · 1 failed · 2 pending of 4", cut.Find("tr.brun-run-row").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runs_table_shows_a_run_created_elsewhere_when_the_hub_announces_it()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Contains("No runs yet", cut.Markup, StringComparison.Ordinal), RenderWait);

        var runId = await CreateRunAsync(owner, 3);
        Hub.Publish(RunEvent.RunCreated(runId, 3));
        Db.Time.Advance(Window);

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("tr.brun-run-row")), RenderWait);
    }

    [Fact]
    public async Task Run_page_updates_its_counts_when_the_hub_delivers_an_event_for_that_run()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await CreateRunAsync(owner, 4);
        SignInAs(owner);
        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, runId));
        cut.WaitForAssertion(() => Assert.Equal("4", cut.Find(".brun-count-pending").TextContent.Trim()), RenderWait);

        await FinishTasksAsync(runId, succeeded: 2, failed: 1);
        Hub.Publish(new RunEvent(RunEvent.TaskFailed, runId, Status: RunStatus.Running, Total: 4, Succeeded: 2, Failed: 1, Cancelled: 0));
        Db.Time.Advance(Window);

        cut.WaitForAssertion(
            () => Assert.Equal(("2", "1", "1"), (cut.Find(".brun-count-succeeded").TextContent.Trim(), cut.Find(".brun-count-failed").TextContent.Trim(), cut.Find(".brun-count-pending").TextContent.Trim())),
            RenderWait);
    }

    [Fact]
    public async Task Run_page_says_when_pending_tasks_wait_on_the_rate_limit_and_until_when()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await CreateRunAsync(owner, 3);
        await using (var connection = await Db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO rate_limit_state (scope, model, waiting_until)
                VALUES ('key-test:claude-sonnet-4-5', 'claude-sonnet-4-5', '2099-01-01T10:11:12Z')
                """);
        }

        SignInAs(owner);
        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, runId));

        cut.WaitForAssertion(
            () => Assert.Contains("limits are used up; the next call fits at 10:11:12 UTC", cut.Find(".brun-rate-limit-wait").TextContent, StringComparison.Ordinal),
            RenderWait);
    }

    [Fact]
    public async Task Run_page_of_a_batch_run_lists_its_batches_with_their_counts_and_the_online_cost_but_no_rate_limit_wait()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time).CreateAsync(
            owner.Id, new CreateRunRequest(3, "default", "claude-sonnet-4-5", 2048, 0.7m, RunMode.Batch), CancellationToken.None);
        await using (var connection = await Db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO message_batches (run_id, seq, anthropic_batch_id, submission_state, request_count, processing_status,
                                             count_processing, count_succeeded, count_errored, count_expired, results_lines_done)
                VALUES (@runId, 1, 'msgbatch_01test', 'submitted', 3, 'in_progress', 1, 1, 0, 1, 0);
                UPDATE generation_runs SET cost_usd = 0.5, online_equivalent_cost_usd = 1.0 WHERE id = @runId;
                INSERT INTO rate_limit_state (scope, model, waiting_until)
                VALUES ('key-test:claude-sonnet-4-5', 'claude-sonnet-4-5', '2099-01-01T10:11:12Z');
                """, new { runId });
        }

        SignInAs(owner);
        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, runId));

        cut.WaitForAssertion(() =>
        {
            var cells = cut.Find("tr.brun-batch-row").QuerySelectorAll("td").Select(td => td.TextContent.Trim()).ToList();
            Assert.Equal(["1", "msgbatch_01test", "in_progress", "3", "1", "1", "0", "0", "1", "0"], cells);
        }, RenderWait);
        Assert.Contains("online the same results would have cost $1.0000", cut.Find(".brun-batch-cost").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll(".brun-rate-limit-wait"));
    }

    [Fact]
    public async Task New_run_dialog_creates_a_batch_mode_run_when_batch_is_chosen()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        await provider.InvokeAsync(() => dialogs.ShowAsync<CreateRunDialog>("New run"));
        provider.WaitForAssertion(() => Assert.NotEmpty(provider.FindAll(".brun-run-mode")), RenderWait);

        var mode = provider.FindComponents<MudSelect<string>>().Single(s => s.Instance.Class?.Contains("brun-run-mode", StringComparison.Ordinal) == true);
        Assert.Equal(RunMode.Online, mode.Instance.GetState(x => x.Value));
        await provider.InvokeAsync(() => mode.Instance.ValueChanged.InvokeAsync(RunMode.Batch));
        provider.Find("form#create-run-form").Submit();

        await using var connection = await Db.DataSource.OpenConnectionAsync();
        provider.WaitForAssertion(() => Assert.Equal(
            [RunMode.Batch],
            connection.Query<string>("SELECT mode FROM generation_runs WHERE created_by = @id", new { id = owner.Id }).ToList()), RenderWait);
    }

    [Fact]
    public async Task Run_page_of_another_members_run_says_it_is_not_found()
    {
        var owner = await Db.CreateUserAsync();
        var stranger = await Db.CreateUserAsync();
        var runId = await CreateRunAsync(owner, 2);
        SignInAs(stranger);

        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, runId));

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll(".brun-run-not-found")), RenderWait);
    }

    [Fact]
    public async Task Leaving_the_page_ends_its_hub_subscription()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);
        var cut = Render<RunsPage>();
        cut.WaitForAssertion(() => Assert.Equal(1, Hub.SubscriberCount), RenderWait);

        await DisposeComponentsAsync();

        Assert.Equal(0, Hub.SubscriberCount);
    }
}
