using BRun.Diagnostics.Infrastructure.Database.Migrations;
using Dapper;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Health;

/// <summary>
/// Ready when Postgres answers and every migration this build carries has been applied: a host on a newer build than
/// its schema would fail on its first query, so it is not ready even though the database is up.
/// </summary>
public sealed class PostgresReadinessCheck(NpgsqlDataSource dataSource, DatabaseMigrator migrator) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<int> applied;
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT to_regclass('schema_history') IS NOT NULL", cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (!exists)
            {
                return HealthCheckResult.Unhealthy("Postgres answers but is not migrated: run `brun migrate` (or set Database:MigrateOnStart).");
            }

            applied = (await connection.QueryAsync<int>(new CommandDefinition(
                "SELECT version FROM schema_history", cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"Postgres is unreachable: {ex.Message}", ex);
        }

        var missing = migrator.Scripts.Where(s => !applied.Contains(s.Version)).Select(s => s.Name).ToList();
        return missing.Count == 0
            ? HealthCheckResult.Healthy($"Postgres answers; {applied.Count} migrations applied.")
            : HealthCheckResult.Unhealthy($"Postgres answers but {missing.Count} migrations are not applied: {string.Join(", ", missing)}.");
    }
}
