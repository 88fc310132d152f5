using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Reruns;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;

namespace BRun.Diagnostics.Infrastructure.Tests.Reruns;

/// <summary>
/// A bulk re-run (migration 0072) creates a new run of exactly the selected or filtered failures' prompts, with the
/// changed parameters, recording its source; row-level security keeps another member's failures out of it.
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RunRerunStoreTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static RunStore Runs(TestDatabase db) => new(db.Get<IUserScopedConnectionFactory>(), db.Time);

    private static RunRerunStore Reruns(TestDatabase db) =>
        new(db.Get<IUserScopedConnectionFactory>(), PriceTable.CreateDefault(), db.Time, NullLogger<RunRerunStore>.Instance);

    private static Task<Guid> CreateRunAsync(TestDatabase db, Guid owner, int count) =>
        Runs(db).CreateAsync(owner, new CreateRunRequest(count, "default", "claude-sonnet-4-5", 1024, 0.7m), None);

    private static Task<Guid[]> FailTasksAsync(TestDatabase db, Guid owner, Guid runId, int[] seqs, string failureType = "truncation", int? inputTokens = 1000) =>
        FailedTaskSeed.FailTasksAsync(db.DataSource, owner, runId, seqs, failureType, inputTokens);

    private sealed record TaskRow(Guid RunId, int Seq, string Prompt, Guid? RerunOfTask, Guid? RerunOfFailure, Guid? TemplateVersionId);

    private static async Task<List<TaskRow>> TasksAsync(TestDatabase db, Guid runId)
    {
        await using var c = await db.DataSource.OpenConnectionAsync();
        return [.. await c.QueryAsync<TaskRow>(
            "SELECT run_id AS RunId, seq AS Seq, prompt AS Prompt, rerun_of_task AS RerunOfTask, rerun_of_failure AS RerunOfFailure, template_version_id AS TemplateVersionId FROM generation_tasks WHERE run_id = @runId ORDER BY seq",
            new { runId })];
    }

    [Fact]
    public async Task A_rerun_of_a_filter_has_exactly_the_matching_prompts_with_the_changed_parameters_and_records_its_source()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 6);
        var truncated = await FailTasksAsync(db, owner, source, [1, 3, 4]);
        await FailTasksAsync(db, owner, source, [5], "api_error");
        var request = new RerunRequest
        {
            Filter = new FailedGenerationFilter { RunId = source, FailureType = FailureType.Truncation },
            MaxTokens = 8192, Model = "claude-haiku-4-5", Temperature = 0.3m,
        };

        var result = await Reruns(db).CreateAsync(owner, request, None);

        var run = await Runs(db).GetAsync(DbIdentity.User(owner), result.RunId, None);
        Assert.NotNull(run);
        Assert.Equal(("claude-haiku-4-5", 8192, 0.3m, 3), (run.Model, run.MaxTokens, run.Temperature, run.Total));
        Assert.Equal(source, await Reruns(db).GetSourceRunAsync(DbIdentity.User(owner), result.RunId, None));
        var sourceTasks = (await TasksAsync(db, source)).Where(t => t.Seq is 1 or 3 or 4).ToList();
        var newTasks = await TasksAsync(db, result.RunId);
        Assert.Equal(sourceTasks.Select(t => t.Prompt), newTasks.Select(t => t.Prompt));
        Assert.Equal(truncated.Order(), newTasks.Select(t => t.RerunOfFailure!.Value).Order());
    }

    [Fact]
    public async Task The_new_run_is_claimed_by_the_normal_queue_with_its_new_max_tokens()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 2);
        await using (var c = await db.DataSource.OpenConnectionAsync())
        {
            // The source's own pending tasks are out of the way, so the claim can only return the re-run's.
            await c.ExecuteAsync("UPDATE generation_tasks SET state = 'succeeded' WHERE run_id = @source", new { source });
        }

        await FailTasksAsync(db, owner, source, [0, 1]);
        var result = await Reruns(db).CreateAsync(owner, new RerunRequest { Filter = new() { RunId = source }, MaxTokens = 8192 }, None);

        var claimed = await new GenerationQueue(db.Get<IUserScopedConnectionFactory>()).ClaimAsync("w1", 10, TimeSpan.FromSeconds(30), None);

        Assert.Equal([(result.RunId, 8192), (result.RunId, 8192)], claimed.Select(t => (t.RunId, t.MaxTokens)));
    }

    [Fact]
    public async Task A_rerun_of_selected_ids_takes_only_those_rows()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 5);
        var failures = await FailTasksAsync(db, owner, source, [0, 1, 2, 3]);

        var result = await Reruns(db).CreateAsync(owner, new RerunRequest { FailureIds = [failures[0], failures[2]] }, None);

        var rerunOf = (await TasksAsync(db, result.RunId)).Select(t => t.RerunOfFailure!.Value).Order();
        Assert.Equal(new[] { failures[0], failures[2] }.Order(), rerunOf);
    }

    [Fact]
    public async Task The_plan_counts_rows_and_estimates_the_cost_from_input_tokens_and_the_new_max_tokens()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 4);
        await FailTasksAsync(db, owner, source, [0, 1, 2], inputTokens: 1000);

        var plan = await Reruns(db).PlanAsync(owner, new RerunRequest { Filter = new() { RunId = source }, MaxTokens = 8192 }, None);

        // claude-sonnet-4-5: $3 per million input, $15 per million output; 3 x (1,000 in + 8,192 out).
        var expected = (3 * 1000 * 3m + 3 * 8192 * 15m) / 1_000_000m;
        Assert.Equal((3, 0, "claude-sonnet-4-5", 3000L, expected), (plan.Count, plan.Skipped, plan.Model, plan.InputTokens, plan.EstimatedCostUsd));
    }

    [Fact]
    public async Task A_batch_mode_rerun_is_estimated_at_half_price_and_created_in_batch_mode()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 2);
        await FailTasksAsync(db, owner, source, [0, 1], inputTokens: 1000);
        var request = new RerunRequest { Filter = new() { RunId = source }, Mode = RunMode.Batch };

        var result = await Reruns(db).CreateAsync(owner, request, None);

        // claude-sonnet-4-5 at half price: 2 x (1,000 in x $3 + 1,024 out x $15) / 1M / 2.
        var expected = (2 * 1000 * 3m + 2 * 1024 * 15m) / 1_000_000m / 2;
        Assert.Equal((RunMode.Batch, expected), (result.Plan.Mode, result.Plan.EstimatedCostUsd));
        Assert.Equal(RunMode.Batch, (await Runs(db).GetAsync(DbIdentity.User(owner), result.RunId, None))!.Mode);
    }

    [Fact]
    public async Task A_dry_run_plan_creates_nothing()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 2);
        await FailTasksAsync(db, owner, source, [0]);

        await Reruns(db).PlanAsync(owner, new RerunRequest { Filter = new() { RunId = source } }, None);

        await using var c = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(1, await c.ExecuteScalarAsync<int>("SELECT count(*) FROM generation_runs"));
    }

    [Fact]
    public async Task A_new_template_renders_each_prompt_again_from_the_source_tasks_frozen_scaffolding()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 3);
        await FailTasksAsync(db, owner, source, [2]);
        await using (var c = await db.DataSource.OpenConnectionAsync())
        {
            await c.ExecuteAsync("UPDATE prompt_templates SET body = 'Again for {{persona}}, variation {{variation}}.' WHERE name = 'default' AND owner_id IS NULL");
        }

        var result = await Reruns(db).CreateAsync(owner, new RerunRequest { Filter = new() { RunId = source }, TemplateName = "default" }, None);

        var task = Assert.Single(await TasksAsync(db, result.RunId));
        Assert.Matches(@"^Again for [a-z0-9_\-]+, variation 3\.$", task.Prompt);
        Assert.Equal(2, result.Plan.TemplateVersion);
    }

    [Fact]
    public async Task An_unknown_template_version_is_refused_naming_template_version()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 1);
        await FailTasksAsync(db, owner, source, [0]);

        var refused = await Assert.ThrowsAsync<RerunRefusedException>(() =>
            Reruns(db).PlanAsync(owner, new RerunRequest { TemplateName = "default", TemplateVersion = 99 }, None));

        Assert.Equal("template_version", refused.Field);
    }

    [Fact]
    public async Task A_failure_without_a_generation_task_is_skipped_and_counted()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 2);
        await FailTasksAsync(db, owner, source, [0]);
        await using (var c = await db.DataSource.OpenConnectionAsync())
        {
            await c.ExecuteAsync("""
                INSERT INTO failed_generations (id, prompt, prompt_length, model, max_tokens, raw_response, raw_body, http_status, streamed,
                    failure_type, detection_confidence, created_by, source)
                VALUES (gen_random_uuid(), 'imported', 8, 'claude-sonnet-4-5', 1024, '{}'::jsonb, '{}', 200, false, 'truncation', 'high', @owner, 'import')
                """, new { owner });
        }

        var plan = await Reruns(db).PlanAsync(owner, new RerunRequest(), None);

        Assert.Equal((1, 1), (plan.Count, plan.Skipped));
    }

    [Fact]
    public async Task A_member_cannot_rerun_another_members_failures_by_filter_or_by_id()
    {
        await using var db = await env.CreateDatabaseAsync();
        var owner = (await db.CreateUserAsync()).Id;
        var other = (await db.CreateUserAsync()).Id;
        var source = await CreateRunAsync(db, owner, 2);
        var failures = await FailTasksAsync(db, owner, source, [0, 1]);

        await Assert.ThrowsAsync<RerunNothingToDoException>(() =>
            Reruns(db).CreateAsync(other, new RerunRequest { Filter = new() { RunId = source } }, None));
        await Assert.ThrowsAsync<RerunNothingToDoException>(() =>
            Reruns(db).CreateAsync(other, new RerunRequest { FailureIds = failures }, None));

        await using var c = await db.DataSource.OpenConnectionAsync();
        Assert.Equal(1, await c.ExecuteScalarAsync<int>("SELECT count(*) FROM generation_runs"));
    }
}
