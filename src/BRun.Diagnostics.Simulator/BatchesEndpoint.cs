using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Simulator;

/// <summary>
/// The Message Batches API in its wire format: create (POST /v1/messages/batches), retrieve, list, cancel, delete and
/// results (JSONL, one <c>{"custom_id","result"}</c> per line, not in request order). Each request gets the same
/// scenario mix as online (so <c>succeeded</c> results can carry <c>stop_reason: max_tokens</c> or cut text), plus
/// batch-only outcomes: <c>errored</c> (transient overloaded/api errors, permanent invalid requests) and <c>expired</c>.
/// </summary>
internal sealed partial class BatchesEndpoint(
    IOptions<SimulatorOptions> options,
    SimulatorState state,
    SimulatedBatchStore batches,
    TimeProvider time,
    ILogger<BatchesEndpoint> logger)
{
    /// <summary>The API's limits on one batch.</summary>
    public const int MaxRequests = 100_000;
    public const long MaxBytes = 256L * 1024 * 1024;

    private readonly SimulatorOptions _options = options.Value;

    public async Task CreateAsync(HttpContext context)
    {
        var token = context.RequestAborted;
        if (await BeginAsync(context).ConfigureAwait(false) is not { } requestId)
        {
            return;
        }

        if (context.Request.ContentLength > MaxBytes)
        {
            await MessagesEndpoint.WriteErrorAsync(context, 413, "request_too_large", "Request exceeds the maximum size of 256 MB.", requestId, token).ConfigureAwait(false);
            return;
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: token).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            await MessagesEndpoint.WriteErrorAsync(context, 400, "invalid_request_error", $"The request body is not valid JSON: {ex.Message}", requestId, token).ConfigureAwait(false);
            return;
        }

        List<BatchItem> items;
        using (document)
        {
            var (planned, problem) = Plan(document.RootElement);
            if (planned is null)
            {
                await MessagesEndpoint.WriteErrorAsync(context, 400, "invalid_request_error", problem!, requestId, token).ConfigureAwait(false);
                return;
            }

            items = planned;
        }

        var random = new Random(Random.Shared.Next());
        var id = "msgbatch_01" + MessagesEndpoint.RandomId(random, 22);

        // Results come out in a shuffled order, fixed per batch so every download is byte-identical.
        var order = new Random(StableHash.Of(_options.Seed, "batch-order", id).GetHashCode());
        var shuffled = items.ToArray();
        order.Shuffle(shuffled);
        var batch = new SimulatedBatch
        {
            Id = id,
            CreatedAt = time.GetUtcNow(),
            ProcessingTime = _options.BatchProcessingTime,
            Items = shuffled,
        };
        batches.Add(batch);
        Log.BatchCreated(logger, id, shuffled.Length);
        await WriteBatchAsync(context, batch, forceStatus: null, token).ConfigureAwait(false);
    }

    public async Task RetrieveAsync(HttpContext context, string id)
    {
        if (await BeginAsync(context).ConfigureAwait(false) is not { } requestId)
        {
            return;
        }

        if (batches.Find(id) is not { } batch)
        {
            await NotFoundAsync(context, id, requestId).ConfigureAwait(false);
            return;
        }

        await WriteBatchAsync(context, batch, forceStatus: null, context.RequestAborted).ConfigureAwait(false);
    }

    public async Task ListAsync(HttpContext context)
    {
        if (await BeginAsync(context).ConfigureAwait(false) is not { } requestId)
        {
            return;
        }

        var query = context.Request.Query;
        var limit = int.TryParse(query["limit"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 1000) : 20;
        IEnumerable<SimulatedBatch> all = batches.NewestFirst();
        if (query["after_id"].ToString() is { Length: > 0 } after)
        {
            all = all.SkipWhile(b => b.Id != after).Skip(1);
        }

        var page = all.Take(limit + 1).ToList();
        var hasMore = page.Count > limit;
        if (hasMore)
        {
            page.RemoveAt(page.Count - 1);
        }

        var now = time.GetUtcNow();
        var baseUrl = BaseUrl(context);
        await WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartArray("data");
            foreach (var batch in page)
            {
                w.WriteStartObject();
                WriteBatchFields(w, batch, now, baseUrl, forceStatus: null);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteBoolean("has_more", hasMore);
            if (page.Count > 0)
            {
                w.WriteString("first_id", page[0].Id);
                w.WriteString("last_id", page[^1].Id);
            }
            else
            {
                w.WriteNull("first_id");
                w.WriteNull("last_id");
            }
        }).ConfigureAwait(false);
    }

    public async Task CancelAsync(HttpContext context, string id)
    {
        if (await BeginAsync(context).ConfigureAwait(false) is not { } requestId)
        {
            return;
        }

        if (batches.Find(id) is not { } batch)
        {
            await NotFoundAsync(context, id, requestId).ConfigureAwait(false);
            return;
        }

        var now = time.GetUtcNow();
        var answer = "ended";
        if (!batch.HasEnded(now) && batch.CancelInitiatedAt is null)
        {
            batch.CancelInitiatedAt = now;
            answer = "canceling";
            Log.BatchCanceled(logger, id);
        }

        await WriteBatchAsync(context, batch, answer, context.RequestAborted).ConfigureAwait(false);
    }

    public async Task DeleteAsync(HttpContext context, string id)
    {
        if (await BeginAsync(context).ConfigureAwait(false) is not { } requestId)
        {
            return;
        }

        if (batches.Find(id) is not { } batch)
        {
            await NotFoundAsync(context, id, requestId).ConfigureAwait(false);
            return;
        }

        if (!batch.HasEnded(time.GetUtcNow()))
        {
            await MessagesEndpoint.WriteErrorAsync(context, 400, "invalid_request_error",
                "Message Batch is still in progress; cancel it before deleting it.", requestId, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        batch.Deleted = true;
        await WriteJsonAsync(context, 200, w =>
        {
            w.WriteString("id", id);
            w.WriteString("type", "message_batch_deleted");
        }).ConfigureAwait(false);
    }

    /// <summary>Streams the JSONL results, a line at a time: a 100,000-request batch is never built in memory whole.</summary>
    public async Task ResultsAsync(HttpContext context, string id)
    {
        var token = context.RequestAborted;
        if (await BeginAsync(context).ConfigureAwait(false) is not { } requestId)
        {
            return;
        }

        if (batches.Find(id) is not { } batch)
        {
            await NotFoundAsync(context, id, requestId).ConfigureAwait(false);
            return;
        }

        var now = time.GetUtcNow();
        if (!batch.HasEnded(now))
        {
            await MessagesEndpoint.WriteErrorAsync(context, 400, "invalid_request_error",
                $"Message Batch {id} has not yet ended processing; results are available once processing_status is ended.", requestId, token).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/binary";
        // A transfer cut short, once: the first download of a batch holding a [simulate:batch_results_cut] prompt ends
        // halfway through, inside a line, as a clean end of the response.
        var cutAt = batch.NextDownload() == 1 && batch.Items.Any(i => i.Request.Prompt.Contains("[simulate:batch_results_cut]", StringComparison.OrdinalIgnoreCase))
            ? batch.Items.Count / 2
            : -1;
        var buffer = new MemoryStream();
        for (var i = 0; i < batch.Items.Count; i++)
        {
            if (i == cutAt)
            {
                var start = buffer.Length;
                WriteResultLine(buffer, batch, i, now);
                buffer.SetLength(start + ((buffer.Length - start) / 2));
                await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), token).ConfigureAwait(false);
                return;
            }

            WriteResultLine(buffer, batch, i, now);
            var pause = _options.BatchResultsLineDelay;
            if (pause > TimeSpan.Zero || buffer.Length >= 64 * 1024 || i == batch.Items.Count - 1)
            {
                await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), token).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(token).ConfigureAwait(false);
                buffer.SetLength(0);
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, time, token).ConfigureAwait(false);
                }
            }
        }
    }

    private (List<BatchItem>? Items, string? Problem) Plan(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array)
        {
            return (null, "requests: Field required");
        }

        var count = requests.GetArrayLength();
        if (count == 0)
        {
            return (null, "requests: List should have at least 1 item");
        }

        if (count > MaxRequests)
        {
            return (null, $"requests: List should have at most {MaxRequests} items, not {count}");
        }

        var items = new List<BatchItem>(count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var entry in requests.EnumerateArray())
        {
            if (!entry.TryGetProperty("custom_id", out var customIdElement) || customIdElement.ValueKind != JsonValueKind.String
                || customIdElement.GetString() is not { } customId || !CustomIdPattern().IsMatch(customId))
            {
                return (null, $"requests.{index}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'");
            }

            if (!seen.Add(customId))
            {
                return (null, $"requests.{index}.custom_id: Duplicate custom_id '{customId}'; custom_id must be unique within a batch");
            }

            if (!entry.TryGetProperty("params", out var parameters))
            {
                return (null, $"requests.{index}.params: Field required");
            }

            var (request, problem) = MessagesEndpoint.ParseRequest(parameters);
            if (request is null)
            {
                return (null, $"requests.{index}.params.{problem}");
            }

            if (request.Stream)
            {
                return (null, $"requests.{index}.params.stream: Streaming is not supported in Message Batches");
            }

            items.Add(PlanItem(customId, request));
            index++;
        }

        return (items, null);
    }

    private BatchItem PlanItem(string customId, SimulatedRequest request)
    {
        var attempt = state.NextAttempt(request.Prompt);
        var batchOnly = BatchScenario(request.Prompt);
        var drawKey = SimulatorScenarioPicker.DrawKey(request.Prompt, attempt, _options, stream: false);
        var scenario = SimulatorScenarioPicker.Pick(drawKey, _options, stream: false);
        var reply = ReplyPlanner.Plan(request, scenario, attempt, _options, drawKey);
        if (batchOnly == BatchOnlyScenario.InvalidRequest)
        {
            return new BatchItem(customId, request, reply, BatchItemOutcome.Errored, "invalid_request_error",
                "messages.0.content: the request was rejected by the simulated batch (permanent)");
        }

        if (batchOnly == BatchOnlyScenario.Expired && attempt <= _options.TransientFailures)
        {
            return new BatchItem(customId, request, reply, BatchItemOutcome.Expired, null, null);
        }

        if (batchOnly == BatchOnlyScenario.UnreadableLine && attempt <= _options.TransientFailures)
        {
            return new BatchItem(customId, request, reply, BatchItemOutcome.Message, null, null, Garbled: true);
        }

        if (batchOnly == BatchOnlyScenario.MissingLine && attempt <= _options.TransientFailures)
        {
            return new BatchItem(customId, request, reply, BatchItemOutcome.Message, null, null, Omitted: true);
        }

        // Online transient failures become errored results: 429 and 529 as overloaded, a proxy 5xx as api_error.
        if (reply.Html || reply.ErrorType is not null)
        {
            var (type, message) = reply.Status is 429 or 529
                ? ("overloaded_error", "Overloaded")
                : (reply.ErrorType is { } error && !reply.Html ? error : "api_error", "Internal server error");
            return new BatchItem(customId, request, reply, BatchItemOutcome.Errored, type, message);
        }

        return new BatchItem(customId, request, reply, BatchItemOutcome.Message, null, null);
    }

    private enum BatchOnlyScenario
    {
        None,
        Expired,
        InvalidRequest,
        UnreadableLine,
        MissingLine,
    }

    private BatchOnlyScenario BatchScenario(string prompt)
    {
        if (prompt.Contains("[simulate:batch_expired]", StringComparison.OrdinalIgnoreCase))
        {
            return BatchOnlyScenario.Expired;
        }

        if (prompt.Contains("[simulate:batch_invalid_request]", StringComparison.OrdinalIgnoreCase))
        {
            return BatchOnlyScenario.InvalidRequest;
        }

        if (prompt.Contains("[simulate:batch_unreadable_line]", StringComparison.OrdinalIgnoreCase))
        {
            return BatchOnlyScenario.UnreadableLine;
        }

        if (prompt.Contains("[simulate:batch_missing_line]", StringComparison.OrdinalIgnoreCase))
        {
            return BatchOnlyScenario.MissingLine;
        }

        // Another marker forces an online scenario: no batch-only draw then, so tests get exactly what they asked for.
        if (prompt.Contains("[simulate:", StringComparison.OrdinalIgnoreCase))
        {
            return BatchOnlyScenario.None;
        }

        var draw = StableHash.Unit(StableHash.Of(_options.Seed, "batch-scenario", prompt));
        if (draw < _options.BatchExpiredRate)
        {
            return BatchOnlyScenario.Expired;
        }

        return draw < _options.BatchExpiredRate + _options.BatchInvalidRequestRate ? BatchOnlyScenario.InvalidRequest : BatchOnlyScenario.None;
    }

    private static void WriteResultLine(MemoryStream buffer, SimulatedBatch batch, int index, DateTimeOffset now)
    {
        var item = batch.Items[index];
        if (item.Omitted)
        {
            return;
        }

        var start = buffer.Length;
        using (var w = new Utf8JsonWriter(buffer, MessagesEndpoint.WireJson))
        {
            w.WriteStartObject();
            w.WriteString("custom_id", item.CustomId);
            w.WriteStartObject("result");
            var type = batch.ResultType(index, now);
            w.WriteString("type", type);
            if (type == "succeeded")
            {
                var reply = item.Reply;
                var random = new Random(reply.WireSeed);
                w.WriteStartObject("message");
                MessagesEndpoint.WriteMessageHead(w, item.Request, "msg_01" + MessagesEndpoint.RandomId(random, 22));
                w.WriteStartArray("content");
                w.WriteStartObject();
                w.WriteString("type", "text");
                w.WriteString("text", reply.Text);
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteString("stop_reason", reply.StopReason);
                w.WriteNull("stop_sequence");
                MessagesEndpoint.WriteStopDetails(w, reply);
                w.WriteStartObject("usage");
                w.WriteNumber("input_tokens", reply.InputTokens);
                w.WriteNumber("cache_creation_input_tokens", 0);
                w.WriteNumber("cache_read_input_tokens", 0);
                w.WriteNumber("output_tokens", reply.OutputTokens);
                w.WriteString("service_tier", "batch");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else if (type == "errored")
            {
                w.WriteStartObject("error");
                w.WriteString("type", "error");
                w.WriteStartObject("error");
                w.WriteString("type", item.ErrorType);
                w.WriteString("message", item.ErrorMessage);
                w.WriteEndObject();
                w.WriteString("request_id", "req_011" + MessagesEndpoint.RandomId(new Random(item.Reply.WireSeed), 21));
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        if (item.Garbled)
        {
            // A line damaged on the way: cut after its content array opens (ASCII so far) and padded with zero bytes.
            var line = buffer.GetBuffer().AsSpan((int)start, (int)(buffer.Length - start));
            var opening = "\"content\":["u8;
            var cut = line.IndexOf(opening);
            buffer.SetLength(start + (cut < 0 ? line.Length / 2 : cut + opening.Length));
            buffer.Write([0, 0]);
        }

        buffer.WriteByte((byte)'\n');
    }

    private async Task WriteBatchAsync(HttpContext context, SimulatedBatch batch, string? forceStatus, CancellationToken token)
    {
        var now = time.GetUtcNow();
        var baseUrl = BaseUrl(context);
        await WriteJsonAsync(context, 200, w => WriteBatchFields(w, batch, now, baseUrl, forceStatus), token).ConfigureAwait(false);
    }

    private static void WriteBatchFields(Utf8JsonWriter w, SimulatedBatch batch, DateTimeOffset now, string baseUrl, string? forceStatus)
    {
        var ended = batch.HasEnded(now);
        var status = forceStatus ?? (ended ? "ended" : batch.CancelInitiatedAt is not null ? "canceling" : "in_progress");
        var (processing, succeeded, errored, canceled, expired) = batch.Counts(now);
        w.WriteString("id", batch.Id);
        w.WriteString("type", "message_batch");
        w.WriteString("processing_status", status);
        w.WriteStartObject("request_counts");
        w.WriteNumber("processing", processing);
        w.WriteNumber("succeeded", succeeded);
        w.WriteNumber("errored", errored);
        w.WriteNumber("canceled", canceled);
        w.WriteNumber("expired", expired);
        w.WriteEndObject();
        WriteTime(w, "ended_at", ended ? batch.EndsAt : null);
        WriteTime(w, "created_at", batch.CreatedAt);
        WriteTime(w, "expires_at", batch.ExpiresAt);
        WriteTime(w, "archived_at", null);
        WriteTime(w, "cancel_initiated_at", batch.CancelInitiatedAt);
        if (ended)
        {
            w.WriteString("results_url", $"{baseUrl}/v1/messages/batches/{batch.Id}/results");
        }
        else
        {
            w.WriteNull("results_url");
        }
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? value)
    {
        if (value is { } v)
        {
            w.WriteString(name, v.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static Task NotFoundAsync(HttpContext context, string id, string requestId) =>
        MessagesEndpoint.WriteErrorAsync(context, 404, "not_found_error", $"Message Batch {id} not found.", requestId, context.RequestAborted);

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write, CancellationToken token = default)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(MessagesEndpoint.Json(write), token).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets the headers every answer carries (request-id, and <c>x-brun-simulated</c> so rows built from a results file
    /// are marked simulated) and refuses a call without a key when <see cref="SimulatorOptions.RequireApiKey"/> is on.
    /// Returns the request id, or null when the call was answered with 401.
    /// </summary>
    private async Task<string?> BeginAsync(HttpContext context)
    {
        var id = "req_011" + MessagesEndpoint.RandomId(new Random(Random.Shared.Next()), 21);
        context.Response.Headers["request-id"] = id;
        context.Response.Headers["x-brun-simulated"] = "true";
        if (_options.RequireApiKey && string.IsNullOrEmpty(context.Request.Headers["x-api-key"]))
        {
            await MessagesEndpoint.WriteErrorAsync(context, 401, "authentication_error", "x-api-key header is required", id, context.RequestAborted).ConfigureAwait(false);
            return null;
        }

        return id;
    }

    private static string BaseUrl(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}";

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex CustomIdPattern();

    private static partial class Log
    {
        [LoggerMessage(EventId = 7190, Level = LogLevel.Information, Message = "Simulated batch {BatchId} created with {Count} requests")]
        public static partial void BatchCreated(ILogger logger, string batchId, int count);

        [LoggerMessage(EventId = 7191, Level = LogLevel.Information, Message = "Simulated batch {BatchId} cancel initiated")]
        public static partial void BatchCanceled(ILogger logger, string batchId);
    }
}
