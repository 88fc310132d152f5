using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Users;

/// <summary>A user as the admin users page lists them. Times are UTC.</summary>
public sealed record UserAccount(
    Guid Id, string Email, string DisplayName, string Role, DateTime CreatedAt, DateTime? DisabledAt, bool HasPassword, long ActiveTokens)
{
    public bool IsAdmin => Role == AppUserRoles.Admin;

    public bool IsDisabled => DisabledAt is not null;
}

/// <summary>The outcome of a change to a user. Everything but <see cref="Done"/> changed nothing.</summary>
public enum UserChangeOutcome
{
    Done,

    /// <summary>No user has that id (or email).</summary>
    NotFound,

    /// <summary>The change would leave no enabled admin.</summary>
    LastAdmin,

    /// <summary>The acting user is not an enabled admin (decided in the database, not from their cookie).</summary>
    NotAdmin,

    /// <summary>Another user has that email.</summary>
    EmailTaken,

    /// <summary>The email, name, role or password is not acceptable.</summary>
    Invalid,
}

/// <summary>
/// User administration for admins (the users page) and the operator (the CLI): list, create, change roles, disable and
/// enable. Runs as the system identity, because <c>app_users</c> is written only by <c>brun_system</c>; whether the actor
/// may do it is checked here against the database. No change may leave the system without an enabled admin.
/// </summary>
public sealed class UserAdministration(IUserScopedConnectionFactory connections, LocalAccountService accounts, TimeProvider time)
{
    /// <summary>Every user, admins first, then by email. Null when <paramref name="actorId"/> is not an enabled admin.</summary>
    public async Task<IReadOnlyList<UserAccount>?> ListAsync(Guid actorId, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        if (!await IsEnabledAdminAsync(connection, actorId, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return (await connection.QueryAsync<UserAccount>(new CommandDefinition(
            """
            SELECT u.id, u.email, u.display_name AS displayname, u.role, u.created_at AS createdat, u.disabled_at AS disabledat,
                   u.password_hash IS NOT NULL AS haspassword,
                   (SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id AND NOT t.revoked) AS activetokens
            FROM app_users u
            ORDER BY u.role = 'admin' DESC, u.email
            """,
            cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
    }

    /// <summary>Creates a user who signs in with <paramref name="password"/>.</summary>
    public async Task<UserChangeOutcome> CreateAsync(
        Guid actorId, string email, string displayName, string password, string role, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(email);
        ArgumentNullException.ThrowIfNull(displayName);
        ArgumentNullException.ThrowIfNull(password);
        if (!IsRole(role) || password.Length < LocalAccountService.MinPasswordLength || !AppUserStore.IsPlausibleEmail(email.Trim())
            || string.IsNullOrWhiteSpace(displayName) || displayName.Length > 200 || displayName.Any(char.IsControl))
        {
            return UserChangeOutcome.Invalid;
        }

        await using (var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false))
        {
            if (!await IsEnabledAdminAsync(connection, actorId, cancellationToken).ConfigureAwait(false))
            {
                return UserChangeOutcome.NotAdmin;
            }
        }

        try
        {
            await accounts.CreateAsync(email, displayName.Trim(), password, role, cancellationToken).ConfigureAwait(false);
            return UserChangeOutcome.Done;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return UserChangeOutcome.EmailTaken;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.CheckViolation)
        {
            return UserChangeOutcome.Invalid;
        }
    }

    /// <summary>Makes the user a member or an admin. <paramref name="actorId"/> null is the operator (CLI).</summary>
    public Task<UserChangeOutcome> SetRoleAsync(Guid? actorId, Guid userId, string role, CancellationToken cancellationToken) =>
        !IsRole(role)
            ? Task.FromResult(UserChangeOutcome.Invalid)
            : ChangeAsync(actorId, userId, removesAdmin: role != AppUserRoles.Admin,
                "UPDATE app_users SET role = @role WHERE id = @userId", new { role, userId }, cancellationToken);

    /// <summary>
    /// Disables (or enables again) a user: a disabled user cannot sign in, and their tokens and cookies stop working.
    /// <paramref name="actorId"/> null is the operator (CLI).
    /// </summary>
    public Task<UserChangeOutcome> SetDisabledAsync(Guid? actorId, Guid userId, bool disabled, CancellationToken cancellationToken) =>
        disabled
            ? ChangeAsync(actorId, userId, removesAdmin: true,
                "UPDATE app_users SET disabled_at = @now, disabled_by = @actorId WHERE id = @userId AND disabled_at IS NULL",
                new { now = time.GetUtcNow().UtcDateTime, actorId, userId }, cancellationToken)
            : ChangeAsync(actorId, userId, removesAdmin: false,
                "UPDATE app_users SET disabled_at = NULL, disabled_by = NULL WHERE id = @userId", new { userId }, cancellationToken);

    private async Task<UserChangeOutcome> ChangeAsync(
        Guid? actorId, Guid userId, bool removesAdmin, string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // Locking every enabled admin row serialises changes that could remove an admin: two admins demoting each
        // other at the same moment cannot both see "one other admin is left".
        var admins = (await connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT id FROM app_users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE",
            transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();
        if (actorId is { } actor && !admins.Contains(actor))
        {
            return UserChangeOutcome.NotAdmin;
        }

        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM app_users WHERE id = @userId)", new { userId }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (!exists)
        {
            return UserChangeOutcome.NotFound;
        }

        if (removesAdmin && admins.Count == 1 && admins[0] == userId)
        {
            return UserChangeOutcome.LastAdmin;
        }

        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return UserChangeOutcome.Done;
    }

    private static async Task<bool> IsEnabledAdminAsync(NpgsqlConnection connection, Guid actorId, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM app_users WHERE id = @actorId AND role = 'admin' AND disabled_at IS NULL)",
            new { actorId }, cancellationToken: cancellationToken)).ConfigureAwait(false);

    private static bool IsRole(string role) => role is AppUserRoles.Member or AppUserRoles.Admin;
}
