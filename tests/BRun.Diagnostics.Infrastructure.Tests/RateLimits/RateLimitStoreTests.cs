using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.RateLimits;

/// <summary>The shared pacing state on a real database, reached through separate connection pools as separate workers do.</summary>
[Collection(IntegrationEnvironment.Collection)]
public sealed class RateLimitStoreTests(IntegrationEnvironment environment)
{
    private const string Scope = "org-test:claude-sonnet-4-5";

    [Fact]
    public async Task Take_FromTwoConnectionPools_GrantsExactlyWhatTheBucketHolds()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var first = Pool(database);
        var second = Pool(database);
        // An hour's window: the refill during the test is far below one request.
        await first.ConfigureAsync(Scope, "claude-sonnet-4-5", 3600, new ScopeLimits(20, null, null, null, null, null), CancellationToken.None);

        var takes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            (i % 2 == 0 ? first : second).TakeAsync(Scope, 100, 100, CancellationToken.None)));

        Assert.Equal(20, takes.Count(t => t.Granted));
    }

    [Fact]
    public async Task Take_WhenUsedUp_SaysWhenTheNextCallFits()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var store = Pool(database);
        await store.ConfigureAsync(Scope, "claude-sonnet-4-5", 60, new ScopeLimits(null, null, 8000, null, null, 8000), CancellationToken.None);
        Assert.True((await store.TakeAsync(Scope, 10, 6000, CancellationToken.None)).Granted);

        var refused = await store.TakeAsync(Scope, 10, 4000, CancellationToken.None);

        Assert.False(refused.Granted);
        // 2,000 of 8,000 are left; 2,000 more refill in 15 s.
        Assert.InRange((refused.ReadyAt - refused.DbNow).TotalSeconds, 14.5, 15.0);
    }

    [Fact]
    public async Task Settle_GivesAnUnusedReservationBack()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var store = Pool(database);
        await store.ConfigureAsync(Scope, "claude-sonnet-4-5", 3600, new ScopeLimits(null, null, 8000, null, null, 8000), CancellationToken.None);
        await store.TakeAsync(Scope, 10, 8000, CancellationToken.None);

        await store.SettleAsync(Scope, new RateLimitSettlement { OutputDelta = 1500 - 8000, OutputTokens = 1500, Answered = true }, CancellationToken.None);

        Assert.True((await store.TakeAsync(Scope, 10, 6000, CancellationToken.None)).Granted);
        Assert.False((await store.TakeAsync(Scope, 10, 1000, CancellationToken.None)).Granted);
    }

    [Fact]
    public async Task BeforeTheFirstAnswer_OnlyOneProbeCallIsLetThrough()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var store = Pool(database);
        await store.ConfigureAsync(Scope, "claude-sonnet-4-5", 60, new ScopeLimits(null, null, null, null, null, null), CancellationToken.None);

        var probe = await store.TakeAsync(Scope, 10, 4096, CancellationToken.None);
        var second = await store.TakeAsync(Scope, 10, 4096, CancellationToken.None);
        await store.SettleAsync(Scope, new RateLimitSettlement { Answered = true }, CancellationToken.None);
        var afterAnswer = await store.TakeAsync(Scope, 10, 4096, CancellationToken.None);

        Assert.True(probe.Granted);
        Assert.False(second.Granted);
        Assert.True(afterAnswer.Granted);
    }

    /// <summary>One call to <paramref name="model"/> through <paramref name="pacer"/>, answered 429 with a 30 s retry-after.</summary>
    private static async Task Answer429Async(RateLimitPacer pacer, string model)
    {
        await using var permit = await pacer.AcquireAsync(new ClaudeRequest("hello") { Model = model, MaxTokens = 1000 }, CancellationToken.None);
        var answer = RateLimited(retryAfterSeconds: 30);
        await pacer.OnResponseHeadAsync(model, 429, answer.RateLimitHeaders, CancellationToken.None);
        await permit.SettleAsync(answer, CancellationToken.None);
    }

    [Fact]
    public async Task A429SeenByOneWorker_HoldsBackEveryWorkerForTheRetryAfter()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var first = Pacer(database);
        var second = Pacer(database);
        await Answer429Async(first, "claude-sonnet-4-5");

        var store = database.BuildServices(configureServices: s => s.AddSingleton<RateLimitStore>()).GetRequiredService<RateLimitStore>();
        var take = await store.TakeAsync(second.ScopeFor("claude-sonnet-4-5"), 1, 1, CancellationToken.None);
        var wait = await store.GetWaitAsync(DbIdentity.System, "claude-sonnet-4-5", CancellationToken.None);

        Assert.False(take.Granted);
        Assert.InRange((take.ReadyAt - take.DbNow).TotalSeconds, 29, 30);
        Assert.Equal("rate_limited", wait?.Reason);
    }

    [Fact]
    public async Task A429OnOneModelOfAClass_HoldsBackItsSiblings_ButNotAnotherClass()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var first = Pacer(database);
        var second = Pacer(database);
        await Answer429Async(first, "claude-sonnet-4-6");

        var store = database.BuildServices(configureServices: s => s.AddSingleton<RateLimitStore>()).GetRequiredService<RateLimitStore>();
        var sibling = await store.TakeAsync(second.ScopeFor("claude-sonnet-4-5-20250929"), 1, 1, CancellationToken.None);
        var siblingWait = await store.GetWaitAsync(DbIdentity.System, "claude-sonnet-4-5", CancellationToken.None);
        var haikuWait = await store.GetWaitAsync(DbIdentity.System, "claude-haiku-4-5", CancellationToken.None);

        Assert.Equal(second.ScopeFor("claude-sonnet-4-6"), second.ScopeFor("claude-sonnet-4-5"));
        Assert.False(sibling.Granted);
        Assert.Equal(("rate_limited", (RateLimitWait?)null), (siblingWait?.Reason, haikuWait));
    }

    [Theory]
    [InlineData("claude-opus-4-5", RateLimitClass.Opus4x)]
    [InlineData("claude-opus-4-5-20251101", RateLimitClass.Opus4x)]
    [InlineData("claude-opus-4-8", RateLimitClass.Opus4x)]
    [InlineData(" Claude-Sonnet-4-6 ", RateLimitClass.Sonnet4x)]
    [InlineData("claude-sonnet-4-5-20250929", RateLimitClass.Sonnet4x)]
    [InlineData("claude-haiku-4-5-20251001", "claude-haiku-4-5")]
    [InlineData("claude-opus-4-1", "claude-opus-4-1")]
    [InlineData("claude-opus-5", "claude-opus-5")]
    public void A_model_counts_against_its_class_limits(string model, string expected) =>
        Assert.Equal(expected, RateLimitClass.Of(model));

    [Fact]
    public async Task Headers_TeachTheLimits_PacedAtTheMarginBelow()
    {
        await using var database = await environment.CreateDatabaseAsync();
        var pacer = Pacer(database);
        var request = new ClaudeRequest("hello") { Model = "claude-sonnet-4-5", MaxTokens = 100 };
        await using (var permit = await pacer.AcquireAsync(request, CancellationToken.None))
        {
            var answer = Answer(new Dictionary<string, string>
            {
                ["anthropic-ratelimit-requests-limit"] = "50",
                ["anthropic-ratelimit-output-tokens-limit"] = "8000",
            });
            await pacer.OnResponseHeadAsync("claude-sonnet-4-5", 200, answer.RateLimitHeaders, CancellationToken.None);
            await permit.SettleAsync(answer, CancellationToken.None);
        }

        var limits = await QueryLimitsAsync(database);

        Assert.Equal(47.5, limits.Requests);
        Assert.Equal(7600, limits.Output);
        Assert.Null(limits.Input);
    }

    private static RateLimitStore Pool(TestDatabase database) =>
        database.BuildServices(configureServices: s => s.AddSingleton<RateLimitStore>()).GetRequiredService<RateLimitStore>();

    private static RateLimitPacer Pacer(TestDatabase database) =>
        database.BuildServices(
            s => s["RateLimits:Organization"] = "org-test",
            s =>
            {
                s.AddSingleton(TimeProvider.System);
                s.AddClaudeMessagesClient();
                s.AddGenerationPipeline(new ConfigurationBuilder()
                    .AddInMemoryCollection(new Dictionary<string, string?> { ["RateLimits:Organization"] = "org-test", ["Worker:Enabled"] = "false" }).Build());
            }).GetRequiredService<RateLimitPacer>();

    private static async Task<(double? Requests, double? Input, double? Output)> QueryLimitsAsync(TestDatabase database)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT requests_limit, input_tokens_limit, output_tokens_limit FROM rate_limit_state";
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.IsDBNull(0) ? null : reader.GetDouble(0), reader.IsDBNull(1) ? null : reader.GetDouble(1), reader.IsDBNull(2) ? null : reader.GetDouble(2));
    }

    internal static CapturedResponse RateLimited(int retryAfterSeconds) => new()
    {
        HttpStatus = 429,
        RawBody = """{"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}""",
        Streamed = false,
        Parsed = MessageBodyParser.Parse("""{"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}"""),
        RequestId = "req_429",
        RateLimitHeaders = new Dictionary<string, string> { ["retry-after"] = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        Request = new RequestSnapshot("claude-sonnet-4-5", 1000, null, false, false, "hello"),
    };

    internal static CapturedResponse Answer(Dictionary<string, string> headers, int outputTokens = 40)
    {
        var body = $$$"""{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":{{{outputTokens}}}}}""";
        return new CapturedResponse
        {
            HttpStatus = 200,
            RawBody = body,
            Streamed = false,
            Parsed = MessageBodyParser.Parse(body),
            RateLimitHeaders = headers,
            Request = new RequestSnapshot("claude-sonnet-4-5", 100, null, false, false, "hello"),
        };
    }
}
