using System.Security.Cryptography;
using System.Text;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>
/// Counts failed sign-ins per account and per client address in Postgres, so every web instance enforces the same
/// limits, and locks a key out for a while once it passes its limit. A locked sign-in is refused before the password
/// is checked, so guessing cannot go on during the lockout. Lockouts are logged (with a hash, not the email).
/// </summary>
public sealed partial class LoginThrottle(
    IUserScopedConnectionFactory connections,
    IOptions<LoginThrottleOptions> options,
    ILogger<LoginThrottle> logger)
{
    private readonly LoginThrottleOptions _options = options.Value;

    /// <summary>When the sign-in may be tried again, or null when it may be tried now.</summary>
    public async Task<DateTime?> LockedUntilAsync(string email, string? address, CancellationToken ct)
    {
        const string Sql = "SELECT max(locked_until) FROM login_attempts WHERE key = ANY(@keys) AND locked_until > now()";
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            Sql, new { keys = Keys(email, address) }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>Counts a failure against the account and the address; returns the lockout it caused, if any.</summary>
    public async Task<DateTime?> RecordFailureAsync(string email, string? address, CancellationToken ct)
    {
        // A window that has passed starts again at 1. The lockout is set once, when the limit is reached.
        const string Sql = """
            INSERT INTO login_attempts AS a (key, failures, window_started_at)
            VALUES (@key, 1, now())
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN a.window_started_at < now() - @window THEN 1 ELSE a.failures + 1 END,
                window_started_at = CASE WHEN a.window_started_at < now() - @window THEN now() ELSE a.window_started_at END
            RETURNING failures;
            """;
        const string Lock = """
            UPDATE login_attempts SET locked_until = now() + @lockout
            WHERE key = @key AND (locked_until IS NULL OR locked_until <= now())
            RETURNING locked_until
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        DateTime? lockedUntil = null;
        foreach (var (key, limit) in new[] { (AccountKey(email), _options.MaxFailuresPerAccount), (AddressKey(address), _options.MaxFailuresPerAddress) })
        {
            if (key is null)
            {
                continue;
            }

            var failures = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                Sql, new { key, window = _options.Window }, cancellationToken: ct)).ConfigureAwait(false);
            if (failures < limit)
            {
                continue;
            }

            var until = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
                Lock, new { key, lockout = _options.LockoutDuration }, cancellationToken: ct)).ConfigureAwait(false);
            if (until is { } locked)
            {
                Log.LockedOut(logger, key.StartsWith("address:", StringComparison.Ordinal) ? key : "account:" + Fingerprint(key), failures, locked);
                lockedUntil = locked;
            }
        }

        return lockedUntil;
    }

    /// <summary>A right password clears the account's failures (not the address's: one good account must not reset a spray).</summary>
    public async Task RecordSuccessAsync(string email, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM login_attempts WHERE key = @key", new { key = AccountKey(email) }, cancellationToken: ct)).ConfigureAwait(false);
    }

    private static string[] Keys(string email, string? address) =>
        AddressKey(address) is { } a ? [AccountKey(email), a] : [AccountKey(email)];

    private static string AccountKey(string email) => "account:" + email.Trim().ToLowerInvariant();

    private static string? AddressKey(string? address) => string.IsNullOrEmpty(address) ? null : "address:" + address;

    private static string Fingerprint(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];

    private static partial class Log
    {
        [LoggerMessage(EventId = 7401, Level = LogLevel.Warning, Message = "Sign-in locked out for {Key} after {Failures} failures, until {LockedUntil:o}")]
        public static partial void LockedOut(ILogger logger, string key, int failures, DateTime lockedUntil);
    }
}
