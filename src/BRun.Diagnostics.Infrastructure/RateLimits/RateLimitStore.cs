using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.RateLimits;

/// <summary>The answer to one take: granted, or when it would fit (database clock).</summary>
public sealed record RateLimitTake(bool Granted, DateTime DbNow, DateTime ReadyAt, DateTime? BlockedUntil, bool Probe);

/// <summary>Per-window limits for one scope: paced (below the real ones) and as announced by the API.</summary>
public sealed record ScopeLimits(double? Requests, double? InputTokens, double? OutputTokens, int? AnnouncedRequests, int? AnnouncedInputTokens, int? AnnouncedOutputTokens);

/// <summary>The corrections after one answer (see <c>brun_rate_limit_settle</c>, migration 0045).</summary>
public sealed record RateLimitSettlement
{
    public double ExtraRequests { get; init; }
    public double InputDelta { get; init; }
    public double OutputDelta { get; init; }

    /// <summary>Real output tokens for the moving average; null when the answer did not say.</summary>
    public double? OutputTokens { get; init; }

    /// <summary>Whether an HTTP answer arrived at all (ends the cold-start probe).</summary>
    public bool Answered { get; init; }

    /// <summary>Seconds until the API's buckets are full again, as its reset headers say (as of now).</summary>
    public double? RequestsFullIn { get; init; }
    public double? InputFullIn { get; init; }
    public double? OutputFullIn { get; init; }

    /// <summary>Rounding of the reset headers, within which this pacer's own count is kept.</summary>
    public double ToleranceSeconds { get; init; } = 1;

    /// <summary>Block the whole organisation this long (a 429); null for no block.</summary>
    public double? BlockSeconds { get; init; }
    public string? BlockReason { get; init; }

    /// <summary>
    /// This settlement applied late, after an outage: the corrections stand, but the reset times and a 429's pause
    /// were measured from the moment the answer arrived and would be stretched if applied from now.
    /// </summary>
    public RateLimitSettlement Deferred() => this with
    {
        RequestsFullIn = null,
        InputFullIn = null,
        OutputFullIn = null,
        BlockSeconds = null,
        BlockReason = null,
    };
}

/// <summary>A model that is waiting on a rate limit, and until when (database clock).</summary>
public sealed record RateLimitWait(DateTime Until, string Reason);

/// <summary>
/// The shared pacing state in <c>rate_limit_state</c>. Every take and settle is one statement on one row (a plpgsql
/// function holding the row lock for the arithmetic only), using the database clock.
/// </summary>
public sealed class RateLimitStore(IUserScopedConnectionFactory connections)
{
    /// <summary>Creates the scope's row if missing and sets its window and whichever limits are given.</summary>
    public async Task ConfigureAsync(string scope, string model, double windowSeconds, ScopeLimits limits, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(limits);
        const string Sql = """
            INSERT INTO rate_limit_state AS s (scope, model, window_seconds, requests_limit, input_tokens_limit, output_tokens_limit,
                                               announced_requests_limit, announced_input_tokens_limit, announced_output_tokens_limit)
            VALUES (@scope, @model, @windowSeconds, @requests, @inputTokens, @outputTokens, @announcedRequests, @announcedInputTokens, @announcedOutputTokens)
            ON CONFLICT (scope) DO UPDATE SET
                window_seconds = EXCLUDED.window_seconds,
                requests_limit = coalesce(EXCLUDED.requests_limit, s.requests_limit),
                input_tokens_limit = coalesce(EXCLUDED.input_tokens_limit, s.input_tokens_limit),
                output_tokens_limit = coalesce(EXCLUDED.output_tokens_limit, s.output_tokens_limit),
                announced_requests_limit = coalesce(EXCLUDED.announced_requests_limit, s.announced_requests_limit),
                announced_input_tokens_limit = coalesce(EXCLUDED.announced_input_tokens_limit, s.announced_input_tokens_limit),
                announced_output_tokens_limit = coalesce(EXCLUDED.announced_output_tokens_limit, s.announced_output_tokens_limit)
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(Sql, new
        {
            scope,
            model,
            windowSeconds,
            requests = limits.Requests,
            inputTokens = limits.InputTokens,
            outputTokens = limits.OutputTokens,
            announcedRequests = limits.AnnouncedRequests,
            announcedInputTokens = limits.AnnouncedInputTokens,
            announcedOutputTokens = limits.AnnouncedOutputTokens,
        }, cancellationToken: ct)).ConfigureAwait(false);
    }

    public async Task<RateLimitTake> TakeAsync(string scope, double inputTokens, double outputTokens, CancellationToken ct)
    {
        const string Sql = """
            SELECT granted AS Granted, db_now AS DbNow, ready_at AS ReadyAt, blocked_until AS BlockedUntil, probe AS Probe
            FROM brun_rate_limit_take(@scope, @inputTokens, @outputTokens)
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        return await connection.QuerySingleAsync<RateLimitTake>(new CommandDefinition(
            Sql, new { scope, inputTokens, outputTokens }, cancellationToken: ct)).ConfigureAwait(false);
    }

    public async Task SettleAsync(string scope, RateLimitSettlement settlement, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(settlement);
        const string Sql = """
            SELECT brun_rate_limit_settle(@scope, @ExtraRequests, @InputDelta, @OutputDelta, @OutputTokens, @Answered,
                                          @RequestsFullIn, @InputFullIn, @OutputFullIn, @ToleranceSeconds, @BlockSeconds, @BlockReason)
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(Sql, new
        {
            scope,
            settlement.ExtraRequests,
            settlement.InputDelta,
            settlement.OutputDelta,
            settlement.OutputTokens,
            settlement.Answered,
            settlement.RequestsFullIn,
            settlement.InputFullIn,
            settlement.OutputFullIn,
            settlement.ToleranceSeconds,
            settlement.BlockSeconds,
            settlement.BlockReason,
        }, cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>Whether a running run with tasks left is held back by its model's rate limits; null otherwise.</summary>
    public async Task<RateLimitWait?> GetRunWaitAsync(DbIdentity identity, string model, string status, int pending, CancellationToken ct) =>
        status == RunStatus.Running && pending > 0
            ? await GetWaitAsync(identity, model, ct).ConfigureAwait(false)
            : null;

    /// <summary>
    /// Whether calls to <paramref name="model"/> are held back by a rate limit right now: blocked after a 429
    /// (reason <c>rate_limited</c>) or paced because the limits are used up (reason <c>pacing</c>).
    /// </summary>
    public async Task<RateLimitWait?> GetWaitAsync(DbIdentity identity, string model, CancellationToken ct)
    {
        const string Sql = """
            SELECT greatest(blocked_until, waiting_until) AS Until,
                   CASE WHEN blocked_until > now() THEN 'rate_limited' ELSE 'pacing' END AS Reason
            FROM rate_limit_state
            WHERE model = @model AND greatest(blocked_until, waiting_until) > now()
            ORDER BY 1 DESC
            LIMIT 1
            """;
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<RateLimitWait>(new CommandDefinition(
            Sql, new { model = RateLimitClass.Of(model) }, cancellationToken: ct)).ConfigureAwait(false);
    }
}
