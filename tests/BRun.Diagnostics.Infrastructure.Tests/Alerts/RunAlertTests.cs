using System.Text;
using System.Text.Json.Nodes;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Tests.Claude;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Alerts;

/// <summary>
/// Alert rules are evaluated by triggers (migration 0071) where a failure is counted; a pausing rule stops the
/// queue from handing out the run's tasks until a person resumes it.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RunAlertTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<Guid> CreateRunAsync(TestDatabase db, Guid owner, int count = 10)
    {
        return await Runs(db).CreateAsync(owner, new CreateRunRequest(count, "default", "claude-sonnet-4-5", 4096, 0.7m), None);
    }

    private static RunAlertStore Alerts(TestDatabase db) => new(db.Get<IUserScopedConnectionFactory>());

    private static RunStore Runs(TestDatabase db) => new(db.Get<IUserScopedConnectionFactory>(), db.Time);

    /// <summary>Counts tasks as the worker's finishing statement does (the counter update fires the rules).</summary>
    private static async Task CountAsync(TestDatabase db, Guid runId, int succeeded, int failed)
    {
        await using var c = await db.DataSource.OpenConnectionAsync();
        for (var i = 0; i < succeeded; i++)
        {
            await c.ExecuteAsync("UPDATE generation_runs SET succeeded = succeeded + 1 WHERE id = @runId", new { runId });
        }

        for (var i = 0; i < failed; i++)
        {
            await c.ExecuteAsync("UPDATE generation_runs SET failed = failed + 1 WHERE id = @runId", new { runId });
        }
    }

    private static async Task InsertFailureAsync(TestDatabase db, Guid owner, Guid runId, string failureType, string? pattern)
    {
        await using var c = await db.DataSource.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO failed_generations (id, run_id, prompt, prompt_length, model, max_tokens, raw_response, raw_body,
                http_status, streamed, failure_type, truncation_pattern, detection_confidence, created_by)
            VALUES (gen_random_uuid(), @runId, 'p', 1, 'claude-sonnet-4-5', 4096, '{}'::jsonb, '{}', 200, false, @failureType, @pattern, 'high', @owner)
            """, new { owner, runId, failureType, pattern });
    }

    private static async Task<string> StatusAsync(TestDatabase db, Guid runId)
    {
        await using var c = await db.DataSource.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<string>("SELECT status FROM generation_runs WHERE id = @runId", new { runId }) ?? "";
    }

    [Fact]
    public async Task A_failure_rate_above_the_threshold_pauses_the_run_and_no_task_is_claimed_until_it_is_resumed()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var runId = await CreateRunAsync(db, owner);
        var alerts = Alerts(db);
        var identity = DbIdentity.User(owner);
        Assert.True(await alerts.UpdateRulesAsync(identity, runId, new RunAlertRules { MinTasks = 4, FailureRateAbove = 0.5m }, None));

        await CountAsync(db, runId, succeeded: 1, failed: 3);

        Assert.Equal(RunStatus.Paused, await StatusAsync(db, runId));
        var alert = Assert.Single(await alerts.ListForRunAsync(identity, runId, None));
        Assert.Equal((RunAlertKind.FailureRate, true), (alert.Kind, alert.PausedRun));
        var queue = new GenerationQueue(db.Get<IUserScopedConnectionFactory>());
        Assert.Empty(await queue.ClaimAsync("w1", 5, TimeSpan.FromSeconds(30), None));

        Assert.True(await Runs(db).ResumeAsync(identity, runId, None));

        Assert.Equal(5, (await queue.ClaimAsync("w1", 5, TimeSpan.FromSeconds(30), None)).Count);
    }

    [Fact]
    public async Task A_rule_fires_once_so_a_resumed_run_is_not_paused_again_by_the_same_condition()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var runId = await CreateRunAsync(db, owner);
        var identity = DbIdentity.User(owner);
        await Alerts(db).UpdateRulesAsync(identity, runId, new RunAlertRules { MinTasks = 2 }, None);
        await CountAsync(db, runId, succeeded: 0, failed: 2);
        await Runs(db).ResumeAsync(identity, runId, None);

        await CountAsync(db, runId, succeeded: 0, failed: 1);

        Assert.Equal(RunStatus.Running, await StatusAsync(db, runId));
    }

    [Fact]
    public async Task An_api_error_share_above_the_threshold_alerts_without_pausing_by_default()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var runId = await CreateRunAsync(db, owner);
        var identity = DbIdentity.User(owner);
        await Alerts(db).UpdateRulesAsync(identity, runId, new RunAlertRules { MinTasks = 4, FailureRateAbove = null }, None);
        await InsertFailureAsync(db, owner, runId, "api_error", null);
        await InsertFailureAsync(db, owner, runId, "api_error", null);

        await CountAsync(db, runId, succeeded: 2, failed: 2);

        var alert = Assert.Single(await Alerts(db).ListForRunAsync(identity, runId, None));
        Assert.Equal((RunAlertKind.ApiErrorShare, false, RunStatus.Running), (alert.Kind, alert.PausedRun, await StatusAsync(db, runId)));
    }

    [Fact]
    public async Task Only_a_truncation_pattern_never_seen_in_the_owners_other_runs_raises_an_alert()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var earlier = await CreateRunAsync(db, owner);
        var later = await CreateRunAsync(db, owner);
        await InsertFailureAsync(db, owner, earlier, "truncation", "mid_word");
        var identity = DbIdentity.User(owner);

        await InsertFailureAsync(db, owner, later, "truncation", "mid_word");
        await InsertFailureAsync(db, owner, later, "truncation", "lone_backslash");

        var alert = Assert.Single(await Alerts(db).ListForRunAsync(identity, later, None));
        Assert.Equal((RunAlertKind.NewPattern, "lone_backslash"), (alert.Kind, alert.Pattern));
    }

    [Fact]
    public async Task A_member_cannot_see_or_act_on_another_members_alerts_and_runs()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var other = DbIdentity.User((await db.CreateUserAsync()).Id);
        var runId = await CreateRunAsync(db, owner);
        await Alerts(db).UpdateRulesAsync(DbIdentity.User(owner), runId, new RunAlertRules { MinTasks = 1 }, None);
        await CountAsync(db, runId, succeeded: 0, failed: 1);
        var alerts = Alerts(db);
        var runs = Runs(db);

        Assert.Empty(await alerts.ListActiveAsync(other, 10, None));
        Assert.Empty(await alerts.ListForRunAsync(other, runId, None));
        Assert.Null(await alerts.GetRulesAsync(other, runId, None));
        Assert.False(await alerts.UpdateRulesAsync(other, runId, new RunAlertRules(), None));
        Assert.False(await runs.ResumeAsync(other, runId, None));
        Assert.False(await runs.CancelAsync(other, runId, None));
        Assert.Equal(RunStatus.Paused, await StatusAsync(db, runId));
    }

    [Fact]
    public async Task A_failing_webhook_is_retried_and_each_attempt_recorded_then_delivered_in_slack_format()
    {
        await using var hook = await ScriptedClaudeServer.StartAsync(
            new ScriptedReply(500, Encoding.UTF8.GetBytes("boom"), "text/plain"),
            new ScriptedReply(200, Encoding.UTF8.GetBytes("ok"), "text/plain"));
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var runId = await CreateRunAsync(db, owner);
        var identity = DbIdentity.User(owner);
        var store = Alerts(db);
        await store.UpdateRulesAsync(identity, runId, new RunAlertRules
        {
            MinTasks = 1, WebhookUrl = new Uri(hook.BaseUrl, "/hooks/brun").ToString(), WebhookFormat = WebhookFormat.Slack,
        }, None);
        await CountAsync(db, runId, succeeded: 0, failed: 1);
        var alertSettings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Alerts:SenderEnabled"] = "false",
            ["Alerts:BaseBackoff"] = "00:00:00",
        }).Build();
        var services = db.BuildServices(configureServices: s => s.AddRunAlerts(alertSettings));
        var sender = services.GetRequiredService<AlertWebhookSender>();

        Assert.Equal(1, await sender.SendDueAsync(None));
        var afterFirst = Assert.Single(await store.ListForRunAsync(identity, runId, None));
        Assert.Equal(("pending", 1, "HTTP 500"), (afterFirst.WebhookStatus, afterFirst.WebhookAttempts, afterFirst.WebhookLastError));

        Assert.Equal(1, await sender.SendDueAsync(None));
        var delivered = Assert.Single(await store.ListForRunAsync(identity, runId, None));
        Assert.Equal(("delivered", 2), (delivered.WebhookStatus, delivered.WebhookAttempts));
        var body = JsonNode.Parse(hook.Requests[^1].Body)!;
        Assert.Contains("is paused", body["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, await sender.SendDueAsync(None));
    }
}
