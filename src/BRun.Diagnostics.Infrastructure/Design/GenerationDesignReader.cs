using System.Text.Json;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Design;

/// <summary>The dimensions a run's outcomes are broken down by.</summary>
public static class BreakdownDimension
{
    public const string Persona = "persona";
    public const string EmotionalArc = "emotional_arc";
    public const string TrainingTopic = "training_topic";
    public const string TemplateVersion = "template_version";

    public static IReadOnlyList<string> All { get; } = [Persona, EmotionalArc, TrainingTopic, TemplateVersion];
}

/// <summary>
/// Task outcomes for one value of one dimension (one persona, one template version...). The failure rate is failed
/// over finished (succeeded + failed); cancelled and pending tasks are not in it.
/// </summary>
public sealed record BreakdownRow(string Dimension, Guid? ItemId, string Key, string Name, int Total, int Succeeded, int Failed, int Pending)
{
    public double? FailureRate => Succeeded + Failed == 0 ? null : (double)Failed / (Succeeded + Failed);
}

/// <summary>One persona, arc or topic text as a run froze it.</summary>
public sealed record RunScaffoldingRow(string Kind, Guid ItemId, string Key, string Name, string Description, decimal Weight);

/// <summary>What produced a run: its template version, the current version of that template, the matrix and the frozen scaffolding.</summary>
public sealed record RunDesign(
    TemplateVersionRecord? Version,
    TemplateRecord? Current,
    RunMatrixSpec? Matrix,
    IReadOnlyList<RunScaffoldingRow> Scaffolding)
{
    /// <summary>The line diff from the version the run used to the template's current body; empty when either is unknown.</summary>
    public IReadOnlyList<DiffLine> DiffToCurrent => Version is null || Current is null ? [] : LineDiff.Compute(Version.Body, Current.Body);

    public bool IsCurrent => Version is not null && Current is not null && Version.Version == Current.CurrentVersion;
}

/// <summary>The template version a task was generated from, and where its template is now.</summary>
public sealed record TaskDesign(Guid TaskId, TemplateVersionRecord Version, TemplateRecord? Current, string? PersonaKey, string? EmotionalArcKey, string? TrainingTopicKey)
{
    public IReadOnlyList<DiffLine> DiffToCurrent => Current is null ? [] : LineDiff.Compute(Version.Body, Current.Body);

    public bool IsCurrent => Current is not null && Version.Version == Current.CurrentVersion;
}

/// <summary>
/// Read side of generation design for the run page, the failure report and insights: what produced a run or task, and
/// failure rates by persona, arc, topic and template version. Row-level security applies to every query.
/// </summary>
public sealed class GenerationDesignReader(IUserScopedConnectionFactory connections)
{
    // One scan of the tasks, grouped once by every dimension and state together (a few thousand combinations; a plain
    // GROUP BY splits across parallel workers, GROUPING SETS over a whole table cannot), then four ways from those.
    // A user's combinations come from brun_task_outcome_combinations (migration 0111: under the tasks' read policy the
    // scan could not use parallel workers); maintenance reads the tasks directly. Labels come from the runs' frozen
    // scaffolding (what the tasks used), and for template versions from the version and its template's name.
    private const string UserCombinationsSql = """
        SELECT * FROM brun_task_outcome_combinations(@runId::uuid, @from::timestamptz, @to::timestamptz, @model::text)
        """;

    private const string SystemCombinationsSql = """
        SELECT t.persona_id, t.emotional_arc_id, t.training_topic_id, t.template_version_id, t.state, count(*) AS n
        FROM generation_tasks t
        JOIN generation_runs r ON r.id = t.run_id
        WHERE (@runId::uuid IS NULL OR t.run_id = @runId)
          AND (@from::timestamptz IS NULL OR r.created_at >= @from)
          AND (@to::timestamptz IS NULL OR r.created_at < @to)
          AND (@model::text IS NULL OR r.model = @model)
        GROUP BY 1, 2, 3, 4, 5
        """;

    private static string BreakdownSql(string combinations) => $"""
        WITH c AS ({combinations}),
        g AS (
            SELECT CASE WHEN GROUPING(c.persona_id) = 0 THEN 'persona'
                        WHEN GROUPING(c.emotional_arc_id) = 0 THEN 'emotional_arc'
                        WHEN GROUPING(c.training_topic_id) = 0 THEN 'training_topic'
                        ELSE 'template_version' END AS dimension,
                   CASE WHEN GROUPING(c.persona_id) = 0 THEN c.persona_id
                        WHEN GROUPING(c.emotional_arc_id) = 0 THEN c.emotional_arc_id
                        WHEN GROUPING(c.training_topic_id) = 0 THEN c.training_topic_id
                        ELSE c.template_version_id END AS item_id,
                   sum(c.n)::int AS total,
                   COALESCE(sum(c.n) FILTER (WHERE c.state = 'succeeded'), 0)::int AS succeeded,
                   COALESCE(sum(c.n) FILTER (WHERE c.state = 'failed'), 0)::int AS failed,
                   COALESCE(sum(c.n) FILTER (WHERE c.state IN ('available', 'running')), 0)::int AS pending
            FROM c
            GROUP BY GROUPING SETS ((c.persona_id), (c.emotional_arc_id), (c.training_topic_id), (c.template_version_id))
        )
        SELECT g.dimension AS Dimension, g.item_id AS ItemId,
               COALESCE(s.key, CASE WHEN v.id IS NOT NULL THEN COALESCE(p.name, '(not visible)') || ' v' || v.version END, '(none)') AS Key,
               COALESCE(s.name, CASE WHEN v.id IS NOT NULL THEN COALESCE(p.name, '(not visible)') || ' version ' || v.version END, '(none)') AS Name,
               g.total AS Total, g.succeeded AS Succeeded, g.failed AS Failed, g.pending AS Pending
        FROM g
        LEFT JOIN LATERAL (
            SELECT rs.key, rs.name FROM run_scaffolding rs
            WHERE g.dimension <> 'template_version' AND rs.kind = g.dimension AND rs.item_id = g.item_id
              AND (@runId::uuid IS NULL OR rs.run_id = @runId)
            LIMIT 1
        ) s ON true
        LEFT JOIN prompt_template_versions v ON g.dimension = 'template_version' AND v.id = g.item_id
        LEFT JOIN prompt_templates p ON p.id = v.template_id
        ORDER BY g.dimension, g.failed DESC, Key
        """;

    /// <summary>Failure rates of one run by persona, arc, topic and template version.</summary>
    public Task<IReadOnlyList<BreakdownRow>> GetRunBreakdownAsync(DbIdentity identity, Guid runId, CancellationToken ct) =>
        GetBreakdownAsync(identity, runId, null, null, null, ct);

    /// <summary>Failure rates over every run the identity may see, optionally limited by run creation time and model.</summary>
    public async Task<IReadOnlyList<BreakdownRow>> GetBreakdownAsync(
        DbIdentity identity, Guid? runId, DateTimeOffset? from, DateTimeOffset? to, string? model, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<BreakdownRow>(new CommandDefinition(
            BreakdownSql(identity.IsSystem ? SystemCombinationsSql : UserCombinationsSql), new { runId, from, to, model },
            cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>What produced the run, or null when the run is not visible.</summary>
    public async Task<RunDesign?> GetRunDesignAsync(DbIdentity identity, Guid runId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var run = await connection.QuerySingleOrDefaultAsync<(Guid? VersionId, Guid TemplateId, string? Matrix)>(new CommandDefinition(
            "SELECT template_version_id, template_id, matrix::text FROM generation_runs WHERE id = @runId",
            new { runId }, cancellationToken: ct)).ConfigureAwait(false);
        if (run.TemplateId == Guid.Empty)
        {
            return null;
        }

        var version = run.VersionId is { } versionId
            ? await connection.QuerySingleOrDefaultAsync<TemplateVersionRecord>(new CommandDefinition(
                DesignStore.VersionSelect + " WHERE v.id = @versionId",
                new { versionId }, cancellationToken: ct)).ConfigureAwait(false)
            : null;
        var current = await connection.QuerySingleOrDefaultAsync<TemplateRecord>(new CommandDefinition(
            DesignStore.TemplateSelect + " WHERE p.id = @templateId",
            new { templateId = run.TemplateId }, cancellationToken: ct)).ConfigureAwait(false);
        var scaffolding = await connection.QueryAsync<RunScaffoldingRow>(new CommandDefinition(
            """
            SELECT kind AS Kind, item_id AS ItemId, key AS Key, name AS Name, description AS Description, weight AS Weight
            FROM run_scaffolding WHERE run_id = @runId ORDER BY kind, key
            """,
            new { runId }, cancellationToken: ct)).ConfigureAwait(false);
        var matrix = run.Matrix is null ? null : JsonSerializer.Deserialize<RunMatrixSpec>(run.Matrix);
        return new RunDesign(version, current, matrix, scaffolding.AsList());
    }

    /// <summary>The version a task was generated from and its template now; null when the task is not visible or predates versions.</summary>
    public async Task<TaskDesign?> GetTaskDesignAsync(DbIdentity identity, Guid taskId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var task = await connection.QuerySingleOrDefaultAsync<(Guid? VersionId, Guid TemplateId, string? Persona, string? Arc, string? Topic)>(new CommandDefinition(
            """
            SELECT t.template_version_id, t.template_id,
                   (SELECT key FROM run_scaffolding s WHERE s.run_id = t.run_id AND s.kind = 'persona' AND s.item_id = t.persona_id),
                   (SELECT key FROM run_scaffolding s WHERE s.run_id = t.run_id AND s.kind = 'emotional_arc' AND s.item_id = t.emotional_arc_id),
                   (SELECT key FROM run_scaffolding s WHERE s.run_id = t.run_id AND s.kind = 'training_topic' AND s.item_id = t.training_topic_id)
            FROM generation_tasks t WHERE t.id = @taskId
            """,
            new { taskId }, cancellationToken: ct)).ConfigureAwait(false);
        if (task.VersionId is not { } versionId)
        {
            return null;
        }

        var version = await connection.QuerySingleAsync<TemplateVersionRecord>(new CommandDefinition(
            DesignStore.VersionSelect + " WHERE v.id = @versionId",
            new { versionId }, cancellationToken: ct)).ConfigureAwait(false);
        var current = await connection.QuerySingleOrDefaultAsync<TemplateRecord>(new CommandDefinition(
            DesignStore.TemplateSelect + " WHERE p.id = @templateId",
            new { templateId = task.TemplateId }, cancellationToken: ct)).ConfigureAwait(false);
        return new TaskDesign(taskId, version, current, task.Persona, task.Arc, task.Topic);
    }
}
