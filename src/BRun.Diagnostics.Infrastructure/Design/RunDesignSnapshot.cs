using System.Text.Json;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Core.Pipeline;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Design;

/// <summary>The exact template version a run or preview renders.</summary>
public sealed record TemplateVersionUse(Guid TemplateId, string TemplateName, Guid VersionId, int Version, string Body);

/// <summary>
/// The persona, arc and topic lists a run crosses, resolved for the creating user inside the run's transaction, and
/// then frozen into <c>run_scaffolding</c>. Shared by run creation and the preview, so both render the same way.
/// </summary>
internal sealed class RunDesignSnapshot
{
    private static readonly JsonSerializerOptions MatrixJsonOptions = new();

    private RunDesignSnapshot(IReadOnlyList<Weighted> personas, IReadOnlyList<Weighted> arcs, IReadOnlyList<Weighted> topics)
    {
        Personas = personas;
        Arcs = arcs;
        Topics = topics;
    }

    public IReadOnlyList<Weighted> Personas { get; }
    public IReadOnlyList<Weighted> Arcs { get; }
    public IReadOnlyList<Weighted> Topics { get; }

    internal sealed record Weighted(ScaffoldingItem Item, decimal Weight);

    /// <summary>The current version of the template the user means by <paramref name="name"/>; archived ones are refused.</summary>
    public static Task<TemplateVersionUse> LoadTemplateAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string name, CancellationToken ct) =>
        LoadTemplateAsync(connection, transaction, name, version: null, ct);

    /// <summary>
    /// Version <paramref name="version"/> (null: the current one) of the template the user means by <paramref name="name"/>;
    /// archived templates and versions that do not exist are refused.
    /// </summary>
    public static async Task<TemplateVersionUse> LoadTemplateAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string name, int? version, CancellationToken ct)
    {
        var id = await DesignStore.ResolveAsync(connection, transaction, "prompt_templates", "name", name, includeArchived: false, ct).ConfigureAwait(false)
            ?? throw new ArgumentException($"No prompt template named '{name}' (or it is archived).");

        // The version's body, not the template's: it is immutable, so a concurrent edit cannot slip a different body
        // under this version's id.
        return await connection.QuerySingleOrDefaultAsync<TemplateVersionUse>(new CommandDefinition(
            """
            SELECT p.id AS TemplateId, p.name AS TemplateName, v.id AS VersionId, v.version AS Version, v.body AS Body
            FROM prompt_templates p JOIN prompt_template_versions v ON v.template_id = p.id AND v.version = COALESCE(@version, p.current_version)
            WHERE p.id = @id
            """,
            new { id, version }, transaction, cancellationToken: ct)).ConfigureAwait(false)
            ?? throw new ArgumentException($"The prompt template '{name}' has no version {version}.");
    }

    /// <summary>
    /// The items named by the matrix, or (an empty axis, or no matrix) every unarchived built-in, shared and own item
    /// of that kind. Another member's private item is never picked by default, even for an admin.
    /// </summary>
    public static async Task<RunDesignSnapshot> LoadScaffoldingAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, RunMatrixSpec? matrix, CancellationToken ct)
    {
        var personas = await LoadAxisAsync(connection, transaction, ScaffoldingKind.Persona, matrix?.Personas ?? [], ct).ConfigureAwait(false);
        var arcs = await LoadAxisAsync(connection, transaction, ScaffoldingKind.EmotionalArc, matrix?.EmotionalArcs ?? [], ct).ConfigureAwait(false);
        var topics = await LoadAxisAsync(connection, transaction, ScaffoldingKind.TrainingTopic, matrix?.TrainingTopics ?? [], ct).ConfigureAwait(false);
        return new RunDesignSnapshot(personas, arcs, topics);
    }

    /// <summary>One persona, arc and topic by key, for a preview.</summary>
    public static async Task<Scaffolding> LoadOneAsync(
        NpgsqlConnection connection, string? persona, string? arc, string? topic, CancellationToken ct)
    {
        var spec = new RunMatrixSpec
        {
            Personas = persona is null ? [] : [new MatrixItem(persona)],
            EmotionalArcs = arc is null ? [] : [new MatrixItem(arc)],
            TrainingTopics = topic is null ? [] : [new MatrixItem(topic)],
        };
        var snapshot = await LoadScaffoldingAsync(connection, null, spec, ct).ConfigureAwait(false);
        return snapshot.At(new MatrixCell(0, 0, 0));
    }

    public IReadOnlyList<MatrixCell> Plan(CreateRunRequest request)
    {
        var matrix = request.Matrix;
        if (matrix is null)
        {
            return RunMatrixPlanner.Cycle(Personas.Count, Arcs.Count, Topics.Count, request.Count);
        }

        if (matrix.PerCombination is { } n)
        {
            if (n < 1 || (long)Personas.Count * Arcs.Count * Topics.Count * n > MaxTasks)
            {
                throw new ArgumentException($"per_combination must be at least 1, and combinations x per_combination at most {MaxTasks}.");
            }

            return RunMatrixPlanner.PerCombination(Personas.Count, Arcs.Count, Topics.Count, n);
        }

        return RunMatrixPlanner.Weighted(
            [.. Personas.Select(p => p.Weight)], [.. Arcs.Select(a => a.Weight)], [.. Topics.Select(t => t.Weight)], request.Count);
    }

    /// <summary>Most tasks a matrix run may create.</summary>
    public const int MaxTasks = 1_000_000;

    public Scaffolding At(MatrixCell cell) =>
        new(Personas[cell.Persona].Item, Arcs[cell.Arc].Item, Topics[cell.Topic].Item);

    /// <summary>The matrix as asked, with the keys as resolved (an empty axis lists what "all" meant).</summary>
    public string? MatrixJson(RunMatrixSpec? matrix) => matrix is null
        ? null
        : JsonSerializer.Serialize(matrix with
        {
            Personas = [.. Personas.Select(p => new MatrixItem(p.Item.Key, p.Weight))],
            EmotionalArcs = [.. Arcs.Select(a => new MatrixItem(a.Item.Key, a.Weight))],
            TrainingTopics = [.. Topics.Select(t => new MatrixItem(t.Item.Key, t.Weight))],
        }, MatrixJsonOptions);

    /// <summary>Freezes the texts of every item the run may use.</summary>
    public async Task SaveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid runId, CancellationToken ct)
    {
        var rows = Personas.Select(p => (Kind: ScaffoldingKind.Persona, p))
            .Concat(Arcs.Select(a => (Kind: ScaffoldingKind.EmotionalArc, p: a)))
            .Concat(Topics.Select(t => (Kind: ScaffoldingKind.TrainingTopic, p: t)))
            .ToList();
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO run_scaffolding (run_id, kind, item_id, key, name, description, weight)
            SELECT @runId, s.kind, s.item_id, s.key, s.name, s.description, s.weight
            FROM unnest(@kinds, @ids, @keys, @names, @descriptions, @weights) AS s(kind, item_id, key, name, description, weight)
            """,
            new
            {
                runId,
                kinds = rows.Select(r => r.Kind.ToWire()).ToArray(),
                ids = rows.Select(r => r.p.Item.Id).ToArray(),
                keys = rows.Select(r => r.p.Item.Key).ToArray(),
                names = rows.Select(r => r.p.Item.Name).ToArray(),
                descriptions = rows.Select(r => r.p.Item.Description).ToArray(),
                weights = rows.Select(r => r.p.Weight).ToArray(),
            },
            transaction, cancellationToken: ct)).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<Weighted>> LoadAxisAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, ScaffoldingKind kind, IReadOnlyList<MatrixItem> wanted, CancellationToken ct)
    {
        var table = kind.Table();
        if (wanted.Count == 0)
        {
            var all = await connection.QueryAsync<ScaffoldingItem>(new CommandDefinition(
                $"""
                SELECT id AS Id, key AS Key, name AS Name, description AS Description FROM {table}
                WHERE archived_at IS NULL AND (owner_id IS NULL OR shared OR owner_id = brun_current_user_id())
                ORDER BY key, owner_id IS NOT NULL, id
                """,
                transaction: transaction, cancellationToken: ct)).ConfigureAwait(false);

            // A member's own item shadows a shared one with the same key, as it does when named.
            var items = all.GroupBy(i => i.Key, StringComparer.Ordinal).Select(g => g.Last()).ToList();
            if (items.Count == 0)
            {
                throw new ArgumentException($"There is no usable {kind.Label()}; add one first.");
            }

            return [.. items.Select(i => new Weighted(i, 1m))];
        }

        var result = new List<Weighted>(wanted.Count);
        foreach (var item in wanted)
        {
            if (result.Any(r => r.Item.Key == item.Key))
            {
                throw new ArgumentException($"The {kind.Label()} '{item.Key}' is listed twice.");
            }

            if (item.Weight < 0)
            {
                throw new ArgumentException($"The weight of {kind.Label()} '{item.Key}' must not be negative.");
            }

            var id = await DesignStore.ResolveAsync(connection, transaction, table, "key", item.Key, includeArchived: false, ct).ConfigureAwait(false)
                ?? throw new ArgumentException($"No {kind.Label()} '{item.Key}' (or it is archived).");
            var found = await connection.QuerySingleAsync<ScaffoldingItem>(new CommandDefinition(
                $"SELECT id AS Id, key AS Key, name AS Name, description AS Description FROM {table} WHERE id = @id",
                new { id }, transaction, cancellationToken: ct)).ConfigureAwait(false);
            result.Add(new Weighted(found, item.Weight));
        }

        return result;
    }
}
