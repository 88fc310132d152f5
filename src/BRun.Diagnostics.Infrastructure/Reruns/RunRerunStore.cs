using System.Globalization;
using System.Text.Json;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Reruns;

/// <summary>
/// Bulk re-run: generates failed generations again as a new run of the current user, with changed parameters. The new
/// run records where it came from (<c>source_run_id</c>, <c>rerun_of</c>) and each new task the task and failure it
/// re-generates (<c>rerun_of_task</c>, <c>rerun_of_failure</c>), so "did raising max_tokens fix these?" can be answered
/// row by row. Everything happens as the user: row-level security decides which failures and tasks are visible, so
/// another member's rows are simply not there. The new run's tasks go through the normal queue and worker.
/// </summary>
public sealed class RunRerunStore(
    IUserScopedConnectionFactory connections,
    PriceTable prices,
    TimeProvider timeProvider,
    ILogger<RunRerunStore> logger)
{
    /// <summary>What <see cref="CreateAsync"/> would create, without creating it (the confirmation and <c>--dry-run</c>).</summary>
    /// <exception cref="RerunRefusedException">A parameter cannot be used (unknown template or version, too many rows).</exception>
    public async Task<RerunPlan> PlanAsync(Guid userId, RerunRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await connections.OpenAsync(DbIdentity.User(userId), ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var work = await PrepareAsync(connection, transaction, request, ct).ConfigureAwait(false);
        return work.Plan;
    }

    /// <summary>Creates the re-run in one transaction and wakes the workers. Returns the new run and its plan.</summary>
    /// <exception cref="RerunRefusedException">A parameter cannot be used (unknown template or version, too many rows).</exception>
    /// <exception cref="RerunNothingToDoException">No failed generation the user can see matches, or none can be re-run.</exception>
    public async Task<RerunResult> CreateAsync(Guid userId, RerunRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var connection = await connections.OpenAsync(DbIdentity.User(userId), ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var work = await PrepareAsync(connection, transaction, request, ct).ConfigureAwait(false);
        var plan = work.Plan;
        if (plan.IsEmpty)
        {
            throw new RerunNothingToDoException(plan.Skipped == 0
                ? "No failed generation that you can see matches."
                : string.Create(CultureInfo.InvariantCulture, $"None of the {plan.Skipped:N0} matching failed generations can be generated again (no generation task{(work.Template is null ? string.Empty : ", or no persona, arc and topic to render the new template with")})."));
        }

        var now = timeProvider.GetUtcNow();
        var main = work.MainSource;
        var runId = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition("""
            INSERT INTO generation_runs (created_by, created_at, model, max_tokens, temperature, template_id, template_version_id,
                                         total, mode, source_run_id, rerun_of)
            VALUES (@userId, @now, @model, @maxTokens, @temperature, @templateId, @versionId, @total, @mode, @sourceRunId, @rerunOf::jsonb)
            RETURNING id
            """,
            new
            {
                userId, now, model = plan.Model, maxTokens = plan.MaxTokens, temperature = plan.Temperature,
                templateId = work.Template?.TemplateId ?? main.TemplateId, versionId = work.Template?.VersionId ?? main.TemplateVersionId,
                total = plan.Count, mode = plan.Mode, sourceRunId = plan.SourceRunId, rerunOf = RerunOfJson(request, plan, work),
            },
            transaction, cancellationToken: ct)).ConfigureAwait(false);

        // The persona, arc and topic texts the source runs froze travel with their tasks, so the new run's design
        // breakdown and report read the same texts.
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO run_scaffolding (run_id, kind, item_id, key, name, description, weight)
            SELECT DISTINCT ON (kind, item_id) @runId, kind, item_id, key, name, description, weight
            FROM run_scaffolding WHERE run_id = ANY(@sourceRuns)
            ORDER BY kind, item_id, run_id
            """, new { runId, sourceRuns = work.SourceRunIds }, transaction, cancellationToken: ct)).ConfigureAwait(false);

        var rows = work.Rows;
        // COPY FROM is refused on tables with row-level security, so the tasks go in as one INSERT over arrays. A null
        // prompt keeps the source task's prompt exactly as it was sent.
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO generation_tasks (run_id, seq, persona_id, emotional_arc_id, training_topic_id, template_id, template_version_id,
                                          prompt, created_at, updated_at, rerun_of_task, rerun_of_failure)
            SELECT @runId, s.seq, t.persona_id, t.emotional_arc_id, t.training_topic_id,
                   COALESCE(@templateId, t.template_id), CASE WHEN @templateId::uuid IS NULL THEN t.template_version_id ELSE @versionId END,
                   COALESCE(s.prompt, t.prompt), @now, @now, t.id, s.failure_id
            FROM unnest(@seqs, @taskIds, @failureIds, @prompts) AS s(seq, task_id, failure_id, prompt)
            JOIN generation_tasks t ON t.id = s.task_id
            """,
            new
            {
                runId, now, templateId = work.Template?.TemplateId, versionId = work.Template?.VersionId,
                seqs = Enumerable.Range(0, rows.Count).ToArray(),
                taskIds = rows.Select(r => r.TaskId!.Value).ToArray(),
                failureIds = rows.Select(r => r.FailureId).ToArray(),
                prompts = work.Prompts,
            },
            transaction, cancellationToken: ct)).ConfigureAwait(false);

        await GenerationQueue.NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        await RunEvents.PublishAsync(connection, transaction, RunEvent.RunCreated(runId, plan.Count), ct).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        logger.RerunCreated(runId, plan.Count, plan.Skipped, plan.SourceRunId, plan.Model, plan.MaxTokens);
        return new RerunResult(runId, plan);
    }

    /// <summary>The main source run of a re-run (null when <paramref name="runId"/> is not a visible re-run).</summary>
    public async Task<Guid?> GetSourceRunAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            "SELECT source_run_id FROM generation_runs WHERE id = @runId", new { runId }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>The most rows one re-run takes: the same limit as a new run's count.</summary>
    public const int MaxRows = RunLimits.MaxCount;

    private async Task<Work> PrepareAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, RerunRequest request, CancellationToken ct)
    {
        if (request.Problems() is [var problem, ..])
        {
            throw new RerunRefusedException(problem.Field, problem.Message);
        }

        var filter = await FailedGenerationReader.ResolveTextSearchAsync(connection, transaction, request.Filter, ct).ConfigureAwait(false);
        var (where, parameters) = FailedGenerationReader.BuildWhere(filter);
        if (request.FailureIds is { } ids)
        {
            where = FailedGenerationReader.AndWhere(where, "id = ANY(@failureIds)");
            parameters.Add("failureIds", ids.Distinct().ToArray());
        }

        parameters.Add("limit", MaxRows + 1);
        // The filter's columns are failed_generations' alone, so it is applied in the subquery where no other table
        // can make a name ambiguous. A task that is not visible (or an imported row, with none) comes back as nulls.
        var sources = (await connection.QueryAsync<SourceRow>(new CommandDefinition(
            $"""
            SELECT f.id AS FailureId, t.id AS TaskId, t.run_id AS RunId, t.seq AS Seq,
                   t.persona_id AS PersonaId, t.emotional_arc_id AS EmotionalArcId, t.training_topic_id AS TrainingTopicId,
                   f.input_tokens + COALESCE(f.cache_creation_input_tokens, 0) + COALESCE(f.cache_read_input_tokens, 0) AS InputTokens,
                   f.prompt_length AS PromptLength
            FROM (SELECT id, task_id, created_at, input_tokens, cache_creation_input_tokens, cache_read_input_tokens, prompt_length
                  FROM failed_generations {where}) f
            LEFT JOIN generation_tasks t ON t.id = f.task_id
            ORDER BY f.created_at, f.id
            LIMIT @limit
            """,
            parameters, transaction, cancellationToken: ct)).ConfigureAwait(false)).AsList();
        if (sources.Count > MaxRows)
        {
            throw new RerunRefusedException(request.FailureIds is null ? "filter" : "ids", string.Create(CultureInfo.InvariantCulture,
                $"More than {MaxRows:N0} failed generations match; one re-run takes at most {MaxRows:N0}. Narrow the filter (for example by run_id or from/to)."));
        }

        TemplateVersionUse? template = null;
        if (request.TemplateName is { } templateName)
        {
            try
            {
                template = await RunDesignSnapshot.LoadTemplateAsync(connection, transaction, templateName, request.TemplateVersion, ct).ConfigureAwait(false);
            }
            catch (ArgumentException ex)
            {
                throw new RerunRefusedException(request.TemplateVersion is null ? "template" : "template_version", ex.Message);
            }
        }

        var usable = sources.Where(s => s.TaskId is not null).ToList();
        string?[] prompts;
        if (template is null)
        {
            prompts = new string?[usable.Count];
        }
        else
        {
            var scaffolding = await LoadScaffoldingAsync(connection, transaction, [.. usable.Select(s => s.RunId!.Value).Distinct()], ct).ConfigureAwait(false);
            var rendered = new List<(SourceRow Row, string Prompt)>(usable.Count);
            foreach (var row in usable)
            {
                if (Scaffold(scaffolding, row) is { } items)
                {
                    // The variation stays the source task's, so the re-rendered prompt asks for the same conversation.
                    rendered.Add((row, PromptTemplate.Render(template.Body, PromptTemplate.Values(items, row.Seq + 1))));
                }
            }

            usable = [.. rendered.Select(r => r.Row)];
            prompts = [.. rendered.Select(r => r.Prompt)];
        }

        var sourceRuns = usable.GroupBy(s => s.RunId!.Value).Select(g => (RunId: g.Key, Tasks: g.Count())).OrderByDescending(g => g.Tasks).ToList();
        var main = sourceRuns.Count == 0
            ? null
            : await connection.QuerySingleAsync<MainSourceRun>(new CommandDefinition("""
                SELECT id AS Id, model AS Model, max_tokens AS MaxTokens, temperature AS Temperature,
                       template_id AS TemplateId, template_version_id AS TemplateVersionId, mode AS Mode
                FROM generation_runs WHERE id = @id
                """, new { id = sourceRuns[0].RunId }, transaction, cancellationToken: ct)).ConfigureAwait(false);

        var model = request.Model ?? main?.Model ?? string.Empty;
        var maxTokens = request.MaxTokens ?? main?.MaxTokens ?? 0;
        var temperature = request.Temperature ?? main?.Temperature;
        var mode = request.Mode ?? main?.Mode ?? RunMode.Online;
        // Rows without usage (an API error before any answer) are estimated at about four characters per token.
        var inputTokens = usable.Sum(s => (long)(s.InputTokens ?? (s.PromptLength + 3) / 4));
        var guessed = usable.Count(s => s.InputTokens is null);
        var cost = usable.Count == 0 ? 0m : prices.UpperBound(model, inputTokens, (long)maxTokens * usable.Count, batch: mode == RunMode.Batch);
        var plan = new RerunPlan(
            usable.Count, sources.Count - usable.Count, main?.Id, sourceRuns.Count, model, maxTokens, temperature,
            template?.TemplateName, template?.Version, mode, inputTokens, guessed, cost);
        return new Work(plan, usable, prompts, template, main ?? MainSourceRun.None, [.. sourceRuns.Select(s => s.RunId)],
            [.. sourceRuns.Select(s => new SourceRunCount(s.RunId, s.Tasks))]);
    }

    private static async Task<Dictionary<(Guid RunId, string Kind, Guid ItemId), ScaffoldingItem>> LoadScaffoldingAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid[] runIds, CancellationToken ct)
    {
        var rows = await connection.QueryAsync<(Guid RunId, string Kind, Guid ItemId, string Key, string Name, string Description)>(new CommandDefinition(
            "SELECT run_id, kind, item_id, key, name, description FROM run_scaffolding WHERE run_id = ANY(@runIds)",
            new { runIds }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        return rows.ToDictionary(r => (r.RunId, r.Kind, r.ItemId), r => new ScaffoldingItem(r.ItemId, r.Key, r.Name, r.Description));
    }

    private static Scaffolding? Scaffold(Dictionary<(Guid RunId, string Kind, Guid ItemId), ScaffoldingItem> items, SourceRow row)
    {
        var run = row.RunId!.Value;
        return row.PersonaId is { } p && row.EmotionalArcId is { } a && row.TrainingTopicId is { } t
            && items.TryGetValue((run, "persona", p), out var persona)
            && items.TryGetValue((run, "emotional_arc", a), out var arc)
            && items.TryGetValue((run, "training_topic", t), out var topic)
            ? new Scaffolding(persona, arc, topic)
            : null;
    }

    private static string RerunOfJson(RerunRequest request, RerunPlan plan, Work work) => JsonSerializer.Serialize(new
    {
        selection = request.FailureIds is null ? "filter" : "ids",
        filter = request.FailureIds is null ? FilterJson(request.Filter) : null,
        failure_ids = request.FailureIds?.Count,
        changed = new
        {
            model = request.Model,
            max_tokens = request.MaxTokens,
            temperature = request.Temperature,
            template = request.TemplateName,
            template_version = plan.TemplateVersion,
            mode = request.Mode,
        },
        skipped = plan.Skipped,
        estimated_cost_usd = plan.EstimatedCostUsd,
        source_runs = work.SourceRuns.Select(s => new { run_id = s.RunId, tasks = s.Tasks }),
    });

    // Classes with setters, not positional records: a row whose task is not visible has nulls where a record's
    // constructor would need values.
    private sealed class SourceRow
    {
        public Guid FailureId { get; init; }
        public Guid? TaskId { get; init; }
        public Guid? RunId { get; init; }
        public int Seq { get; init; }
        public Guid? PersonaId { get; init; }
        public Guid? EmotionalArcId { get; init; }
        public Guid? TrainingTopicId { get; init; }
        public int? InputTokens { get; init; }
        public int PromptLength { get; init; }
    }

    private sealed class MainSourceRun
    {
        public static MainSourceRun None { get; } = new();

        public Guid Id { get; init; }
        public string Model { get; init; } = string.Empty;
        public int MaxTokens { get; init; }
        public decimal? Temperature { get; init; }
        public Guid TemplateId { get; init; }
        public Guid? TemplateVersionId { get; init; }
        public string Mode { get; init; } = RunMode.Online;
    }

    private static Dictionary<string, object?> FilterJson(FailedGenerationFilter filter)
    {
        var values = new Dictionary<string, object?>
        {
            ["failure_type"] = filter.FailureType?.ToWire(),
            ["stop_reason"] = filter.StopReason,
            ["pattern"] = filter.TruncationPattern,
            ["model"] = filter.Model,
            ["run_id"] = filter.RunId,
            ["from"] = filter.From,
            ["to"] = filter.To,
            ["q"] = filter.Query,
        };
        return values.Where(v => v.Value is not null).ToDictionary();
    }

    private sealed record SourceRunCount(Guid RunId, int Tasks);

    private sealed record Work(
        RerunPlan Plan, IReadOnlyList<SourceRow> Rows, string?[] Prompts, TemplateVersionUse? Template, MainSourceRun MainSource,
        Guid[] SourceRunIds, IReadOnlyList<SourceRunCount> SourceRuns);
}
