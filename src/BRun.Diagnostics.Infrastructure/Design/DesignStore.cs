using System.Text.RegularExpressions;
using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Design;

/// <summary>
/// Creates, edits, archives, shares and lists prompt templates and scaffolding. Every call acts for an identity, so
/// row-level security decides: members see built-in, shared and their own items and change only their own private
/// ones; admins see and change everything, and only they can share. A template body change is a new immutable
/// version (a database trigger records it, whatever path changed the body).
/// </summary>
public sealed partial class DesignStore(IUserScopedConnectionFactory connections)
{
    /// <summary>Most characters in a key or template name.</summary>
    public const int MaxKeyLength = 100;

    /// <summary>Most characters in a scaffolding name or description.</summary>
    public const int MaxTextLength = 4_000;

    // Which of several items with one name a caller means: their own, then a built-in or shared one, then (admins
    // only see these) another member's. Partial unique indexes make ranks 0 and 1 unique.
    private const string RankSql = """
        CASE WHEN owner_id = brun_current_user_id() THEN 0 WHEN owner_id IS NULL OR shared THEN 1 ELSE 2 END
        """;

    /// <summary>The one column map of <see cref="TemplateRecord"/>; append a WHERE on <c>p</c>.</summary>
    internal const string TemplateSelect = """
        SELECT p.id AS Id, p.name AS Name, p.body AS Body, p.current_version AS CurrentVersion, p.owner_id AS OwnerId,
               u.email AS OwnerEmail, p.shared AS Shared, p.archived_at AS ArchivedAt, p.updated_at AS UpdatedAt
        FROM prompt_templates p LEFT JOIN app_users u ON u.id = p.owner_id
        """;

    /// <summary>The one column map of <see cref="TemplateVersionRecord"/>; append a WHERE on <c>v</c>.</summary>
    internal const string VersionSelect = """
        SELECT v.id AS Id, v.template_id AS TemplateId, COALESCE(p.name, '(not visible)') AS TemplateName, v.version AS Version,
               v.body AS Body, v.created_by AS CreatedBy, v.created_at AS CreatedAt
        FROM prompt_template_versions v LEFT JOIN prompt_templates p ON p.id = v.template_id
        """;

    // ---- templates ----

    public async Task<IReadOnlyList<TemplateRecord>> ListTemplatesAsync(DbIdentity identity, bool includeArchived, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<TemplateRecord>(new CommandDefinition(
            $"""
            {TemplateSelect}
            WHERE @includeArchived OR p.archived_at IS NULL
            ORDER BY p.name, p.owner_id IS NOT NULL, p.id
            """,
            new { includeArchived }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>The template the caller means by <paramref name="name"/> (their own first, then a shared one), or null.</summary>
    public async Task<TemplateRecord?> FindTemplateAsync(DbIdentity identity, string name, bool includeArchived, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var id = await ResolveAsync(connection, null, "prompt_templates", "name", name, includeArchived, ct).ConfigureAwait(false);
        return id is null ? null : await GetTemplateAsync(connection, id.Value, ct).ConfigureAwait(false);
    }

    public async Task<TemplateRecord?> GetTemplateAsync(DbIdentity identity, Guid id, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await GetTemplateAsync(connection, id, ct).ConfigureAwait(false);
    }

    /// <summary>Creates a template owned by the caller (version 1). Only admins may create it shared.</summary>
    /// <exception cref="TemplatePlaceholderException">The body uses an unknown placeholder.</exception>
    /// <exception cref="DesignConflictException">The caller already has a template of that name, or a shared one has it.</exception>
    public async Task<TemplateRecord> CreateTemplateAsync(DbIdentity identity, string name, string body, bool shared, CancellationToken ct)
    {
        RequireUser(identity);
        CheckKey(name, "template name");
        PostgresText.RequireStorable(body, "body");
        TemplatePlaceholders.Check(body);
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var id = await WriteAsync(
            () => connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
                """
                INSERT INTO prompt_templates (name, body, owner_id, shared)
                VALUES (@name, @body, brun_current_user_id(), @shared) RETURNING id
                """,
                new { name, body, shared }, cancellationToken: ct)),
            $"template '{name}'").ConfigureAwait(false);
        return (await GetTemplateAsync(connection, id, ct).ConfigureAwait(false))!;
    }

    /// <summary>Saves a new body as the next version. An unchanged body makes no version. Returns the template as saved.</summary>
    /// <exception cref="TemplatePlaceholderException">The body uses an unknown placeholder.</exception>
    /// <exception cref="DesignNotFoundException">No visible template of that name.</exception>
    /// <exception cref="UnauthorizedAccessException">Visible but not the caller's to change (built-in or shared, and not an admin).</exception>
    public async Task<TemplateRecord> UpdateTemplateAsync(DbIdentity identity, string name, string body, CancellationToken ct)
    {
        PostgresText.RequireStorable(body, "body");
        TemplatePlaceholders.Check(body);
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var id = await RequireAsync(connection, "prompt_templates", "name", name, "template", ct).ConfigureAwait(false);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE prompt_templates SET body = @body, updated_at = now() WHERE id = @id",
            new { id, body }, cancellationToken: ct)).ConfigureAwait(false);
        if (changed == 0)
        {
            throw NotWritable($"template '{name}'");
        }

        return (await GetTemplateAsync(connection, id, ct).ConfigureAwait(false))!;
    }

    public async Task<IReadOnlyList<TemplateVersionRecord>> ListVersionsAsync(DbIdentity identity, Guid templateId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<TemplateVersionRecord>(new CommandDefinition(
            $"""
            {VersionSelect}
            WHERE v.template_id = @templateId ORDER BY v.version DESC
            """,
            new { templateId }, cancellationToken: ct)).ConfigureAwait(false);
        return rows.AsList();
    }

    public async Task<TemplateVersionRecord?> GetVersionAsync(DbIdentity identity, Guid templateId, int version, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<TemplateVersionRecord>(new CommandDefinition(
            $"""
            {VersionSelect}
            WHERE v.template_id = @templateId AND v.version = @version
            """,
            new { templateId, version }, cancellationToken: ct)).ConfigureAwait(false);
    }

    public async Task<TemplateVersionRecord?> GetVersionAsync(DbIdentity identity, Guid versionId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<TemplateVersionRecord>(new CommandDefinition(
            $"""
            {VersionSelect}
            WHERE v.id = @versionId
            """,
            new { versionId }, cancellationToken: ct)).ConfigureAwait(false);
    }

    public Task SetTemplateArchivedAsync(DbIdentity identity, string name, bool archived, CancellationToken ct) =>
        SetFlagAsync(identity, "prompt_templates", "name", name, "template", "archived_at = CASE WHEN @value THEN now() ELSE NULL END", archived, ct);

    /// <summary>Shares a template with everyone, or makes it private to its owner again. Admins only (row-level security).</summary>
    public Task SetTemplateSharedAsync(DbIdentity identity, string name, bool shared, CancellationToken ct) =>
        SetFlagAsync(identity, "prompt_templates", "name", name, "template", "shared = @value", shared, ct);

    // ---- scaffolding ----

    public async Task<IReadOnlyList<ScaffoldingRecord>> ListScaffoldingAsync(DbIdentity identity, ScaffoldingKind kind, bool includeArchived, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var rows = await connection.QueryAsync<ScaffoldingRow>(new CommandDefinition(
            $"""
            SELECT s.id AS Id, s.key AS Key, s.name AS Name, s.description AS Description, s.owner_id AS OwnerId,
                   u.email AS OwnerEmail, s.shared AS Shared, s.archived_at AS ArchivedAt, s.updated_at AS UpdatedAt
            FROM {kind.Table()} s LEFT JOIN app_users u ON u.id = s.owner_id
            WHERE @includeArchived OR s.archived_at IS NULL
            ORDER BY s.key, s.id
            """,
            new { includeArchived }, cancellationToken: ct)).ConfigureAwait(false);
        return [.. rows.Select(r => r.ToRecord(kind))];
    }

    /// <summary>The item the caller means by <paramref name="key"/> (their own first, then a built-in or shared one), or null.</summary>
    public async Task<ScaffoldingRecord?> FindScaffoldingAsync(DbIdentity identity, ScaffoldingKind kind, string key, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var id = await ResolveAsync(connection, null, kind.Table(), "key", key, includeArchived: true, ct).ConfigureAwait(false);
        return id is null ? null : await GetScaffoldingAsync(connection, kind, id.Value, ct).ConfigureAwait(false);
    }

    /// <exception cref="DesignConflictException">The key is taken among the caller's items or the shared ones.</exception>
    public async Task<ScaffoldingRecord> AddScaffoldingAsync(
        DbIdentity identity, ScaffoldingKind kind, string key, string name, string description, bool shared, CancellationToken ct)
    {
        RequireUser(identity);
        CheckKey(key, kind.Label() + " key");
        CheckText(name, "name");
        CheckText(description, "description");
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var id = await WriteAsync(
            () => connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
                $"""
                INSERT INTO {kind.Table()} (key, name, description, owner_id, shared)
                VALUES (@key, @name, @description, brun_current_user_id(), @shared) RETURNING id
                """,
                new { key, name, description, shared }, cancellationToken: ct)),
            $"{kind.Label()} '{key}'").ConfigureAwait(false);
        return (await GetScaffoldingAsync(connection, kind, id, ct).ConfigureAwait(false))!;
    }

    /// <summary>Changes the name and/or description (null keeps the current one). Runs already created keep the texts they used.</summary>
    public async Task<ScaffoldingRecord> UpdateScaffoldingAsync(
        DbIdentity identity, ScaffoldingKind kind, string key, string? name, string? description, CancellationToken ct)
    {
        if (name is not null)
        {
            CheckText(name, "name");
        }

        if (description is not null)
        {
            CheckText(description, "description");
        }

        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var id = await RequireAsync(connection, kind.Table(), "key", key, kind.Label(), ct).ConfigureAwait(false);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE {kind.Table()} SET name = COALESCE(@name, name), description = COALESCE(@description, description), updated_at = now()
            WHERE id = @id
            """,
            new { id, name, description }, cancellationToken: ct)).ConfigureAwait(false);
        if (changed == 0)
        {
            throw NotWritable($"{kind.Label()} '{key}'");
        }

        return (await GetScaffoldingAsync(connection, kind, id, ct).ConfigureAwait(false))!;
    }

    public Task SetScaffoldingArchivedAsync(DbIdentity identity, ScaffoldingKind kind, string key, bool archived, CancellationToken ct) =>
        SetFlagAsync(identity, kind.Table(), "key", key, kind.Label(), "archived_at = CASE WHEN @value THEN now() ELSE NULL END", archived, ct);

    public Task SetScaffoldingSharedAsync(DbIdentity identity, ScaffoldingKind kind, string key, bool shared, CancellationToken ct) =>
        SetFlagAsync(identity, kind.Table(), "key", key, kind.Label(), "shared = @value", shared, ct);

    // ---- helpers, also used by run creation ----

    /// <summary>
    /// Resolves a name to one item id, or null when none is visible. Throws when the best match is ambiguous (an admin
    /// naming an item that several other members each have privately).
    /// </summary>
    internal static async Task<Guid?> ResolveAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string table, string keyColumn, string key, bool includeArchived, CancellationToken ct)
    {
        if (key is not null && key.Contains('\0', StringComparison.Ordinal))
        {
            // No name or key holds a NUL (Postgres cannot store one), and as a parameter it fails the statement.
            return null;
        }

        var rows = (await connection.QueryAsync<(Guid Id, int Rank)>(new CommandDefinition(
            $"""
            SELECT id, {RankSql} AS rank FROM {table}
            WHERE {keyColumn} = @key AND (@includeArchived OR archived_at IS NULL)
            ORDER BY rank, id LIMIT 2
            """,
            new { key, includeArchived }, transaction, cancellationToken: ct)).ConfigureAwait(false)).AsList();
        if (rows.Count == 0)
        {
            return null;
        }

        if (rows.Count == 2 && rows[0].Rank == rows[1].Rank)
        {
            throw new DesignConflictException($"'{key}' names more than one item in {table} that you can see; use your own or a shared one.");
        }

        return rows[0].Id;
    }

    private static async Task<Guid> RequireAsync(NpgsqlConnection connection, string table, string keyColumn, string key, string label, CancellationToken ct) =>
        await ResolveAsync(connection, null, table, keyColumn, key, includeArchived: true, ct).ConfigureAwait(false)
        ?? throw new DesignNotFoundException($"No {label} '{key}'.");

    private async Task SetFlagAsync(DbIdentity identity, string table, string keyColumn, string key, string label, string assignment, bool value, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        var id = await RequireAsync(connection, table, keyColumn, key, label, ct).ConfigureAwait(false);
        try
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE {table} SET {assignment}, updated_at = now() WHERE id = @id", new { id, value }, cancellationToken: ct)).ConfigureAwait(false);
            if (changed == 0)
            {
                throw NotWritable($"{label} '{key}'");
            }
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new UnauthorizedAccessException($"Only an admin can share or un-share the {label} '{key}'.", ex);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new DesignConflictException($"A shared {label} named '{key}' already exists.");
        }
    }

    // The row is visible (it resolved) but the UPDATE matched nothing: row-level security kept it from the caller.
    private static UnauthorizedAccessException NotWritable(string what) =>
        new($"The {what} is built-in, shared or another member's; only an admin can change it. Create your own under another name.");

    private static async Task<Guid> WriteAsync(Func<Task<Guid>> insert, string what)
    {
        try
        {
            return await insert().ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new DesignConflictException($"The {what} already exists (yours, or a shared one).");
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new UnauthorizedAccessException($"Only an admin can create the {what} shared.", ex);
        }
    }

    private static async Task<TemplateRecord?> GetTemplateAsync(NpgsqlConnection connection, Guid id, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<TemplateRecord>(new CommandDefinition(
            TemplateSelect + " WHERE p.id = @id",
            new { id }, cancellationToken: ct)).ConfigureAwait(false);

    private static async Task<ScaffoldingRecord?> GetScaffoldingAsync(NpgsqlConnection connection, ScaffoldingKind kind, Guid id, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<ScaffoldingRow>(new CommandDefinition(
            $"""
            SELECT s.id AS Id, s.key AS Key, s.name AS Name, s.description AS Description, s.owner_id AS OwnerId,
                   u.email AS OwnerEmail, s.shared AS Shared, s.archived_at AS ArchivedAt, s.updated_at AS UpdatedAt
            FROM {kind.Table()} s LEFT JOIN app_users u ON u.id = s.owner_id WHERE s.id = @id
            """,
            new { id }, cancellationToken: ct)).ConfigureAwait(false);
        return row?.ToRecord(kind);
    }

    private static void RequireUser(DbIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (identity.IsSystem)
        {
            throw new ArgumentException("Design items are created for a user; the system identity owns nothing.", nameof(identity));
        }
    }

    private static void CheckKey(string key, string what)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength || !KeyPattern().IsMatch(key))
        {
            throw new ArgumentException($"The {what} must be 1 to {MaxKeyLength} letters, digits, '_', '-' or '.', starting with a letter or digit.");
        }
    }

    private static void CheckText(string text, string what)
    {
        PostgresText.RequireStorable(text, what);
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxTextLength)
        {
            throw new ArgumentException($"The {what} must be 1 to {MaxTextLength} characters.");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();

    private sealed record ScaffoldingRow(
        Guid Id, string Key, string Name, string Description, Guid? OwnerId, string? OwnerEmail, bool Shared, DateTime? ArchivedAt, DateTime UpdatedAt)
    {
        public ScaffoldingRecord ToRecord(ScaffoldingKind kind) =>
            new(Id, kind, Key, Name, Description, OwnerId, OwnerEmail, Shared, ArchivedAt, UpdatedAt);
    }
}
