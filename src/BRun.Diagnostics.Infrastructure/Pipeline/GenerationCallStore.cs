using System.Globalization;
using System.Text.Json;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// The durable capture: every Claude call a task makes is written to <c>generation_calls</c> (raw body, status,
/// headers, usage, cost) before it is validated, and its cost is added to the run in the same statement. A call is
/// recorded even when its delivery has gone stale, because the money was spent; a later delivery of the task then
/// finishes from the recorded answer instead of paying for another.
/// </summary>
public sealed class GenerationCallStore(IUserScopedConnectionFactory connections)
{
    /// <summary>Records one call of delivery <see cref="ClaimedTask.Attempts"/>. Returns it as stored.</summary>
    public async Task<GenerationCall> RecordAsync(
        ClaimedTask task, CapturedResponse captured, CallVerdict verdict, decimal? costUsd, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(captured);
        ArgumentNullException.ThrowIfNull(verdict);

        // One statement: the call and the run's cost move together. A second record for the same delivery (which
        // the handler never makes) changes nothing.
        const string Sql = """
            WITH recorded AS (
                INSERT INTO generation_calls (
                    task_id, run_id, attempt, disposition, reason, http_status, request_id, transport_failure, transport_error,
                    streamed, raw_body, raw_body_nuls, headers, duration_ms, http_attempts, model, max_tokens, temperature,
                    structured_outputs_enabled, stream, input_tokens, output_tokens, cache_creation_input_tokens,
                    cache_read_input_tokens, cost_usd, simulated)
                VALUES (
                    @TaskId, @RunId, @Attempt, @Disposition, @Reason, @HttpStatus, @RequestId, @TransportFailure, @TransportError,
                    @Streamed, @RawBody, @RawBodyNuls, @Headers::jsonb, @DurationMs, @HttpAttempts, @Model, @MaxTokens, @Temperature,
                    @StructuredOutputsEnabled, @Stream, @InputTokens, @OutputTokens, @CacheCreationInputTokens,
                    @CacheReadInputTokens, @CostUsd, @Simulated)
                ON CONFLICT (task_id, attempt) DO NOTHING
                RETURNING id, created_at, run_id, cost_usd
            ), costed AS (
                UPDATE generation_runs r SET cost_usd = r.cost_usd + COALESCE(recorded.cost_usd, 0)
                FROM recorded WHERE r.id = recorded.run_id
            )
            SELECT id AS Id, created_at AS CreatedAt FROM recorded
            """;
        var parsed = captured.Parsed;
        var request = captured.Request;
        var nuls = PostgresText.NulPositions(captured.RawBody);
        var call = new GenerationCall
        {
            Attempt = task.Attempts,
            Disposition = verdict.Disposition.ToWire(),
            Reason = verdict.Reason,
            HttpStatus = captured.HttpStatus,
            RequestId = captured.RequestId ?? parsed.BodyRequestId,
            TransportFailure = FailureWireNames.Transport(captured.Transport),
            TransportError = WithNulNote(captured.TransportError, nuls?.Length ?? 0),
            Streamed = captured.Streamed,
            // Exact here: the outcome is judged, and its report built, from this object. Only the stored copy differs.
            RawBody = captured.RawBody,
            Headers = JsonSerializer.Serialize(captured.RateLimitHeaders),
            DurationMs = (long)captured.Duration.TotalMilliseconds,
            HttpAttempts = captured.Attempts,
            Model = request.Model,
            MaxTokens = request.MaxTokens,
            Temperature = request.Temperature,
            StructuredOutputsEnabled = request.StructuredOutputsEnabled,
            Stream = request.Stream,
            InputTokens = parsed.Usage.InputTokens,
            OutputTokens = parsed.Usage.OutputTokens,
            CacheCreationInputTokens = parsed.Usage.CacheCreationInputTokens,
            CacheReadInputTokens = parsed.Usage.CacheReadInputTokens,
            CostUsd = costUsd,
            Simulated = captured.Simulated,
        };

        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var stored = await connection.QuerySingleOrDefaultAsync<(Guid Id, DateTime CreatedAt)>(new CommandDefinition(Sql, new
        {
            TaskId = task.Id,
            task.RunId,
            call.Attempt,
            call.Disposition,
            call.Reason,
            call.HttpStatus,
            call.RequestId,
            call.TransportFailure,
            call.TransportError,
            call.Streamed,
            RawBody = PostgresText.Storable(call.RawBody),
            RawBodyNuls = nuls,
            call.Headers,
            call.DurationMs,
            call.HttpAttempts,
            call.Model,
            call.MaxTokens,
            call.Temperature,
            call.StructuredOutputsEnabled,
            call.Stream,
            call.InputTokens,
            call.OutputTokens,
            call.CacheCreationInputTokens,
            call.CacheReadInputTokens,
            call.CostUsd,
            call.Simulated,
        }, cancellationToken: ct)).ConfigureAwait(false);
        return call with { Id = stored.Id, CreatedAt = stored.CreatedAt };
    }

    // The stored body cannot hold NUL characters (PostgresText); the call says how many were replaced.
    private static string? WithNulNote(string? transportError, int nuls)
    {
        if (nuls == 0)
        {
            return transportError;
        }

        var note = $"The body held {(nuls == 1 ? "a NUL character" : $"{nuls} NUL characters")} (U+0000), stored as U+FFFD: Postgres text cannot hold them.";
        return transportError is null ? note : transportError + " " + note;
    }

    /// <summary>A task's calls, oldest first, with the database's clock for age checks.</summary>
    public async Task<CallHistory> ListAsync(Guid taskId, CancellationToken ct)
    {
        const string Sql = """
            SELECT now() AS DbNow;
            SELECT id AS Id, attempt AS Attempt, created_at AS CreatedAt, disposition AS Disposition, reason AS Reason,
                   http_status AS HttpStatus, request_id AS RequestId, transport_failure AS TransportFailure,
                   transport_error AS TransportError, streamed AS Streamed, raw_body AS RawBody, raw_body_nuls AS RawBodyNuls,
                   headers::text AS Headers,
                   duration_ms AS DurationMs, http_attempts AS HttpAttempts, model AS Model, max_tokens AS MaxTokens,
                   temperature AS Temperature, structured_outputs_enabled AS StructuredOutputsEnabled, stream AS Stream,
                   input_tokens AS InputTokens, output_tokens AS OutputTokens,
                   cache_creation_input_tokens AS CacheCreationInputTokens, cache_read_input_tokens AS CacheReadInputTokens,
                   cost_usd AS CostUsd, simulated AS Simulated
            FROM generation_calls WHERE task_id = @taskId ORDER BY created_at, attempt
            """;
        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        await using var reader = await connection.QueryMultipleAsync(new CommandDefinition(Sql, new { taskId }, cancellationToken: ct)).ConfigureAwait(false);
        var now = await reader.ReadSingleAsync<DateTime>().ConfigureAwait(false);
        // The stored bodies with their NULs back (migration 0113): a redelivery judges the answer as it came.
        var calls = (await reader.ReadAsync<GenerationCall>().ConfigureAwait(false))
            .Select(c => c.RawBodyNuls is null ? c : c with { RawBody = PostgresText.WithNuls(c.RawBody, c.RawBodyNuls) })
            .ToList();
        return new CallHistory(calls, now);
    }
}

/// <summary>One row of <c>generation_calls</c>. Times are UTC.</summary>
public sealed record GenerationCall
{
    public Guid Id { get; init; }
    public int Attempt { get; init; }
    public DateTime CreatedAt { get; init; }

    /// <summary>Wire name of a <see cref="CallDisposition"/>.</summary>
    public string Disposition { get; init; } = "response";
    public string? Reason { get; init; }
    public int HttpStatus { get; init; }
    public string? RequestId { get; init; }
    public string? TransportFailure { get; init; }
    public string? TransportError { get; init; }
    public bool Streamed { get; init; }
    public string RawBody { get; init; } = string.Empty;

    /// <summary>Where the body held NUL characters, stored as U+FFFD (migration 0113); null when it held none.</summary>
    public int[]? RawBodyNuls { get; init; }

    /// <summary>The kept response headers as a JSON object text.</summary>
    public string Headers { get; init; } = "{}";
    public long? DurationMs { get; init; }
    public int HttpAttempts { get; init; } = 1;
    public string Model { get; init; } = string.Empty;
    public int MaxTokens { get; init; }
    public decimal? Temperature { get; init; }
    public bool StructuredOutputsEnabled { get; init; }
    public bool Stream { get; init; }
    public int? InputTokens { get; init; }
    public int? OutputTokens { get; init; }
    public int? CacheCreationInputTokens { get; init; }
    public int? CacheReadInputTokens { get; init; }
    public decimal? CostUsd { get; init; }
    public bool Simulated { get; init; }

    public CallDisposition DispositionValue => CallClassifier.ParseDisposition(Disposition);

    public IReadOnlyDictionary<string, string> HeaderValues =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(Headers) ?? [];

    /// <summary>The call as the client captured it, rebuilt from the stored bytes (the body is parsed again).</summary>
    public CapturedResponse ToCaptured(string prompt) => new()
    {
        HttpStatus = HttpStatus,
        RawBody = RawBody,
        Streamed = Streamed,
        Parsed = CapturedBody.Parse(HttpStatus, RawBody, Streamed, TransportError),
        RequestId = RequestId,
        RateLimitHeaders = HeaderValues,
        Duration = TimeSpan.FromMilliseconds(DurationMs ?? 0),
        Attempts = HttpAttempts,
        Transport = TransportFailure switch
        {
            "timeout" => Core.Messages.TransportFailure.Timeout,
            "connection_failed" => Core.Messages.TransportFailure.ConnectionFailed,
            "canceled" => Core.Messages.TransportFailure.Canceled,
            _ => Core.Messages.TransportFailure.None,
        },
        TransportError = TransportError,
        Request = new RequestSnapshot(Model, MaxTokens, Temperature, StructuredOutputsEnabled, Stream, prompt),
        Simulated = Simulated,
    };

    public ApiAttempt ToApiAttempt() => new(
        Attempt,
        DateTime.SpecifyKind(CreatedAt, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        HttpStatus,
        RequestId,
        Disposition,
        Reason,
        CostUsd);
}

/// <summary>A task's calls, oldest first, and the database clock when they were read.</summary>
public sealed record CallHistory(IReadOnlyList<GenerationCall> Calls, DateTime DbNow)
{
    public GenerationCall? Last => Calls.Count == 0 ? null : Calls[^1];

    /// <summary>How long ago the first call was made (zero before any).</summary>
    public TimeSpan Age => Calls.Count == 0 ? TimeSpan.Zero : DbNow - Calls[0].CreatedAt;

    /// <summary>What every call cost; null when none had a price.</summary>
    public decimal? TotalCost => Calls.Any(c => c.CostUsd is not null) ? Calls.Sum(c => c.CostUsd ?? 0m) : null;

    public bool Simulated => Calls.Any(c => c.Simulated);

    public IReadOnlyList<ApiAttempt> ToApiAttempts() => [.. Calls.Select(c => c.ToApiAttempt())];

    public CallHistory Append(GenerationCall call) => this with { Calls = [.. Calls, call] };
}
