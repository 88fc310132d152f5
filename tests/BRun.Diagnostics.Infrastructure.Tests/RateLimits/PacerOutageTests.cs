using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Testing;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Tests.RateLimits;

/// <summary>
/// The shared pacer across a database outage: nothing it reserved stays lost. The window is an hour, so the buckets'
/// own refill during a test is a rounding error: only the pacer's recovery can make room, and without it the second
/// call would wait ~45 minutes (the deadline fails the test instead).
/// </summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class PacerOutageTests(IntegrationEnvironment environment)
{
    private const string Model = "claude-sonnet-4-5";

    [Fact]
    public async Task AReservationWhoseSettlementFailed_IsGivenBackWhenTheDatabaseAnswersAgain()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var connections = new SwitchableConnections(database.Get<IUserScopedConnectionFactory>());
        using var pacer = Pacer(connections, outputTokensPerWindow: 8000);

        await using (var permit = await pacer.AcquireAsync(Request(maxTokens: 8000), CancellationToken.None))
        {
            connections.Down = true;
            // The answer used 500 of the 8,000 reserved; the database is down when the call ends.
            await permit.SettleAsync(RateLimitStoreTests.Answer([], outputTokens: 500), CancellationToken.None);
            connections.Down = false;
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var next = await pacer.AcquireAsync(Request(maxTokens: 7000), deadline.Token);

        // 8,000 − 500 − 7,000: the first call's 7,500 unused tokens came back once, so 500 are left, plus the refill
        // since (2.2 tokens a second; the bound allows 45 s of a loaded machine, far from the 1,000 of a double refund).
        Assert.InRange(await OutputLeftAsync(database), 499, 600);
    }

    [Fact]
    public async Task WhenPostgresLosesTheSharedState_ThePacerRecreatesItWithTheLimitsItLearned()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var connections = new SwitchableConnections(database.Get<IUserScopedConnectionFactory>());
        using var pacer = Pacer(connections, outputTokensPerWindow: null);
        await using (var permit = await pacer.AcquireAsync(Request(maxTokens: 100), CancellationToken.None))
        {
            var answer = RateLimitStoreTests.Answer(new Dictionary<string, string> { ["anthropic-ratelimit-output-tokens-limit"] = "8000" });
            await pacer.OnResponseHeadAsync(Model, 200, answer.RateLimitHeaders, CancellationToken.None);
            await permit.SettleAsync(answer, CancellationToken.None);
        }

        // What crash recovery does to an UNLOGGED table.
        await using (var connection = await database.DataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("TRUNCATE rate_limit_state");
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var next = await pacer.AcquireAsync(Request(maxTokens: 1000), deadline.Token);

        await using var check = await database.DataSource.OpenConnectionAsync();
        Assert.Equal(8000.0, await check.ExecuteScalarAsync<double?>("SELECT output_tokens_limit FROM rate_limit_state"));
    }

    private static ClaudeRequest Request(int maxTokens) => new("hello") { Model = Model, MaxTokens = maxTokens };

    private static RateLimitPacer Pacer(IUserScopedConnectionFactory connections, int? outputTokensPerWindow) => new(
        new RateLimitStore(connections),
        Options.Create(new RateLimitOptions
        {
            Organization = "org-outage",
            Margin = 0,
            OutputTokensPerMinute = outputTokensPerWindow,
            Window = TimeSpan.FromHours(1),
        }),
        Options.Create(new ClaudeOptions()),
        TimeProvider.System,
        NullLogger<RateLimitPacer>.Instance);

    /// <summary>Output tokens left in the bucket now, from its "full at" instant (database clock).</summary>
    private static async Task<double> OutputLeftAsync(TestDatabase database)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<double>("""
            SELECT output_tokens_limit * (1 - extract(epoch FROM greatest(output_full_at - now(), interval '0')) / window_seconds)
            FROM rate_limit_state
            """);
    }

    /// <summary>Opens real connections, or fails as an unreachable Postgres does while <see cref="Down"/> is set.</summary>
    private sealed class SwitchableConnections(IUserScopedConnectionFactory inner) : IUserScopedConnectionFactory
    {
        public volatile bool Down;

        public ValueTask<NpgsqlConnection> OpenAsync(DbIdentity identity, CancellationToken cancellationToken) =>
            Down
                ? ValueTask.FromException<NpgsqlConnection>(new NpgsqlException("Failed to connect to 127.0.0.1 (outage in the test)"))
                : inner.OpenAsync(identity, cancellationToken);
    }
}
