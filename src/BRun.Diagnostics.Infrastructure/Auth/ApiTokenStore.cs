using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>A token just created. <see cref="Token"/> exists only here: the database keeps its hash.</summary>
public sealed record CreatedApiToken(Guid Id, Guid UserId, string Name, string Token);

/// <summary>A token as its owner sees it in the list: never the token itself. Times are UTC.</summary>
public sealed record ApiTokenInfo(Guid Id, string Name, DateTime CreatedAt, DateTime? LastUsedAt, bool Revoked, DateTime? RevokedAt);

/// <summary>Personal API tokens (<c>api_tokens</c>): creation, bearer authentication, revocation.</summary>
public sealed class ApiTokenStore(IUserScopedConnectionFactory connections, TimeProvider timeProvider)
{
    // last_used_at is refreshed at most this often, so busy scripts do not write on every request.
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public async Task<CreatedApiToken> CreateAsync(Guid userId, string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var token = ApiTokens.Generate();
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        var id = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
            """
            INSERT INTO api_tokens (user_id, name, token_hash, created_at)
            VALUES (@userId, @name, @hash, @now)
            RETURNING id
            """,
            new { userId, name, hash = ApiTokens.Hash(token), now = timeProvider.GetUtcNow() },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new CreatedApiToken(id, userId, name, token);
    }

    /// <summary>The owner of a valid, unrevoked token whose account is not disabled, or null. Records the use.</summary>
    public async Task<AppUser?> AuthenticateAsync(string token, CancellationToken cancellationToken)
    {
        if (!ApiTokens.LooksValid(token))
        {
            return null;
        }

        var now = timeProvider.GetUtcNow();
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<TokenOwnerRow>(new CommandDefinition(
            """
            SELECT t.id AS tokenid, t.last_used_at AS lastusedat,
                   u.id, u.email, u.display_name AS displayname, u.role, u.created_at AS createdat, u.session_stamp AS sessionstamp
            FROM api_tokens t JOIN app_users u ON u.id = t.user_id
            WHERE t.token_hash = @hash AND NOT t.revoked AND u.disabled_at IS NULL
            """,
            new { hash = ApiTokens.Hash(token) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        if (row.LastUsedAt is not { } last || now.UtcDateTime - last >= LastUsedResolution)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE api_tokens SET last_used_at = @now WHERE id = @id",
                new { now, id = row.TokenId },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        return new AppUser(row.Id, row.Email, row.DisplayName, row.Role, row.CreatedAt, row.SessionStamp);
    }

    /// <summary>The tokens of <paramref name="identity"/>'s user, newest first (RLS: only their own, admins too).</summary>
    public async Task<IReadOnlyList<ApiTokenInfo>> ListAsync(DbIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        return (await connection.QueryAsync<ApiTokenInfo>(new CommandDefinition(
            """
            SELECT id, name, created_at AS createdat, last_used_at AS lastusedat, revoked, revoked_at AS revokedat
            FROM api_tokens ORDER BY created_at DESC, id
            """,
            cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
    }

    /// <summary>Revokes a token of <paramref name="identity"/>'s user (RLS: only their own). Returns false when none matched.</summary>
    public async Task<bool> RevokeAsync(DbIdentity identity, Guid tokenId, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE api_tokens SET revoked = true, revoked_at = @now WHERE id = @tokenId AND NOT revoked",
            new { tokenId, now = timeProvider.GetUtcNow() },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return changed == 1;
    }

    private sealed record TokenOwnerRow(Guid TokenId, DateTime? LastUsedAt, Guid Id, string Email, string DisplayName, string Role, DateTime CreatedAt, Guid SessionStamp);
}
