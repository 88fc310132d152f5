using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Database;

/// <summary>Opens connections on which row-level security applies for a given <see cref="DbIdentity"/>.</summary>
public interface IUserScopedConnectionFactory
{
    /// <summary>Opens a connection acting for <paramref name="identity"/>. Dispose it at the end of the unit of work.</summary>
    ValueTask<NpgsqlConnection> OpenAsync(DbIdentity identity, CancellationToken cancellationToken);
}

/// <summary>
/// Switches every connection to a non-superuser role right after opening, so RLS applies even when the configured
/// login is a superuser (local development). Npgsql's reset on return to the pool (DISCARD ALL) undoes both the
/// role and <c>app.user_id</c>; they are set again on every open regardless, so nothing depends on that reset.
/// </summary>
public sealed class UserScopedConnectionFactory(NpgsqlDataSource dataSource) : IUserScopedConnectionFactory
{
    public const string AppRole = "brun_app";
    public const string SystemRole = "brun_system";

    public async ValueTask<NpgsqlConnection> OpenAsync(DbIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // SET ROLE takes no parameters; the role names are constants. The user id goes through set_config.
            await using var batch = new NpgsqlBatch(connection);
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"SET ROLE {(identity.IsSystem ? SystemRole : AppRole)}"));
            var setUser = new NpgsqlBatchCommand("SELECT set_config('app.user_id', $1, false)");
            setUser.Parameters.Add(new NpgsqlParameter { Value = identity.UserId?.ToString("D") ?? string.Empty });
            batch.BatchCommands.Add(setUser);
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
