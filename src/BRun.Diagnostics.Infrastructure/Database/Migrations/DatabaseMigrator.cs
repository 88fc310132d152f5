using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Database.Migrations;

/// <summary>What a migration run did.</summary>
public sealed record MigrationResult(IReadOnlyList<MigrationScript> Applied, int PreviouslyApplied);

/// <summary>Thrown when a migration that was already applied has since been edited.</summary>
public sealed class MigrationChecksumMismatchException(MigrationScript script, string appliedChecksum)
    : InvalidOperationException(
        $"Migration {script} was changed after it was applied (applied checksum {appliedChecksum}, file checksum {script.Checksum}). "
        + "Applied migrations are immutable: revert the edit and add a new numbered file instead.")
{
    public MigrationScript Script { get; } = script;
}

/// <summary>
/// Applies numbered SQL migrations in order, each in its own transaction, recording version, name and checksum in
/// <c>schema_history</c>. Runs as the configured login (the owner), not through <see cref="UserScopedConnectionFactory"/>.
/// </summary>
public sealed class DatabaseMigrator
{
    // Any constant works; it only has to be the same for every process migrating this database.
    private const long AdvisoryLockKey = 0x6272_756E_6D69_67; // "brunmig"

    private readonly NpgsqlDataSource _dataSource;
    private readonly IReadOnlyList<MigrationScript> _scripts;
    private readonly ILogger<DatabaseMigrator> _logger;

    public DatabaseMigrator(NpgsqlDataSource dataSource, ILogger<DatabaseMigrator> logger)
        : this(dataSource, EmbeddedMigrations.Load(), logger)
    {
    }

    public DatabaseMigrator(NpgsqlDataSource dataSource, IEnumerable<MigrationScript> scripts, ILogger<DatabaseMigrator> logger)
    {
        _dataSource = dataSource;
        _scripts = EmbeddedMigrations.Ordered(scripts);
        _logger = logger;
    }

    public IReadOnlyList<MigrationScript> Scripts => _scripts;

    public async Task<MigrationResult> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // A session-level advisory lock: a second process starting at the same time waits here, then finds
        // everything applied. Released explicitly below, and by the server if this connection dies.
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_lock(@key)", new { key = AdvisoryLockKey }, cancellationToken: cancellationToken)).ConfigureAwait(false);
        try
        {
            return await MigrateLockedAsync(connection, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_unlock(@key)", new { key = AdvisoryLockKey }, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
        }
    }

    private async Task<MigrationResult> MigrateLockedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            """
            CREATE TABLE IF NOT EXISTS schema_history (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, cancellationToken: cancellationToken)).ConfigureAwait(false);

        var applied = (await connection.QueryAsync<(int Version, string Name, string Checksum)>(new CommandDefinition(
            "SELECT version, name, checksum FROM schema_history ORDER BY version", cancellationToken: cancellationToken)).ConfigureAwait(false))
            .ToDictionary(row => row.Version);

        // Verify every applied file before applying anything new: an edited history must stop the run.
        foreach (var script in _scripts)
        {
            if (applied.TryGetValue(script.Version, out var row) && row.Checksum != script.Checksum)
            {
                throw new MigrationChecksumMismatchException(script, row.Checksum);
            }
        }

        foreach (var row in applied.Values.Where(row => _scripts.All(s => s.Version != row.Version)))
        {
            _logger.MigrationUnknownInDatabase(row.Version, row.Name);
        }

        var newlyApplied = new List<MigrationScript>();
        foreach (var script in _scripts.Where(s => !applied.ContainsKey(s.Version)))
        {
            var stopwatch = Stopwatch.StartNew();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var command = new NpgsqlCommand(script.Sql, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO schema_history (version, name, checksum) VALUES (@Version, @Name, @Checksum)",
                new { script.Version, script.Name, script.Checksum },
                transaction,
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

            newlyApplied.Add(script);
            _logger.MigrationApplied(script.Version, script.Name, stopwatch.ElapsedMilliseconds);
        }

        if (newlyApplied.Count == 0)
        {
            _logger.MigrationsUpToDate(applied.Count);
        }

        return new MigrationResult(newlyApplied, applied.Count);
    }
}
