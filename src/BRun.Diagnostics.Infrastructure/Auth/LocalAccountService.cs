using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Users;
using Dapper;
using Microsoft.AspNetCore.Identity;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>
/// Local accounts: creation with a password, password checks, and first-sign-in provisioning for external
/// (OpenID Connect) users. Passwords are hashed with ASP.NET Core's <see cref="PasswordHasher{TUser}"/> into
/// <c>app_users.password_hash</c>. User administration runs as the system identity; emails are stored lower-cased.
/// </summary>
public sealed class LocalAccountService(IUserScopedConnectionFactory connections)
{
    /// <summary>The shortest password accepted anywhere (CLI, account page, admin users page).</summary>
    public const int MinPasswordLength = 8;

    private const string Columns = AppUser.Columns;

    // A rehash on sign-in keeps the stamp: the password is the same, so no session should end.
    private const string NewSessionStamp = "session_stamp = gen_random_uuid()";

    private static readonly PasswordHasher<AppUser> Hasher = new();

    // Verified when the email is unknown, so a wrong email costs as long as a wrong password.
    private static readonly string DummyHash = Hasher.HashPassword(null!, "not a password of anyone");

    /// <summary>Creates a user that can sign in with <paramref name="password"/>. Throws when the email is taken.</summary>
    public async Task<AppUser> CreateAsync(string email, string displayName, string password, string role, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        ArgumentException.ThrowIfNullOrWhiteSpace(displayName);
        ArgumentException.ThrowIfNullOrEmpty(password);
        ValidateRole(role);

        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleAsync<AppUser>(new CommandDefinition(
            $"""
            INSERT INTO app_users (email, display_name, role, password_hash)
            VALUES (@email, @displayName, @role, @hash)
            RETURNING {Columns}
            """,
            new { email = Normalize(email), displayName, role, hash = Hasher.HashPassword(null!, password) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// The user when <paramref name="password"/> is theirs; null for an unknown email, a wrong password, no password set,
    /// or a disabled account (all alike, and as slow as a wrong password, so a guess learns nothing).
    /// </summary>
    public async Task<AppUser?> VerifyPasswordAsync(string email, string password, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(email) || string.IsNullOrEmpty(password))
        {
            return null;
        }

        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<CredentialRow>(new CommandDefinition(
            $"SELECT {Columns}, password_hash AS passwordhash FROM app_users WHERE email = @email AND disabled_at IS NULL",
            new { email = Normalize(email) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (row?.PasswordHash is null)
        {
            Hasher.VerifyHashedPassword(null!, DummyHash, password);
            return null;
        }

        var user = row.ToUser();
        var result = Hasher.VerifyHashedPassword(user, row.PasswordHash, password);
        if (result == PasswordVerificationResult.Failed)
        {
            return null;
        }

        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE app_users SET password_hash = @hash WHERE id = @id",
                new { hash = Hasher.HashPassword(user, password), id = user.Id },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        return user;
    }

    /// <summary>
    /// Sets or replaces a user's password and signs out every session of theirs (a new session stamp). Returns false
    /// when no user has that email.
    /// </summary>
    public async Task<bool> SetPasswordAsync(string email, string password, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        ArgumentException.ThrowIfNullOrEmpty(password);
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        var changed = await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE app_users SET password_hash = @hash, {NewSessionStamp} WHERE email = @email",
            new { email = Normalize(email), hash = Hasher.HashPassword(null!, password) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return changed == 1;
    }

    /// <summary>
    /// The user with this email, created as a member without a password on first sign-in (OpenID Connect).
    /// Only an email the provider asserts as verified (<c>email_verified=true</c>) may sign in: otherwise anyone who
    /// can set an unverified address at the provider could take over the local account that owns it. Returns null then.
    /// Safe under concurrent first sign-ins: the unique email decides.
    /// </summary>
    public async Task<AppUser?> FindOrCreateExternalAsync(string email, string displayName, bool emailVerified, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        if (!emailVerified)
        {
            return null;
        }

        var name = string.IsNullOrWhiteSpace(displayName) ? email.Trim() : displayName.Trim();
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO app_users (email, display_name, role) VALUES (@email, @name, 'member') ON CONFLICT (email) DO NOTHING",
            new { email = Normalize(email), name },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        // A disabled account stays disabled whichever way its owner signs in.
        return await connection.QuerySingleOrDefaultAsync<AppUser>(new CommandDefinition(
            $"SELECT {Columns} FROM app_users WHERE email = @email AND disabled_at IS NULL",
            new { email = Normalize(email) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes a user's own password: <paramref name="currentPassword"/> must be theirs (an account without a password,
    /// signed in through OpenID Connect, has none to change), the new one at least <see cref="MinPasswordLength"/> long.
    /// A change draws a new session stamp, which signs out the user's other sessions.
    /// </summary>
    public async Task<PasswordChangeResult> ChangePasswordAsync(Guid userId, string currentPassword, string newPassword, CancellationToken cancellationToken) =>
        (await ChangePasswordReturningStampAsync(userId, currentPassword, newPassword, revokeApiTokens: false, cancellationToken).ConfigureAwait(false)).Result;

    /// <summary>
    /// <see cref="ChangePasswordAsync"/>, with the new session stamp when the password changed: the session that made
    /// the change is issued a cookie with it and stays signed in. With <paramref name="revokeApiTokens"/> the user's
    /// API tokens are revoked in the same statement (a password changed because it leaked should not leave a token
    /// made with it working); <c>RevokedTokens</c> says how many.
    /// </summary>
    public async Task<(PasswordChangeResult Result, Guid? SessionStamp, int RevokedTokens)> ChangePasswordReturningStampAsync(
        Guid userId, string currentPassword, string newPassword, bool revokeApiTokens, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(currentPassword);
        ArgumentNullException.ThrowIfNull(newPassword);
        if (newPassword.Length < MinPasswordLength)
        {
            return (PasswordChangeResult.TooShort, null, 0);
        }

        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<CredentialRow>(new CommandDefinition(
            $"SELECT {Columns}, password_hash AS passwordhash FROM app_users WHERE id = @userId AND disabled_at IS NULL",
            new { userId },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (row?.PasswordHash is null)
        {
            Hasher.VerifyHashedPassword(null!, DummyHash, currentPassword);
            return (PasswordChangeResult.WrongCurrentPassword, null, 0);
        }

        var user = row.ToUser();
        if (Hasher.VerifyHashedPassword(user, row.PasswordHash, currentPassword) == PasswordVerificationResult.Failed)
        {
            return (PasswordChangeResult.WrongCurrentPassword, null, 0);
        }

        // Only if nobody changed it in between: the check above and this write act on the same hash. The tokens go
        // only when the password did (one statement: both or neither).
        var changed = await connection.QuerySingleAsync<(Guid? Stamp, int Revoked)>(new CommandDefinition(
            $"""
            WITH changed AS (
                UPDATE app_users SET password_hash = @hash, {NewSessionStamp}
                WHERE id = @userId AND password_hash = @old
                RETURNING session_stamp),
            revoked AS (
                UPDATE api_tokens SET revoked = true, revoked_at = now()
                WHERE @revoke AND user_id = @userId AND NOT revoked AND EXISTS (SELECT 1 FROM changed)
                RETURNING id)
            SELECT (SELECT session_stamp FROM changed) AS stamp, (SELECT count(*) FROM revoked)::int AS revoked
            """,
            new { hash = Hasher.HashPassword(user, newPassword), userId, old = row.PasswordHash, revoke = revokeApiTokens },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return changed.Stamp is null
            ? (PasswordChangeResult.WrongCurrentPassword, null, 0)
            : (PasswordChangeResult.Changed, changed.Stamp, changed.Revoked);
    }

    /// <summary>True once any account exists.</summary>
    public async Task<bool> AnyUserAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM app_users)", cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Creates an admin with a password only when no user exists at all. Returns it when it was created.</summary>
    public async Task<AppUser?> CreateFirstAdminAsync(string email, string displayName, string password, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(email);
        ArgumentException.ThrowIfNullOrEmpty(password);
        await using var connection = await connections.OpenAsync(DbIdentity.System, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<AppUser>(new CommandDefinition(
            $"""
            INSERT INTO app_users (email, display_name, role, password_hash)
            SELECT @email, @displayName, 'admin', @hash
            WHERE NOT EXISTS (SELECT 1 FROM app_users)
            ON CONFLICT (email) DO NOTHING
            RETURNING {Columns}
            """,
            new { email = Normalize(email), displayName, hash = Hasher.HashPassword(null!, password) },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static void ValidateRole(string role)
    {
        if (role is not (AppUserRoles.Member or AppUserRoles.Admin))
        {
            throw new ArgumentOutOfRangeException(nameof(role), role, "Role must be 'member' or 'admin'.");
        }
    }

    private static string Normalize(string email) => email.Trim().ToLowerInvariant();

    private sealed record CredentialRow(Guid Id, string Email, string DisplayName, string Role, DateTime CreatedAt, Guid SessionStamp, string? PasswordHash)
    {
        public AppUser ToUser() => new(Id, Email, DisplayName, Role, CreatedAt, SessionStamp);
    }
}
