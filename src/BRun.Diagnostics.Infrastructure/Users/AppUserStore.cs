using BRun.Diagnostics.Infrastructure.Database;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Users;

/// <summary>
/// A dashboard user and owner of stored rows. Times are UTC. <paramref name="SessionStamp"/> changes with the
/// password; a cookie issued with another stamp is signed out.
/// </summary>
public sealed record AppUser(Guid Id, string Email, string DisplayName, string Role, DateTime CreatedAt, Guid SessionStamp)
{
    /// <summary>The columns of <c>app_users</c> an <see cref="AppUser"/> is read from, named for Dapper.</summary>
    internal const string Columns = "id, email, display_name AS displayname, role, created_at AS createdat, session_stamp AS sessionstamp";

    public bool IsAdmin => Role == AppUserRoles.Admin;
}

/// <summary>The values of <c>app_users.role</c>.</summary>
public static class AppUserRoles
{
    public const string Member = "member";
    public const string Admin = "admin";
}

/// <summary>Creates and finds users. User administration runs as the system identity; emails are stored lower-cased.</summary>
public sealed class AppUserStore(IUserScopedConnectionFactory connections)
{
    private const string Columns = AppUser.Columns;

    public async Task<AppUser> CreateAsync(string email, string displayName, string role, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        ArgumentException.ThrowIfNullOrWhiteSpace(displayName);
        if (role is not (AppUserRoles.Member or AppUserRoles.Admin))
        {
            throw new ArgumentOutOfRangeException(nameof(role), role, "Role must be 'member' or 'admin'.");
        }

        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleAsync<AppUser>(new CommandDefinition(
            $"""
            INSERT INTO app_users (email, display_name, role)
            VALUES (@email, @displayName, @role)
            RETURNING {Columns}
            """,
            new { email = Normalize(email), displayName, role },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<AppUser?> GetByEmailAsync(string email, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<AppUser>(new CommandDefinition(
            $"SELECT {Columns} FROM app_users WHERE email = @email",
            new { email = Normalize(email) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    public async Task<AppUser?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<AppUser>(new CommandDefinition(
            $"SELECT {Columns} FROM app_users WHERE id = @id",
            new { id },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>The user, or null when they no longer exist or are disabled: what a cookie is checked against on every request.</summary>
    public async Task<AppUser?> GetActiveAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<AppUser>(new CommandDefinition(
            $"SELECT {Columns} FROM app_users WHERE id = @id AND disabled_at IS NULL",
            new { id },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>name@domain with no spaces or control characters, at most 320 characters: the shape every entry point accepts.</summary>
    public static bool IsPlausibleEmail(string? value) =>
        value is { Length: > 2 and <= 320 } && value.IndexOf('@', StringComparison.Ordinal) is > 0 and var at && at < value.Length - 1
        && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    private static string Normalize(string email) => email.Trim().ToLowerInvariant();
}
