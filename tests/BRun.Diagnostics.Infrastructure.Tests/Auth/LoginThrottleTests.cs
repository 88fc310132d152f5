using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Testing;
using Dapper;
using BRun.Diagnostics.Infrastructure.Database;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Tests.Auth;

[Collection(IntegrationEnvironment.Collection)]
public sealed class LoginThrottleTests(IntegrationEnvironment env)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static LoginThrottle Throttle(TestDatabase db, int perAccount = 3, int perAddress = 5) => new(
        db.Get<IUserScopedConnectionFactory>(),
        Options.Create(new LoginThrottleOptions { MaxFailuresPerAccount = perAccount, MaxFailuresPerAddress = perAddress }),
        NullLogger<LoginThrottle>.Instance);

    [Fact]
    public async Task An_account_is_locked_after_N_wrong_passwords_from_any_address()
    {
        await using var db = await env.CreateDatabaseAsync();
        var throttle = Throttle(db);

        Assert.Null(await throttle.RecordFailureAsync("ana@example.test", "10.0.0.1", None));
        Assert.Null(await throttle.RecordFailureAsync("ANA@example.test", "10.0.0.2", None));
        Assert.Null(await throttle.LockedUntilAsync("ana@example.test", "10.0.0.3", None));
        var locked = await throttle.RecordFailureAsync("ana@example.test", "10.0.0.3", None);

        Assert.NotNull(locked);
        Assert.NotNull(await throttle.LockedUntilAsync("ana@example.test", "10.9.9.9", None));
        Assert.Null(await throttle.LockedUntilAsync("bob@example.test", "10.9.9.9", None));
    }

    [Fact]
    public async Task An_address_spraying_many_accounts_is_locked_for_every_account()
    {
        await using var db = await env.CreateDatabaseAsync();
        var throttle = Throttle(db, perAccount: 100, perAddress: 4);

        for (var i = 0; i < 4; i++)
        {
            await throttle.RecordFailureAsync($"user{i}@example.test", "192.0.2.7", None);
        }

        Assert.NotNull(await throttle.LockedUntilAsync("fresh@example.test", "192.0.2.7", None));
        Assert.Null(await throttle.LockedUntilAsync("fresh@example.test", "192.0.2.8", None));
    }

    [Fact]
    public async Task A_right_password_clears_the_accounts_failures_and_an_old_window_starts_again()
    {
        await using var db = await env.CreateDatabaseAsync();
        var throttle = Throttle(db);

        await throttle.RecordFailureAsync("ana@example.test", null, None);
        await throttle.RecordFailureAsync("ana@example.test", null, None);
        await throttle.RecordSuccessAsync("ana@example.test", None);
        Assert.Null(await throttle.RecordFailureAsync("ana@example.test", null, None));

        // Failures older than the window no longer count (moved back on the database clock's terms).
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("UPDATE login_attempts SET window_started_at = now() - interval '1 hour'");
        }

        Assert.Null(await throttle.RecordFailureAsync("ana@example.test", null, None));
        Assert.Null(await throttle.RecordFailureAsync("ana@example.test", null, None));
        Assert.NotNull(await throttle.RecordFailureAsync("ana@example.test", null, None));
    }
}
