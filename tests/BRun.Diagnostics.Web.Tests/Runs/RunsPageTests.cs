using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Batches;
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
using BRun.Diagnostics.Web.Tests.Failures;
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
            row.Contains("0 ok · 0 failed · 0 cancelled · 8 pending of 8", StringComparison.Ordinal)));
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
        Assert.Contains("1 ok · 1 failed · 0 cancelled · 2 pending of 4", cut.Find("tr.brun-run-row").TextContent, StringComparison.Ordinal);
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
                VALUES ('key-test:claude-sonnet-4.x', 'claude-sonnet-4.x', '2099-01-01T10:11:12Z')
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
                VALUES ('key-test:claude-sonnet-4.x', 'claude-sonnet-4.x', '2099-01-01T10:11:12Z');
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
        Assert.Empty(cut.FindAll("a.brun-batch-unreadable"));
    }

    [Fact]
    public async Task Run_page_batch_table_follows_a_batch_status_event_without_a_reload()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time).CreateAsync(
            owner.Id, new CreateRunRequest(3, "default", "claude-sonnet-4-5", 2048, 0.7m, RunMode.Batch), CancellationToken.None);
        await using (var connection = await Db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO message_batches (run_id, seq, anthropic_batch_id, submission_state, request_count, processing_status, count_processing)
                VALUES (@runId, 1, 'msgbatch_01live', 'submitted', 3, 'in_progress', 3)
                """, new { runId });
        }

        SignInAs(owner);
        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, runId));
        cut.WaitForAssertion(() => Assert.Equal("in_progress", Cells(cut)[2]), RenderWait);

        await using (var connection = await Db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                UPDATE message_batches SET processing_status = 'ended', count_processing = 0, count_succeeded = 3, results_lines_done = 3,
                                           results_lines_unreadable = 1
                WHERE run_id = @runId
                """, new { runId });
        }

        Hub.Publish(new RunEvent(MessageBatchStore.BatchStatusEvent, runId));
        Db.Time.Advance(Window);

        cut.WaitForAssertion(() => Assert.Equal(["1", "msgbatch_01live", "ended", "3", "0", "3", "0", "0", "0"], Cells(cut)[..9]), RenderWait);
        var unreadable = cut.Find("tr.brun-batch-row td:last-child a.brun-batch-unreadable");
        Assert.Equal("3 (1 unreadable)", string.Join(' ', cut.Find("tr.brun-batch-row td:last-child").TextContent.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal($"/api/runs/{runId:D}/batches/1/unreadable-lines", unreadable.GetAttribute("href"));

        static List<string> Cells(IRenderedComponent<RunDetailPage> cut) =>
            [.. cut.Find("tr.brun-batch-row").QuerySelectorAll("td").Select(td => td.TextContent.Trim())];
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

    private async Task<Guid> CancelledRunAsync(AppUser owner)
    {
        var runId = await CreateRunAsync(owner, 4);
        await FinishTasksAsync(runId, succeeded: 1, failed: 1);
        Assert.True(await new RunStore(Db.Get<IUserScopedConnectionFactory>(), Db.Time).CancelAsync(DbIdentity.User(owner.Id), runId, CancellationToken.None));
        return runId;
    }

    [Fact]
    public async Task Runs_table_counts_cancelled_tasks_with_the_others()
    {
        var owner = await Db.CreateUserAsync();
        await CancelledRunAsync(owner);
        SignInAs(owner);

        var cut = Render<RunsPage>();

        cut.WaitForAssertion(
            () => Assert.Equal("1 ok · 1 failed · 2 cancelled · 0 pending of 4", cut.Find("tr.brun-run-row .brun-run-counts").TextContent.Trim()),
            RenderWait);
    }

    [Fact]
    public async Task Run_page_shows_cancelled_tasks_in_a_card_the_counts_line_and_the_progress_legend()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await CancelledRunAsync(owner);
        SignInAs(owner);

        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, runId));

        cut.WaitForAssertion(() => Assert.Equal("2", cut.Find(".brun-count-cancelled").TextContent.Trim()), RenderWait);
        Assert.Equal("1 ok · 1 failed · 2 cancelled · 0 pending of 4", cut.Find(".brun-run-counts").TextContent.Trim());
        Assert.Equal("2 cancelled", cut.Find(".brun-progress-legend .brun-legend-cancelled").TextContent.Trim());
    }

    [Fact]
    public async Task Run_page_links_its_failures_and_each_breakdown_row_to_the_failed_list_filtered_to_the_run()
    {
        var owner = await Db.CreateUserAsync();
        var runId = await CreateRunAsync(owner, 4);
        await Db.Get<FailedGenerationStore>().StoreAsync(owner.Id, FailureSeed.Truncation(runId: runId));
        SignInAs(owner);

        var cut = Render<RunDetailPage>(p => p.Add(c => c.RunId, runId));

        cut.WaitForAssertion(() => Assert.NotEmpty(cut.FindAll(".brun-breakdown-link")), RenderWait);
        Assert.Equal($"/conversations/failed?run_id={runId:D}", cut.Find("a.brun-run-failures-link").GetAttribute("href"));
        var links = cut.FindAll("a.brun-breakdown-link").Select(a => a.GetAttribute("href")).ToList();
        Assert.Equal(
            [
                $"/conversations/failed?failure_type=truncation&run_id={runId:D}",
                $"/conversations/failed?stop_reason=end_turn&run_id={runId:D}",
                $"/conversations/failed?pattern=lone_backslash&run_id={runId:D}",
            ],
            links);
    }

    private async Task<IRenderedComponent<MudDialogProvider>> OpenNewRunDialogAsync()
    {
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        await provider.InvokeAsync(() => dialogs.ShowAsync<CreateRunDialog>("New run"));
        provider.WaitForAssertion(() => Assert.NotEmpty(provider.FindAll(".brun-run-count input")), RenderWait);
        return provider;
    }

    private static bool CreateDisabled(IRenderedComponent<MudDialogProvider> provider) =>
        provider.Find("button.brun-create-run-submit").HasAttribute("disabled");

    [Theory]
    [InlineData("brun-run-count", "0", "Count must be a whole number from 1 to 100,000; got 0.")]
    [InlineData("brun-run-count", "-5", "Count must be a whole number from 1 to 100,000; got -5.")]
    [InlineData("brun-run-count", "", "Enter how many conversations: a whole number from 1 to 100,000.")]
    [InlineData("brun-run-count", "100001", "Count must be a whole number from 1 to 100,000; got 100001.")]
    [InlineData("brun-run-max-tokens", "999999999", "Max tokens must be a whole number from 1 to 128,000; got 999999999.")]
    [InlineData("brun-run-max-tokens", "", "Enter max tokens: a whole number from 1 to 128,000.")]
    [InlineData("brun-run-temperature", "5", "Temperature must be a number from 0 to 1, such as 0.7; got 5.")]
    public async Task New_run_dialog_keeps_what_was_typed_names_the_problem_under_the_field_and_disables_create(string field, string typed, string message)
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);
        var provider = await OpenNewRunDialogAsync();
        Assert.False(CreateDisabled(provider));

        provider.Find($".{field} input").Input(typed);

        provider.WaitForAssertion(() => Assert.Contains(message, provider.Find($".{field}").TextContent, StringComparison.Ordinal), RenderWait);
        Assert.True(CreateDisabled(provider));
        provider.Find("form#create-run-form").Submit();
        await using var connection = await Db.DataSource.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM generation_runs"));
    }

    [Fact]
    public async Task New_run_dialog_enables_create_again_once_the_value_is_within_the_limits()
    {
        var owner = await Db.CreateUserAsync();
        SignInAs(owner);
        var provider = await OpenNewRunDialogAsync();
        provider.Find(".brun-run-count input").Input("100001");
        provider.WaitForAssertion(() => Assert.True(CreateDisabled(provider)), RenderWait);

        provider.Find(".brun-run-count input").Input("100000");

        provider.WaitForAssertion(() => Assert.False(CreateDisabled(provider)), RenderWait);
        Assert.DoesNotContain("Count must be", provider.Find(".brun-run-count").TextContent, StringComparison.Ordinal);
    }
}
